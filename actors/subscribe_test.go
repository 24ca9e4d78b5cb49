package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// next waits for the next event on s, failing the test after 10 s or if
// the channel closes.
func next(t *testing.T, s *actors.Subscription) supervision.Event {
	t.Helper()
	select {
	case e, ok := <-s.Events():
		require.True(t, ok, "subscription closed early")
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return nil
	}
}

// drain reads s until it closes and returns what it read.
func drain(t *testing.T, s *actors.Subscription) []supervision.Event {
	t.Helper()
	var got []supervision.Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-s.Events():
			if !ok {
				return got
			}
			got = append(got, e)
		case <-timeout:
			t.Fatal("subscription not closed within 10s")
		}
	}
}

func TestSubscribeFansOutWithKinds(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2,
		Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}))
	require.NoError(t, n.WaitReady(t.Context()))
	restarts := n.Subscribe(8, supervision.KindWorkerFailed, supervision.KindWorkerRestarted)
	defer restarts.Close()
	all := n.Subscribe(0)
	defer all.Close()

	require.NoError(t, n.CrashWorker("p", 1))
	failed := next(t, restarts)
	require.Equal(t, supervision.KindWorkerFailed, failed.Kind())
	assert.Equal(t, "p/w1", failed.(supervision.WorkerFailed).Worker, "named as the pool names its workers")
	assert.ErrorIs(t, failed.(supervision.WorkerFailed).Reason, actors.ErrWorkerCrashed)
	assert.Equal(t, supervision.KindWorkerRestarted, next(t, restarts).Kind())

	// The unfiltered subscription sees the same two events among others
	// (state changes, the pool's move to degraded and back).
	seen := map[supervision.EventKind]bool{}
	for !seen[supervision.KindWorkerRestarted] {
		seen[next(t, all).Kind()] = true
	}
	assert.True(t, seen[supervision.KindWorkerFailed])
	assert.True(t, seen[supervision.KindWorkerStateChanged])
	assert.Zero(t, restarts.Dropped())
	assert.Zero(t, all.Dropped())
	// The hook still gets every event.
	w.waitFor(t, "hook's restart", ofKind(supervision.KindWorkerRestarted))
	assert.Equal(t, 1, w.count(supervision.KindWorkerRestarted))
}

// TestSubscribeSlowReaderDrops checks that a reader that never reads loses
// events beyond its buffer, counted, while another gets them all, and that
// both channels close when the node stops.
func TestSubscribeSlowReaderDrops(t *testing.T) {
	// No hook: a subscription alone turns worker-state-changed events on.
	n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	require.NoError(t, err)
	// fast first: every event offered to slow is offered to fast too.
	fast := n.Subscribe(100000, supervision.KindWorkerStateChanged)
	slow := n.Subscribe(1, supervision.KindWorkerStateChanged)
	for range 50 {
		f, err := n.Submit(t.Context(), actors.Task{Func: func(context.Context) (any, error) { return nil, nil }})
		require.NoError(t, err)
		wait(t, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = n.Shutdown(ctx)
	require.NoError(t, err)

	got := drain(t, fast)
	require.GreaterOrEqual(t, len(got), 50, "every task moves the worker to busy at least")
	assert.Zero(t, fast.Dropped())
	kept := drain(t, slow)
	require.Len(t, kept, 1)
	// Each task moved the worker to busy and back after both subscribed:
	// slow was offered 100 events at least, and kept the first.
	assert.GreaterOrEqual(t, slow.Dropped(), uint64(99), "what the slow reader lost is counted")
	assert.LessOrEqual(t, slow.Dropped()+1, uint64(len(got)))
	assert.Contains(t, got, kept[0])
}

func TestSubscribeCloseAndAfterStop(t *testing.T) {
	n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	require.NoError(t, err)
	s := n.Subscribe(4)
	s.Close()
	s.Close()   // idempotent
	drain(t, s) // fails unless Close closed the channel

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = n.Shutdown(ctx)
	require.NoError(t, err)
	late := n.Subscribe(4)
	_, open := <-late.Events()
	assert.False(t, open, "a subscription after the stop is closed at once")
	late.Close()
}
