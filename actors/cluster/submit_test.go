package cluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/cluster"
)

// soloMember starts a member alone on loopback with pool "work" (one
// worker) and the handlers "echo" and "block" (waits for release or its
// context), and shuts it down at the end of the test.
func soloMember(t *testing.T, release <-chan struct{}, started chan<- struct{}) *cluster.Member {
	t.Helper()
	m, err := cluster.NewMember(
		cluster.WithName("solo"),
		cluster.WithNodeOptions(
			actors.WithPool(actors.PoolConfig{Name: "work", Workers: 1}),
			actors.WithMaxPayload(64),
			actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }),
			actors.WithHandler("block", func(ctx context.Context, _ []byte) ([]byte, error) {
				started <- struct{}{}
				select {
				case <-release:
					return []byte("released"), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}),
		),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, m.Shutdown(ctx))
	})
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, m.WaitPool(wctx, "work", 1))
	return m
}

func recv(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("nothing within 20s")
	}
}

func waitResult(t *testing.T, f *actors.Future) (actors.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := f.Wait(ctx)
	require.NotErrorIs(t, err, context.DeadlineExceeded, "no result within 20s")
	return r, err
}

// TestMemberSubmitContexts: a cluster task follows the node's context
// rules: Submit's ctx bounds only the wait for room, Task.Context binds the
// task, Future.Cancel ends it, and the result names the member.
func TestMemberSubmitContexts(t *testing.T) {
	release, started := make(chan struct{}, 4), make(chan struct{}, 4)
	m := soloMember(t, release, started)

	t.Run("ended submit ctx is harmless", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		f, err := m.Submit(ctx, actors.Task{Type: "echo", Pool: "work", Payload: []byte("hi")})
		cancel()
		require.NoError(t, err)
		r, err := waitResult(t, f)
		require.NoError(t, err)
		assert.Equal(t, "hi", string(r.Output))
		assert.Equal(t, "solo", r.Node)
	})

	t.Run("Task.Context binds the task", func(t *testing.T) {
		tctx, cancel := context.WithCancel(context.Background())
		f, err := m.Submit(context.Background(), actors.Task{Type: "block", Pool: "work", Context: tctx})
		require.NoError(t, err)
		recv(t, started)
		cancel()
		_, err = waitResult(t, f)
		assert.ErrorIs(t, err, actors.ErrCanceled)
		assert.Contains(t, err.Error(), "Task.Context")
		release <- struct{}{} // the run goes on where it runs; let it end
	})

	t.Run("Future.Cancel", func(t *testing.T) {
		f, err := m.Submit(context.Background(), actors.Task{Type: "block", Pool: "work", ID: "c-1"})
		require.NoError(t, err)
		assert.Equal(t, "c-1", f.ID())
		recv(t, started)
		assert.True(t, f.Cancel())
		assert.False(t, f.Cancel(), "canceled twice")
		_, err = waitResult(t, f)
		assert.ErrorIs(t, err, actors.ErrCanceled)
		release <- struct{}{}
	})

	t.Run("Func runs on the member's node", func(t *testing.T) {
		f, err := m.Submit(context.Background(), actors.Task{Pool: "work", Func: func(context.Context) (any, error) { return 7, nil }})
		require.NoError(t, err)
		r, err := waitResult(t, f)
		require.NoError(t, err)
		assert.Equal(t, 7, r.Value)
		assert.Equal(t, "solo", r.Node)
	})
}

// TestMemberValidatesAsTheNode: a malformed task gets the node's own error
// from a member, naming the same field.
func TestMemberValidatesAsTheNode(t *testing.T) {
	m := soloMember(t, nil, nil)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	bad := []actors.Task{
		{Pool: "work"},
		{Type: "echo", Pool: "work", Priority: 9},
		{Type: "echo", Pool: "work", Timeout: -time.Second},
		{Type: "echo", Pool: "work", Retry: actors.RetryPolicy{MaxAttempts: -1}},
		{Type: "echo", Pool: "work", Payload: make([]byte, 65)},
		{Type: "echo", Pool: "work", Context: ended},
	}
	for _, task := range bad {
		_, nodeErr := m.Node().TrySubmit(task)
		require.Error(t, nodeErr)
		_, err := m.TrySubmit(task)
		require.Error(t, err, "member accepted what the node refuses: %v", nodeErr)
		assert.Equal(t, nodeErr.Error(), err.Error())
		assert.True(t, errors.Is(err, actors.ErrInvalidTask) || errors.Is(err, actors.ErrCanceled), err.Error())
	}
	_, err := m.TrySubmit(actors.Task{Type: "echo", Pool: "work", Retry: actors.RetryPolicy{MaxAttempts: 3}})
	require.ErrorIs(t, err, actors.ErrInvalidTask)
	assert.True(t, strings.Contains(err.Error(), "Retry"), err.Error())
}

// TestGossipThrottleOutlivesShutdown shows a protoactor behaviour the
// package's goleak check has to ignore: a member that shut down leaves
// its gossip throttle's goroutine behind for up to a minute.
func TestGossipThrottleOutlivesShutdown(t *testing.T) {
	m, err := cluster.NewMember(cluster.WithName("brief"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, m.Shutdown(ctx))
	err = goleak.Find()
	require.Error(t, err, "protoactor stops its gossip throttle now: drop the goleak exception in TestMain")
	assert.Contains(t, err.Error(), "NewThrottle")
}
