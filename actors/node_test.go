package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// newNode starts a node and shuts it down at the end of the test.
func newNode(t *testing.T, opts ...actors.Option) *actors.Node {
	t.Helper()
	n, err := actors.NewNode(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = n.Shutdown(ctx)
	})
	return n
}

func wait(t *testing.T, f *actors.Future) actors.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-f.Done():
	case <-ctx.Done():
		t.Fatal("no result within 10s")
	}
	r, ok := f.Result()
	require.True(t, ok)
	return r
}

func echo(_ context.Context, p []byte) ([]byte, error) { return append([]byte("echo:"), p...), nil }

func TestSubmitRunsHandlerAndFunc(t *testing.T) {
	n := newNode(t,
		actors.WithPool(actors.PoolConfig{Name: "cpu", Workers: 2}),
		actors.WithPool(actors.PoolConfig{Name: "io", Kind: actors.KindIO, Workers: 1}),
		actors.WithHandler("echo", echo))

	f, err := n.Submit(context.Background(), actors.Task{Type: "echo", Payload: []byte("hi")})
	require.NoError(t, err)
	r := wait(t, f)
	require.NoError(t, r.Err)
	assert.Equal(t, "echo:hi", string(r.Output))
	assert.Contains(t, r.Worker, "cpu/w")

	f, err = n.SubmitFunc(context.Background(), "io", func(context.Context) (any, error) { return 42, nil })
	require.NoError(t, err)
	r = wait(t, f)
	require.NoError(t, r.Err)
	assert.Equal(t, 42, r.Value)
	assert.Equal(t, "io/w0", r.Worker)

	f, err = n.Submit(context.Background(), actors.Task{Type: "echo", Kind: actors.KindIO, HasKind: true})
	require.NoError(t, err)
	assert.Equal(t, "io/w0", wait(t, f).Worker)

	wantErr := errors.New("boom")
	f, err = n.SubmitFunc(context.Background(), "", func(context.Context) (any, error) { return nil, wantErr })
	require.NoError(t, err)
	assert.ErrorIs(t, wait(t, f).Err, wantErr)

	res, err := f.Wait(context.Background())
	assert.ErrorIs(t, err, wantErr)
	assert.ErrorIs(t, res.Err, wantErr)
}

func TestSubmitRefusesBadTasks(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}), actors.WithHandler("echo", echo), actors.WithMaxPayload(8))
	cases := []struct {
		name string
		task actors.Task
		want error
		msg  string
	}{
		{"no type", actors.Task{}, actors.ErrInvalidTask, "Type is empty"},
		{"no handler", actors.Task{Type: "nope"}, actors.ErrNoHandler, `"nope"`},
		{"no pool", actors.Task{Type: "echo", Pool: "gpu"}, actors.ErrNoPool, `"gpu"`},
		{"no kind", actors.Task{Type: "echo", Kind: actors.KindIO, HasKind: true}, actors.ErrNoPool, "kind io"},
		{"bad priority", actors.Task{Type: "echo", Priority: 9}, actors.ErrInvalidTask, "Priority is 9"},
		{"big payload", actors.Task{Type: "echo", Payload: make([]byte, 9)}, actors.ErrInvalidTask, "Payload is 9 bytes; allowed: at most 8"},
		{"negative timeout", actors.Task{Type: "echo", Timeout: -time.Second}, actors.ErrInvalidTask, "Timeout is -1s"},
		// A run count past what a task's record counts would start over
		// and retry for ever.
		{"too many attempts", actors.Task{Type: "echo", Retry: actors.RetryPolicy{MaxAttempts: actors.MaxRetryAttempts + 1}},
			actors.ErrInvalidTask, "Retry.MaxAttempts is 65536; allowed: 0 to 65535"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := n.TrySubmit(c.task)
			assert.Nil(t, f)
			require.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
	st := n.Stats().Pools[0]
	assert.Zero(t, st.Submitted, "refused tasks are never accepted")
}

func TestNewNodeRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		pool actors.PoolConfig
		msg  string
	}{
		{"no name", actors.PoolConfig{}, "PoolConfig.Name is empty"},
		{"workers", actors.PoolConfig{Name: "p", Workers: -1}, `pool "p": Workers is -1; allowed: 1 to 65536`},
		{"queue", actors.PoolConfig{Name: "p", QueueCapacity: -5}, `pool "p": QueueCapacity is -5; allowed: 1 to`},
		{"strategy", actors.PoolConfig{Name: "p", Strategy: "fastest"}, `pool "p": Strategy is "fastest"; allowed:`},
		{"kind", actors.PoolConfig{Name: "p", Kind: 9}, `pool "p": Kind is 9; allowed: cpu, io, mixed`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := actors.NewNode(actors.WithPool(c.pool))
			require.ErrorIs(t, err, actors.ErrInvalidConfig)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
	_, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "a"}), actors.WithPool(actors.PoolConfig{Name: "a"}))
	assert.ErrorContains(t, err, "used twice")
}

// gate is a handler that blocks until released, and reports when it starts.
type gate struct {
	started chan string
	release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan string, 100), release: make(chan struct{})} }

func (g *gate) handler(ctx context.Context, p []byte) ([]byte, error) {
	g.started <- string(p)
	select {
	case <-g.release:
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestTrySubmitQueueFullAndSubmitWaits(t *testing.T) {
	g := newGate()
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 1}), actors.WithHandler("gate", g.handler))

	running, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("a")})
	require.NoError(t, err)
	<-g.started
	queued, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("b")})
	require.NoError(t, err)

	_, err = n.TrySubmit(actors.Task{Type: "gate"})
	require.ErrorIs(t, err, actors.ErrQueueFull)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = n.Submit(ctx, actors.Task{Type: "gate"})
	require.ErrorIs(t, err, actors.ErrCanceled)

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = n.Submit(ctx, actors.Task{Type: "gate"})
	require.ErrorIs(t, err, actors.ErrQueueFull)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A blocked Submit gets in once room frees.
	type submitted struct {
		f   *actors.Future
		err error
	}
	got := make(chan submitted, 1)
	waiting := newDoneAsked()
	go func() {
		f, err := n.Submit(waiting, actors.Task{Type: "gate", Payload: []byte("c")})
		got <- submitted{f, err}
	}()
	select {
	case <-waiting.asked:
	case <-time.After(waitTimeout):
		t.Fatal("Submit did not wait for room")
	}
	close(g.release)
	s := <-got
	require.NoError(t, s.err)
	for _, f := range []*actors.Future{running, queued, s.f} {
		require.NoError(t, wait(t, f).Err)
	}
	st := n.Stats().Pools[0]
	assert.Equal(t, uint64(3), st.Submitted)
	assert.Equal(t, uint64(3), st.Completed)
	assert.Equal(t, uint64(2), st.Rejected, "a Submit that waited and got in is no rejection")
}

// doneAsked is a context that reports the first call of its Done method.
// Submit asks for it only when it has found its pool's queue full and
// waits for room, after it has joined the waiters.
type doneAsked struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func newDoneAsked() *doneAsked {
	return &doneAsked{Context: context.Background(), asked: make(chan struct{})}
}

func (c *doneAsked) Done() <-chan struct{} {
	c.once.Do(func() { close(c.asked) })
	return c.Context.Done()
}

func TestPriorityOrder(t *testing.T) {
	g := newGate()
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}), actors.WithHandler("gate", g.handler))
	first, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("first")})
	require.NoError(t, err)
	require.Equal(t, "first", <-g.started)
	var fs []*actors.Future
	for _, p := range []actors.Priority{actors.PriorityLow, actors.PriorityNormal, actors.PriorityHigh, actors.PriorityCritical, 0} {
		f, err := n.TrySubmit(actors.Task{Type: "gate", Priority: p, Payload: []byte(p.String())})
		require.NoError(t, err)
		fs = append(fs, f)
	}
	assert.Equal(t, [4]int{1, 1, 2, 1}, n.Stats().Pools[0].QueueDepth)
	close(g.release)
	var order []string
	for range fs {
		order = append(order, <-g.started)
	}
	assert.Equal(t, []string{"critical", "high", "normal", "normal", "low"}, order)
	for _, f := range append(fs, first) {
		require.NoError(t, wait(t, f).Err)
	}
}

func TestPanicGivesErrorAndRestartsWorker(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { panic("kaboom") })
	require.NoError(t, err)
	r := wait(t, f)
	require.ErrorIs(t, r.Err, actors.ErrPanic)
	var pe *actors.PanicError
	require.ErrorAs(t, r.Err, &pe)
	assert.Equal(t, "kaboom", pe.Value)
	assert.Contains(t, string(pe.Stack), "node_test.go")

	w.waitUntil(t, "the restart", func() bool { return n.Stats().Pools[0].Restarts == 1 })
	for i := range 10 {
		f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { return i, nil })
		require.NoError(t, err)
		r := wait(t, f)
		require.NoError(t, r.Err)
		assert.Equal(t, i, r.Value)
	}
	st := n.Stats().Pools[0]
	assert.Equal(t, uint64(1), st.WorkerStats[0].Restarts)
	assert.Equal(t, uint64(1), st.Failed)
	assert.Equal(t, uint64(10), st.Completed)
}

func TestTimeoutAndCancel(t *testing.T) {
	g := newGate()
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}), actors.WithHandler("gate", g.handler))
	// The first task's 5ms run out in the queue if the worker is still
	// starting (a loaded machine), and it would never start.
	require.NoError(t, n.WaitReady(context.Background()))

	f, err := n.TrySubmit(actors.Task{Type: "gate", Timeout: 5 * time.Millisecond})
	require.NoError(t, err)
	<-g.started
	require.ErrorIs(t, wait(t, f).Err, actors.ErrTimeout)

	// A running task's context ends with the task's Context.
	ctx, cancel := context.WithCancel(context.Background())
	running, err := n.Submit(context.Background(), actors.Task{Type: "gate", Payload: []byte("run"), Context: ctx})
	require.NoError(t, err)
	<-g.started
	// A queued task is canceled without running.
	ctx2, cancel2 := context.WithCancel(context.Background())
	queued, err := n.Submit(context.Background(), actors.Task{Type: "gate", Payload: []byte("queued"), Context: ctx2})
	require.NoError(t, err)
	cancel2()
	require.ErrorIs(t, wait(t, queued).Err, actors.ErrCanceled)
	assert.Equal(t, [4]int{}, n.Stats().Pools[0].QueueDepth)
	cancel()
	require.ErrorIs(t, wait(t, running).Err, actors.ErrCanceled)

	// Queued past its deadline.
	blocker, err := n.TrySubmit(actors.Task{Type: "gate"})
	require.NoError(t, err)
	<-g.started
	late, err := n.TrySubmit(actors.Task{Type: "gate", Timeout: time.Millisecond})
	require.NoError(t, err)
	require.ErrorIs(t, wait(t, late).Err, actors.ErrTimeout)
	close(g.release)
	require.NoError(t, wait(t, blocker).Err)
	st := n.Stats().Pools[0]
	assert.Equal(t, uint64(2), st.TimedOut)
	assert.Equal(t, uint64(2), st.Canceled)
}

func TestShutdownDrains(t *testing.T) {
	g := newGate()
	w := newWatch()
	n, err := actors.NewNode(w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2}), actors.WithHandler("gate", g.handler))
	require.NoError(t, err)
	var fs []*actors.Future
	for range 6 {
		f, err := n.TrySubmit(actors.Task{Type: "gate"})
		require.NoError(t, err)
		fs = append(fs, f)
	}
	<-g.started
	<-g.started
	done := make(chan actors.ShutdownReport)
	go func() {
		rep, err := n.Shutdown(context.Background())
		assert.NoError(t, err)
		done <- rep
	}()
	// Shutdown closes admission before it tells the pool to drain.
	w.waitFor(t, "pool draining", poolState("p", "draining"))
	_, err = n.TrySubmit(actors.Task{Type: "gate"})
	require.ErrorIs(t, err, actors.ErrShuttingDown)
	close(g.release)
	rep := <-done
	assert.Equal(t, actors.ShutdownReport{Drained: uint64(len(fs))}, rep)
	for _, f := range fs {
		require.NoError(t, wait(t, f).Err)
	}
	<-n.Done()
	st := n.Stats().Pools[0]
	assert.Equal(t, 0, st.Workers, "every worker is dead")
}

func TestShutdownDeadlineFailsTheRest(t *testing.T) {
	g := newGate()
	n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}), actors.WithHandler("gate", g.handler))
	require.NoError(t, err)
	running, err := n.TrySubmit(actors.Task{Type: "gate"})
	require.NoError(t, err)
	<-g.started
	queued, err := n.TrySubmit(actors.Task{Type: "gate"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	rep, err := n.Shutdown(ctx)
	require.ErrorIs(t, err, actors.ErrShuttingDown)
	assert.Equal(t, uint64(2), rep.Failed)
	assert.Zero(t, rep.Abandoned)
	require.ErrorIs(t, wait(t, running).Err, actors.ErrShuttingDown)
	require.ErrorIs(t, wait(t, queued).Err, actors.ErrShuttingDown)
	_, err = n.Submit(context.Background(), actors.Task{Type: "gate"})
	require.ErrorIs(t, err, actors.ErrShuttingDown)
}

// TestExactlyOneResult races submits, cancels, timeouts, panics and a
// shutdown, and checks that every accepted task gets exactly one result.
func TestExactlyOneResult(t *testing.T) {
	n, err := actors.NewNode(
		actors.WithPool(actors.PoolConfig{Name: "cpu", Workers: 2, QueueCapacity: 64}),
		actors.WithPool(actors.PoolConfig{Name: "io", Kind: actors.KindIO, Workers: 2, Concurrency: 8, QueueCapacity: 64}),
		actors.WithHandler("work", func(ctx context.Context, p []byte) ([]byte, error) {
			switch {
			case p[0]%10 == 0:
				panic("injected")
			case p[0]%10 == 1 && p[1] == 1: // hangs until its timeout
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return p, nil
		}))
	require.NoError(t, err)
	var accepted, results atomic.Int64
	var wg, waiters sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				ctx, cancel := context.WithCancel(context.Background())
				pool := "cpu"
				if i%2 == 0 {
					pool = "io"
				}
				timeout := time.Duration(i%5) * time.Millisecond
				f, err := n.Submit(ctx, actors.Task{Type: "work", Pool: pool, Payload: []byte{byte(g*7 + i), byte(min(timeout, 1))}, Timeout: timeout})
				if err != nil {
					cancel()
					continue
				}
				accepted.Add(1)
				if i%7 == 0 {
					cancel()
				}
				waiters.Add(1)
				go func() {
					defer waiters.Done()
					defer cancel()
					<-f.Done()
					results.Add(1)
				}()
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Tasks that wait for their context end at the drain deadline.
	_, _ = n.Shutdown(ctx)
	waiters.Wait()
	assert.Equal(t, accepted.Load(), results.Load())
	var total uint64
	for _, p := range n.Stats().Pools {
		assert.Equal(t, p.Submitted, p.Completed+p.Failed, "pool %s", p.Name)
		total += p.Submitted
	}
	assert.Equal(t, uint64(accepted.Load()), total)
}

func TestEnvelopeRequest(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(discardLogger))
	defer sys.Shutdown()
	n := newNode(t, actors.WithActorSystem(sys), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}), actors.WithHandler("echo", echo))
	pid, ok := n.PoolPID("p")
	require.True(t, ok)

	res, err := sys.Root.RequestFuture(pid, &protos.TaskEnvelope{Id: "t1", Type: "echo", Payload: []byte("x")}, 5*time.Second).Result()
	require.NoError(t, err)
	tr := res.(*protos.TaskResult)
	assert.Equal(t, "t1", tr.GetTaskId())
	assert.Equal(t, "echo:x", string(tr.GetOutput()))
	assert.Nil(t, tr.GetError())

	res, err = sys.Root.RequestFuture(pid, &protos.TaskEnvelope{Id: "t2", Type: "missing"}, 5*time.Second).Result()
	require.NoError(t, err)
	tr = res.(*protos.TaskResult)
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_NO_HANDLER, tr.GetError().GetCode())
	assert.ErrorIs(t, actors.ResultError(tr.GetError()), actors.ErrNoHandler)
}

func TestStatsWorkersByState(t *testing.T) {
	g := newGate()
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 3}), actors.WithHandler("gate", g.handler))
	ready(t, n)
	f, err := n.TrySubmit(actors.Task{Type: "gate"})
	require.NoError(t, err)
	<-g.started
	st := n.Stats().Pools[0]
	assert.Equal(t, 1, st.WorkersByState[actors.WorkerBusy])
	assert.Equal(t, 2, st.WorkersByState[actors.WorkerIdle])
	assert.Equal(t, "round-robin", st.Strategy)
	close(g.release)
	require.NoError(t, wait(t, f).Err)
	assert.Equal(t, fmt.Sprint(actors.WorkerBusy), "busy")
}

func TestWaitReady(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "a", Workers: 2}), actors.WithPool(actors.PoolConfig{Name: "b", MinWorkers: 1, MaxWorkers: 4}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.WaitReady(ctx))
	st := n.Stats()
	assert.Equal(t, 2, st.Pools[0].WorkersByState[actors.WorkerIdle])
	assert.Equal(t, 1, st.Pools[1].WorkersByState[actors.WorkerIdle])

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	require.NoError(t, n.WaitReady(done), "ready stays ready")
}
