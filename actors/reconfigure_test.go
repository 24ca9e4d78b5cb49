package actors_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// eventWaiter hands a node's events to a test through a channel, so that it
// waits for a condition by re-checking it at each event.
type eventWaiter struct{ ch chan supervision.Event }

func newEventWaiter() *eventWaiter { return &eventWaiter{ch: make(chan supervision.Event, 4096)} }

func (e *eventWaiter) hook(ev supervision.Event) {
	select {
	case e.ch <- ev:
	default: // the test reads them all; a full buffer only delays a re-check
	}
}

// until returns once cond holds, checking it now and after each event;
// it fails the test after 10s.
func (e *eventWaiter) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-e.ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestReconfigureUnderLoad(t *testing.T) {
	ev := newEventWaiter()
	var ran atomic.Int64
	ticks := make(chan time.Time)
	var mem atomic.Uint64
	n := newNode(t,
		actors.WithEventHook(ev.hook),
		actors.WithResourceLimits(actors.ResourceLimits{MemorySoft: 1 << 30}),
		actors.WithResourceSampler(func() actors.ResourceSample {
			return actors.ResourceSample{Memory: mem.Load(), At: time.Now()}
		}),
		actors.WithResourceTicks(ticks),
		actors.WithHandler("work", func(_ context.Context, p []byte) ([]byte, error) {
			ran.Add(1)
			return p, nil
		}),
		actors.WithPool(actors.PoolConfig{Name: "w", Workers: 2, Strategy: "weighted", QueueCapacity: 8}))

	// Producers keep the pool busy through every change below.
	var accepted, results, failures atomic.Int64
	stop := make(chan struct{})
	var producers, waiters sync.WaitGroup
	for range 4 {
		producers.Add(1)
		go func() {
			defer producers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				f, err := n.Submit(context.Background(), actors.Task{Type: "work", Pool: "w", Payload: []byte("x")})
				if err != nil {
					continue // refused: never accepted
				}
				accepted.Add(1)
				waiters.Add(1)
				go func() {
					defer waiters.Done()
					<-f.Done()
					results.Add(1)
					if r, _ := f.Result(); r.Err != nil {
						failures.Add(1)
					}
				}()
			}
		}()
	}
	ctx := context.Background()
	ev.until(t, "tasks to run", func() bool { return ran.Load() > 100 })

	// Grow, reweigh, widen the queue and set a timeout.
	res, err := n.Reconfigure(ctx, actors.PoolConfig{Name: "w", Workers: 4, Strategy: "weighted",
		QueueCapacity: 64, TaskTimeout: 2 * time.Second, Weights: []int{5, 1, 1, 1}})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"Workers", "Weights", "QueueCapacity", "TaskTimeout"}, res.Applied)
	assert.Empty(t, res.Kept)
	ev.until(t, "four idle or busy workers", func() bool {
		st := n.Stats().Pools[0]
		return st.WorkersByState[actors.WorkerIdle]+st.WorkersByState[actors.WorkerBusy] == 4
	})
	st := n.Stats().Pools[0]
	assert.Equal(t, 4, st.MaxWorkers)
	assert.Equal(t, 64, st.QueueCapacity)
	assert.Equal(t, 2*time.Second, st.TaskTimeout)
	weights := make([]int, 0, len(st.WorkerStats))
	for _, w := range st.WorkerStats {
		weights = append(weights, w.Weight)
	}
	assert.Equal(t, []int{5, 1, 1, 1}, weights)
	pc := n.PoolConfigs()[0]
	assert.Equal(t, 4, pc.Workers)
	assert.Equal(t, []int{5, 1, 1, 1}, pc.Weights)
	assert.Equal(t, 2*time.Second, pc.TaskTimeout)

	// Shrink while the workers are busy: the surplus leaves once its
	// tasks are done.
	before := ran.Load()
	res, err = n.Reconfigure(ctx, actors.PoolConfig{Name: "w", Workers: 1, Strategy: "weighted",
		QueueCapacity: 64, TaskTimeout: 2 * time.Second, Weights: []int{5, 1, 1, 1}, Concurrency: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"Workers"}, res.Applied)
	require.Len(t, res.Kept, 1)
	assert.Equal(t, "Concurrency", res.Kept[0].Field)
	ev.until(t, "one worker left", func() bool {
		st := n.Stats().Pools[0]
		return len(st.WorkerStats) == 1 && st.Workers == 1 && st.State == actors.PoolRunning
	})
	ev.until(t, "tasks to run on the one worker", func() bool { return ran.Load() > before+100 })
	st = n.Stats().Pools[0]
	assert.Equal(t, 1, st.MaxWorkers)
	assert.Equal(t, 1, st.Concurrency, "Concurrency is kept")
	assert.Equal(t, 5, st.WorkerStats[0].Weight)

	// Limits change live: a soft limit under the node's memory refuses
	// low priorities from the next sample on.
	mem.Store(64 << 20)
	require.NoError(t, n.SetResourceLimits(actors.ResourceLimits{MemorySoft: 32 << 20, MemoryHard: 1 << 30}))
	assert.Equal(t, uint64(32<<20), n.ResourceLimits().MemorySoft)
	ticks <- time.Now()
	ev.until(t, "soft pressure", func() bool { return n.Stats().Pressure == "soft" })
	_, err = n.TrySubmit(actors.Task{Type: "work", Pool: "w", Priority: actors.PriorityLow})
	require.ErrorIs(t, err, actors.ErrResource)
	require.NoError(t, n.SetResourceLimits(actors.ResourceLimits{MemorySoft: 128 << 20}))
	ticks <- time.Now()
	ev.until(t, "no pressure", func() bool { return n.Stats().Pressure == "normal" })

	close(stop)
	producers.Wait()
	waiters.Wait()
	assert.Equal(t, accepted.Load(), results.Load(), "every accepted task has one result")
	assert.Zero(t, failures.Load())
	st = n.Stats().Pools[0]
	assert.Equal(t, uint64(accepted.Load()), st.Submitted)
	assert.Equal(t, st.Submitted, st.Completed)
}

func TestReconfigureBreakerAndDynamicBounds(t *testing.T) {
	ev := newEventWaiter()
	n := newNode(t, actors.WithEventHook(ev.hook),
		actors.WithHandler("fail", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("no") }),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	ctx := context.Background()

	// A breaker added live counts the results of tasks admitted from then on.
	res, err := n.Reconfigure(ctx, actors.PoolConfig{Name: "p", Workers: 1,
		Breaker: &supervision.BreakerConfig{FailureThreshold: 2, ResetTimeout: time.Hour}, BreakerScope: actors.BreakerAllResults})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"Breaker", "BreakerScope"}, res.Applied)
	for range 2 {
		f, err := n.TrySubmit(actors.Task{Type: "fail", Pool: "p"})
		require.NoError(t, err)
		wait(t, f)
	}
	_, err = n.TrySubmit(actors.Task{Type: "fail", Pool: "p"})
	require.ErrorIs(t, err, actors.ErrCircuitOpen)

	// Removing it admits again; making the pool dynamic starts at its
	// minimum and its autoscaler runs.
	res, err = n.Reconfigure(ctx, actors.PoolConfig{Name: "p", MinWorkers: 2, MaxWorkers: 3})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"Breaker", "BreakerScope", "MinWorkers", "MaxWorkers"}, res.Applied)
	ev.until(t, "two live workers", func() bool {
		st := n.Stats().Pools[0]
		return st.WorkersByState[actors.WorkerIdle] == 2
	})
	st := n.Stats().Pools[0]
	assert.Equal(t, 2, st.MinWorkers)
	assert.Equal(t, 3, st.MaxWorkers)
	assert.Nil(t, st.Breakers)
	f, err := n.TrySubmit(actors.Task{Type: "fail", Pool: "p"})
	require.NoError(t, err)
	assert.Error(t, wait(t, f).Err)
}

func TestReconfigureRefusals(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	ctx := context.Background()
	_, err := n.Reconfigure(ctx, actors.PoolConfig{Name: "nope"})
	require.ErrorIs(t, err, actors.ErrNoPool)
	_, err = n.Reconfigure(ctx, actors.PoolConfig{Name: "p", Workers: -1})
	require.ErrorIs(t, err, actors.ErrInvalidConfig)
	_, err = n.Reconfigure(ctx, actors.PoolConfig{Name: "p", Weights: []int{0}})
	require.ErrorIs(t, err, actors.ErrInvalidConfig)
	assert.Equal(t, 1, n.Stats().Pools[0].MaxWorkers, "a refused change changes nothing")
	require.Error(t, n.SetResourceLimits(actors.ResourceLimits{MemorySoft: 2, MemoryHard: 1}))
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = n.Shutdown(sctx)
	require.NoError(t, err)
	_, err = n.Reconfigure(ctx, actors.PoolConfig{Name: "p", Workers: 2})
	require.ErrorIs(t, err, actors.ErrShuttingDown)
}
