package actors_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
)

// The README's embedding example: a node with one pool, a handler
// registered by name, and a task submitted and waited for.
func Example() {
	node, err := actors.NewNode(
		actors.WithPool(actors.PoolConfig{Name: "cpu", Kind: actors.KindCPU, Workers: 2}),
		actors.WithHandler("upper", func(ctx context.Context, p []byte) ([]byte, error) {
			return []byte(strings.ToUpper(string(p))), nil
		}),
	)
	if err != nil {
		panic(err)
	}
	defer node.Shutdown(context.Background())

	f, err := node.Submit(context.Background(), actors.Task{Type: "upper", Payload: []byte("hello")})
	if err != nil {
		panic(err) // refused: queue full while ctx ended, no handler, shutting down...
	}
	res, err := f.Wait(context.Background())
	fmt.Println(string(res.Output), err)
	// Output: HELLO <nil>
}

// TrySubmit refuses at once when the pool's queue is full.
func ExampleNode_TrySubmit() {
	node, _ := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 1}))
	defer node.Shutdown(context.Background())

	release := make(chan struct{})
	block := func(ctx context.Context) (any, error) { <-release; return "done", nil }
	first, _ := node.TrySubmit(actors.Task{Func: block})
	var err error
	for err == nil { // the first task may still be queued: fill the queue
		_, err = node.TrySubmit(actors.Task{Func: block})
	}
	fmt.Println(err)
	close(release)
	res, _ := first.Wait(context.Background())
	fmt.Println(res.Value)
	// Output:
	// drover: queue full: pool "p" holds 1 tasks
	// done
}

// An actor of the service sends a task envelope to a pool's PID and gets
// the result message back.
func ExampleNode_PoolPID() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	defer system.Shutdown()
	node, _ := actors.NewNode(
		actors.WithActorSystem(system),
		actors.WithPool(actors.PoolConfig{Name: "io", Kind: actors.KindIO}),
		actors.WithHandler("greet", func(_ context.Context, p []byte) ([]byte, error) {
			return append([]byte("hello, "), p...), nil
		}),
	)
	defer node.Shutdown(context.Background())

	pid, _ := node.PoolPID("io")
	reply, err := system.Root.RequestFuture(pid, &protos.TaskEnvelope{Id: "t1", Type: "greet", Payload: []byte("actor")}, 5*time.Second).Result()
	if err != nil {
		panic(err)
	}
	res := reply.(*protos.TaskResult)
	fmt.Println(res.GetTaskId(), string(res.GetOutput()), res.GetError() == nil)
	// Output: t1 hello, actor true
}

// Subscribe gives a reader of its own the node's events, here only the
// failures and restarts of workers.
func ExampleNode_Subscribe() {
	node, _ := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	defer node.Shutdown(context.Background())
	_ = node.WaitReady(context.Background())

	sub := node.Subscribe(16, supervision.KindWorkerFailed, supervision.KindWorkerRestarted)
	defer sub.Close()
	_ = node.CrashWorker("p", 0)
	for range 2 {
		e := <-sub.Events()
		fmt.Println(e.Kind())
	}
	fmt.Println("dropped:", sub.Dropped())
	// Output:
	// worker-failed
	// worker-restarted
	// dropped: 0
}

// A Submitter runs many tasks without a heap object per task: results come
// back by value from Next, tagged, in the order the tasks end.
func ExampleSubmitter() {
	node, err := actors.NewNode(
		actors.WithPool(actors.PoolConfig{Name: "cpu", Workers: 2}),
		actors.WithHandler("square", func(_ context.Context, p []byte) ([]byte, error) {
			return []byte{p[0] * p[0]}, nil
		}),
	)
	if err != nil {
		panic(err)
	}
	defer node.Shutdown(context.Background())

	s, err := node.NewSubmitter(4) // at most 4 results waiting for Next
	if err != nil {
		panic(err)
	}
	squares := make([]byte, 10)
	submitted, collected := 0, 0
	for collected < len(squares) {
		for submitted < len(squares) {
			n := byte(submitted)
			if err := s.Submit(context.Background(), actors.Task{Type: "square", Payload: []byte{n}}, uint64(n)); err != nil {
				break // ErrWindowFull: collect first
			}
			submitted++
		}
		c, err := s.Next(context.Background())
		if err != nil {
			panic(err)
		}
		if c.Result.Err != nil {
			panic(c.Result.Err)
		}
		squares[c.Tag] = c.Result.Output[0]
		collected++
	}
	fmt.Println(squares)
	// Output: [0 1 4 9 16 25 36 49 64 81]
}
