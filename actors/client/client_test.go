package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/api"
	"github.com/drover-go/drover/actors/client"
	"github.com/drover-go/drover/supervision"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}

// node starts a node with echo and block (returns once release closes, or
// its context ends, which it reports on ended) task types.
func node(t *testing.T, release <-chan struct{}, ended chan<- error) *actors.Node {
	t.Helper()
	n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Kind: actors.KindIO, Workers: 1, Concurrency: 16}),
		actors.WithHandler("echo", func(_ context.Context, b []byte) ([]byte, error) { return b, nil }),
		actors.WithHandler("block", func(ctx context.Context, _ []byte) ([]byte, error) {
			select {
			case <-release:
				return []byte("done"), nil
			case <-ctx.Done():
				ended <- ctx.Err()
				return nil, ctx.Err()
			}
		}))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = n.Shutdown(context.Background()) })
	return n
}

func serve(t *testing.T, n *actors.Node, addr string) *api.Server {
	t.Helper()
	s, err := api.Listen(addr, n)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func TestReconnectsWithBackoff(t *testing.T) {
	n := node(t, nil, nil)
	s := serve(t, n, "127.0.0.1:0")
	addr := s.Addr().String()
	c, err := client.Dial(addr, client.WithBackoff(supervision.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond}))
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close(context.Background())) }()

	echo := func() error {
		f, err := c.Submit(context.Background(), actors.Task{Type: "echo", Payload: []byte("x")})
		if err != nil {
			return err
		}
		_, err = f.Wait(context.Background())
		return err
	}
	require.NoError(t, echo())
	require.NoError(t, s.Shutdown(context.Background()))
	// The same address again: the client opens a new stream on its own.
	serve(t, n, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := echo()
		if err == nil {
			break
		}
		// The old stream's end may still be on its way: one refusal.
		require.ErrorIs(t, err, client.ErrConnection)
		require.NoError(t, ctx.Err())
	}
}

func TestTaskContextCancelsTheRemoteTask(t *testing.T) {
	ended := make(chan error, 1)
	n := node(t, nil, ended)
	c, err := client.Dial(serve(t, n, "127.0.0.1:0").Addr().String())
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close(context.Background())) }()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := c.Submit(context.Background(), actors.Task{Type: "block", Context: ctx})
	require.NoError(t, err)
	cancel()
	_, err = f.Wait(context.Background())
	assert.ErrorIs(t, err, actors.ErrCanceled)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler on the node did not see its context end")
	}
}

func TestCloseDrains(t *testing.T) {
	release := make(chan struct{})
	n := node(t, release, make(chan error, 16))
	c, err := client.Dial(serve(t, n, "127.0.0.1:0").Addr().String())
	require.NoError(t, err)
	var futures []*actors.Future
	for i := 0; i < 5; i++ {
		f, err := c.Submit(context.Background(), actors.Task{Type: "block"})
		require.NoError(t, err)
		futures = append(futures, f)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(context.Background()) }()
	_, err = c.Submit(context.Background(), actors.Task{Type: "echo"})
	for !errors.Is(err, client.ErrClosed) {
		// Close may not have begun yet: a task accepted now drains too.
		f, serr := c.Submit(context.Background(), actors.Task{Type: "echo"})
		if serr == nil {
			futures = append(futures, f)
		}
		err = serr
	}
	assert.ErrorIs(t, err, actors.ErrShuttingDown)
	close(release)
	require.NoError(t, <-closed)
	for _, f := range futures {
		_, ok := f.Result()
		assert.True(t, ok, "Close returned before a result")
		_, err := f.Wait(context.Background())
		assert.NoError(t, err)
	}
}

func ExampleClient_Submit() {
	n, _ := actors.NewNode(actors.WithHandler("greet", func(_ context.Context, name []byte) ([]byte, error) {
		return []byte("hello, " + string(name)), nil
	}))
	srv, _ := api.Listen("127.0.0.1:0", n)

	c, _ := client.Dial(srv.Addr().String())
	f, err := c.Submit(context.Background(), actors.Task{Type: "greet", Payload: []byte("world")})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := f.Wait(context.Background())
	fmt.Println(string(r.Output))

	_, err = c.Submit(context.Background(), actors.Task{Type: "shout"})
	fmt.Println(errors.Is(err, actors.ErrNoHandler))

	_ = c.Close(context.Background())
	_, _ = n.Shutdown(context.Background())
	_ = srv.Shutdown(context.Background())
	// Output:
	// hello, world
	// true
}

func TestWatchSeesAWorkerCrash(t *testing.T) {
	n := node(t, nil, nil)
	c, err := client.Dial(serve(t, n, "127.0.0.1:0").Addr().String())
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close(context.Background())) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failed := make(chan client.Event, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, func(e client.Event) {
			if e.Kind == "worker-failed" {
				select {
				case failed <- e:
				default:
				}
			}
		})
	}()
	// Crash the worker until the watcher sees it: the first crash may
	// come before the subscription, a later one while the worker restarts.
	for {
		_ = n.CrashWorker("p", 0)
		select {
		case e := <-failed:
			assert.Contains(t, e.Text, "p")
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled)
			return
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no worker-failed event within 10s")
		}
	}
}

// TestGoPipelines: Go keeps many tasks in flight from one goroutine; each
// Future gets its task's result, and a refusal by the node ends its Future
// with the node's sentinel.
func TestGoPipelines(t *testing.T) {
	n := node(t, nil, nil)
	c, err := client.Dial(serve(t, n, "127.0.0.1:0").Addr().String(), client.WithWindow(64))
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close(context.Background())) }()
	var futures []*actors.Future
	for i := range 500 {
		f, err := c.Go(context.Background(), actors.Task{Type: "echo", Payload: []byte{byte(i)}})
		require.NoError(t, err)
		futures = append(futures, f)
		if len(futures) >= 64 { // the window: wait for the oldest
			r, err := futures[0].Wait(context.Background())
			require.NoError(t, err)
			require.Equal(t, []byte{byte(i - 63)}, r.Output)
			futures = futures[1:]
		}
	}
	for _, f := range futures {
		_, err := f.Wait(context.Background())
		require.NoError(t, err)
	}
	f, err := c.Go(context.Background(), actors.Task{Type: "nope"})
	require.NoError(t, err, "a refusal comes with the Future")
	_, err = f.Wait(context.Background())
	assert.ErrorIs(t, err, actors.ErrNoHandler)
}
