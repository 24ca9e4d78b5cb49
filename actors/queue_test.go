package actors_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

func TestShedDisplacesNewestLowest(t *testing.T) {
	g := newGate()
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 3, Shed: true}), actors.WithHandler("gate", g.handler))
	running, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("running")})
	require.NoError(t, err)
	require.Equal(t, "running", <-g.started)
	low1, err := n.TrySubmit(actors.Task{Type: "gate", Priority: actors.PriorityLow, Payload: []byte("low1")})
	require.NoError(t, err)
	low2, err := n.TrySubmit(actors.Task{Type: "gate", Priority: actors.PriorityLow, Payload: []byte("low2")})
	require.NoError(t, err)
	normal, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("normal")})
	require.NoError(t, err)

	// Full: a critical task sheds the newest low one.
	critical, err := n.TrySubmit(actors.Task{Type: "gate", Priority: actors.PriorityCritical, Payload: []byte("critical")})
	require.NoError(t, err)
	require.ErrorIs(t, wait(t, low2).Err, actors.ErrShed)
	// A low task finds nothing lower to shed: refused.
	_, err = n.TrySubmit(actors.Task{Type: "gate", Priority: actors.PriorityLow})
	require.ErrorIs(t, err, actors.ErrQueueFull)

	close(g.release)
	for _, f := range []*actors.Future{running, low1, normal, critical} {
		require.NoError(t, wait(t, f).Err)
	}
	st := n.Stats().Pools[0]
	assert.Equal(t, uint64(1), st.Shed)
	assert.Equal(t, st.Submitted, st.Completed+st.Failed)
}

func TestAgingLetsLowPriorityThrough(t *testing.T) {
	g := newGate()
	// Aging of 20 ms: the low task waits 70 ms and so rises three levels,
	// while the high one, released at once, would need a 20 ms stall of its
	// own to tie with it (ties go to the higher original priority).
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, Aging: 20 * time.Millisecond}), actors.WithHandler("gate", g.handler))
	first, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("first")})
	require.NoError(t, err)
	<-g.started
	low, err := n.TrySubmit(actors.Task{Type: "gate", Priority: actors.PriorityLow, Payload: []byte("low")})
	require.NoError(t, err)
	// Let the low task age past three levels: 60 ms of waiting. Aging
	// runs on the node's clock, which no test can move, and ages a task
	// with no event: the waiting is the behaviour under test.
	<-time.After(70 * time.Millisecond)
	high, err := n.TrySubmit(actors.Task{Type: "gate", Priority: actors.PriorityHigh, Payload: []byte("high")})
	require.NoError(t, err)
	close(g.release)
	assert.Equal(t, "low", <-g.started, "the aged low task overtakes a fresh high one")
	assert.Equal(t, "high", <-g.started)
	for _, f := range []*actors.Future{first, low, high} {
		require.NoError(t, wait(t, f).Err)
	}
}

func TestStuckWorkerIsReplaced(t *testing.T) {
	w := newWatch()
	unstick := make(chan struct{})
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{
		Name: "p", Workers: 1, StuckGrace: time.Millisecond,
		Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
	}))
	// The timeout must pass while the handler runs, not while the task
	// still waits for its runner: 100 ms is far more than a start takes,
	// even on a loaded machine under -race (2 ms was not, once).
	stuck, err := n.TrySubmit(actors.Task{Timeout: 100 * time.Millisecond, Func: func(context.Context) (any, error) {
		<-unstick // ignores its context
		return nil, nil
	}})
	require.NoError(t, err)
	require.ErrorIs(t, wait(t, stuck).Err, actors.ErrTimeout)
	// The counters move before the event.
	w.waitFor(t, "worker stuck", ofKind(supervision.KindWorkerStuck))
	assert.Equal(t, uint64(1), n.Stats().Pools[0].Stuck)
	assert.Equal(t, int64(1), n.Stats().Pools[0].Abandoned)
	assert.Equal(t, 1, w.count(supervision.KindWorkerStuck))

	// The replacement takes work while the stuck goroutine is still blocked.
	f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { return "fresh", nil })
	require.NoError(t, err)
	assert.Equal(t, "fresh", wait(t, f).Value)

	// Once the handler returns, its goroutine is no longer abandoned. Its
	// return is no event; Shutdown waits for it, as for any running
	// handler, and abandons nothing.
	close(unstick)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	rep, err := n.Shutdown(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Abandoned)
	assert.Zero(t, n.Stats().Pools[0].Abandoned)
}

// TestMemoryBoundedUnderOverload floods a slow pool with producers far
// faster than its workers; the bounded queue keeps the heap from growing
// with the number of submissions.
func TestMemoryBoundedUnderOverload(t *testing.T) {
	const capacity = 1000
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: capacity}))
	release := make(chan struct{})
	block := func(context.Context) (any, error) { <-release; return nil, nil }
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	var accepted []*actors.Future
	refused := 0
	for range 100 * capacity {
		f, err := n.TrySubmit(actors.Task{Func: block})
		if err != nil {
			require.ErrorIs(t, err, actors.ErrQueueFull)
			refused++
			continue
		}
		accepted = append(accepted, f)
	}
	grown := int64(heap()) - int64(base)
	assert.Equal(t, capacity+1, len(accepted), "the queue plus the running task")
	assert.Equal(t, 100*capacity-capacity-1, refused)
	// Each accepted task holds a Future (a few hundred bytes with its
	// closure); refused ones hold nothing. 1 KiB per accepted task is a
	// generous bound that 99,000 leaked refusals would blow.
	assert.Less(t, grown, int64(1024*(capacity+1)), "heap grew %d bytes", grown)
	close(release)
	for _, f := range accepted {
		wait(t, f)
	}
}
