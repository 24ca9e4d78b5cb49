package actors_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

func TestAutoscaleFollowsLoad(t *testing.T) {
	w := newWatch()
	g := newGate()
	n := newNode(t, w.option(), actors.WithHandler("gate", g.handler), actors.WithPool(actors.PoolConfig{
		Name: "dyn", MinWorkers: 1, MaxWorkers: 4, QueueCapacity: 100,
		Scale: actors.ScalePolicy{Interval: time.Millisecond, UpAfter: 1, Cooldown: 2 * time.Millisecond},
	}))
	st := n.Stats().Pools[0]
	assert.Equal(t, 1, st.MinWorkers)
	assert.Equal(t, 4, st.MaxWorkers)
	assert.Len(t, st.WorkerStats, 1, "parked slots are not workers")

	var fs []*actors.Future
	for range 20 {
		f, err := n.TrySubmit(actors.Task{Type: "gate"})
		require.NoError(t, err)
		fs = append(fs, f)
	}
	w.waitUntil(t, "the pool to grow to its maximum", func() bool {
		st := n.Stats().Pools[0]
		return st.Workers == 4 && st.WorkersByState[actors.WorkerBusy] == 4
	})
	close(g.release)
	for _, f := range fs {
		require.NoError(t, wait(t, f).Err)
	}
	w.waitUntil(t, "the pool to shrink back", func() bool { return n.Stats().Pools[0].Workers == 1 })
	st = n.Stats().Pools[0]
	assert.Equal(t, 4, st.PeakWorkers)
	w.waitUntil(t, "scale events", func() bool { return w.count(supervision.KindPoolScaled) >= 2 })

	// Still serving after shrinking.
	f, err := n.SubmitFunc(context.Background(), "dyn", func(context.Context) (any, error) { return 1, nil })
	require.NoError(t, err)
	require.NoError(t, wait(t, f).Err)
}

func TestDynamicPoolConfig(t *testing.T) {
	cases := []struct {
		name string
		pool actors.PoolConfig
		msg  string
	}{
		{"min above max", actors.PoolConfig{Name: "p", MinWorkers: 5, MaxWorkers: 2}, `pool "p": MinWorkers is 5; allowed: 1 to MaxWorkers (2)`},
		{"workers outside", actors.PoolConfig{Name: "p", Workers: 9, MinWorkers: 1, MaxWorkers: 4}, `pool "p": Workers is 9; allowed: MinWorkers (1) to MaxWorkers (4)`},
		{"thresholds", actors.PoolConfig{Name: "p", MaxWorkers: 4, Scale: actors.ScalePolicy{UpUtilization: 0.5, DownUtilization: 0.7}}, `pool "p": Scale.DownUtilization is 0.7; allowed: 0 to UpUtilization (0.5)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := actors.NewNode(actors.WithPool(c.pool))
			require.ErrorIs(t, err, actors.ErrInvalidConfig)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

// fakeResources is a sampler the test sets.
type fakeResources struct {
	mu sync.Mutex
	s  actors.ResourceSample
}

func (f *fakeResources) set(mem uint64, cpu time.Duration, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s = actors.ResourceSample{Memory: mem, CPU: cpu, At: at}
}

func (f *fakeResources) sample() actors.ResourceSample {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

func TestResourcePressureAdmission(t *testing.T) {
	w := newWatch()
	res := &fakeResources{}
	ticks := make(chan time.Time)
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}),
		actors.WithResourceLimits(actors.ResourceLimits{MemorySoft: 100, MemoryHard: 200, CPUPercent: 50, Interval: time.Second, Window: 2 * time.Second}),
		actors.WithResourceSampler(res.sample), actors.WithResourceTicks(ticks))
	try := func(p actors.Priority) error {
		f, err := n.TrySubmit(actors.Task{Priority: p, Func: func(context.Context) (any, error) { return nil, nil }})
		if err == nil {
			wait(t, f)
		}
		return err
	}
	at := time.Unix(1000, 0)
	step := func(mem uint64, cpu time.Duration, want string) {
		t.Helper()
		at = at.Add(time.Second)
		res.set(mem, cpu, at)
		ticks <- at
		// A change of level is an event; no change is none, and the
		// next tick is taken only once this one has been handled.
		w.waitUntil(t, "pressure "+want, func() bool { return n.Stats().Pressure == want })
	}
	step(50, 0, "normal")
	require.NoError(t, try(actors.PriorityLow))

	step(150, 0, "soft")
	require.ErrorIs(t, try(actors.PriorityLow), actors.ErrResource)
	require.NoError(t, try(actors.PriorityNormal))

	step(250, 0, "hard")
	require.ErrorIs(t, try(actors.PriorityNormal), actors.ErrResource)
	require.ErrorIs(t, try(actors.PriorityHigh), actors.ErrResource)
	require.NoError(t, try(actors.PriorityCritical))

	step(50, 0, "normal")
	// CPU: two machine-seconds in one second, averaged over the two-second
	// window, is 100% of the machine: over the 50% limit.
	busy := 2 * time.Duration(runtime.NumCPU()) * time.Second
	step(50, busy, "soft")
	assert.InDelta(t, 100, n.Stats().CPUPercent, 0.2)
	require.ErrorIs(t, try(actors.PriorityLow), actors.ErrResource)
	step(50, busy, "soft") // still within the window
	step(50, busy, "normal")
	assert.InDelta(t, 0, n.Stats().CPUPercent, 0.2)
	w.waitUntil(t, "pressure events", func() bool { return w.count(supervision.KindResourcePressure) == 5 })
}

func TestResourceMonitorReadsThisMachine(t *testing.T) {
	ticks := make(chan time.Time)
	n := newNode(t, actors.WithResourceLimits(actors.ResourceLimits{MemoryHard: 1 << 50}), actors.WithResourceTicks(ticks))
	// The monitor takes a tick only once it has handled the one before:
	// after the third, two samples are in.
	for range 3 {
		ticks <- time.Now()
	}
	st := n.Stats()
	assert.Positive(t, st.Memory, "a sample")
	assert.Less(t, st.Memory, uint64(8<<30), "the heap of a test process is far below 8 GiB")
	assert.GreaterOrEqual(t, st.CPUPercent, 0.0)
	assert.Equal(t, "normal", st.Pressure)
}
