package admin

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// The sampler's rates are the counters' changes over the time between two
// samples, and its latency covers only the tasks of that interval.
func TestSamplerRates(t *testing.T) {
	n, err := actors.NewNode(actors.WithName("rates"), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	require.NoError(t, err)
	defer func() {
		_, err := n.Shutdown(context.Background())
		assert.NoError(t, err)
	}()
	t0 := time.Now()
	s := startSampler(n, func() bool { return true }, nil, time.Hour) // samples when told
	s.sample(t0)
	runTasks := func(k int, fail bool) {
		for range k {
			f, err := n.Submit(context.Background(), actors.Task{Pool: "p", Timed: true, Func: func(context.Context) (any, error) {
				if fail {
					return nil, errors.New("no")
				}
				return nil, nil
			}})
			require.NoError(t, err)
			_, _ = f.Wait(context.Background())
		}
	}
	runTasks(8, false)
	runTasks(2, true)
	s.sample(t0.Add(2 * time.Second))

	var f Frame
	cur := s.cur.Load()
	require.NoError(t, json.Unmarshal(cur.frame, &f))
	require.Len(t, f.Pools, 1)
	r := f.Pools[0]
	assert.Equal(t, 2.0, r.Seconds)
	assert.Equal(t, 5.0, r.Submitted)
	assert.Equal(t, 4.0, r.Completed)
	assert.Equal(t, 1.0, r.Failed)
	assert.Equal(t, uint64(10), r.Run.Count)
	assert.Equal(t, r.Completed, f.Node.Completed)
	require.Len(t, cur.history, 1)
	assert.Equal(t, f.Node, cur.history[0])

	// Nothing ran in the next interval: rates and latency are zero there,
	// while the counters since the start stay.
	s.sample(t0.Add(3 * time.Second))
	cur = s.cur.Load()
	require.NoError(t, json.Unmarshal(cur.frame, &f))
	assert.Equal(t, 0.0, f.Pools[0].Completed)
	assert.Zero(t, f.Pools[0].Run.Count)
	assert.Equal(t, uint64(8), f.Status.Pools[0].Completed)
	assert.Equal(t, uint64(10), f.Status.Pools[0].Run.Count)
	assert.Len(t, cur.history, 2)
}

// The history keeps the last historyLen samples, oldest first, and a
// published history never changes after it is published.
func TestSamplerHistoryBound(t *testing.T) {
	n, err := actors.NewNode(actors.WithName("hist"))
	require.NoError(t, err)
	defer func() {
		_, err := n.Shutdown(context.Background())
		assert.NoError(t, err)
	}()
	t0 := time.Now()
	s := startSampler(n, func() bool { return true }, nil, time.Hour)
	s.sample(t0)
	var early []Rates
	for i := 1; i <= historyLen+10; i++ {
		s.sample(t0.Add(time.Duration(i) * time.Second))
		if i == 5 {
			early = s.cur.Load().history
		}
	}
	h := s.cur.Load().history
	require.Len(t, h, historyLen)
	assert.Equal(t, t0.Add(11*time.Second).UnixMilli(), h[0].T)
	assert.Equal(t, t0.Add(time.Duration(historyLen+10)*time.Second).UnixMilli(), h[len(h)-1].T)
	require.Len(t, early, 5)
	assert.Equal(t, t0.Add(time.Second).UnixMilli(), early[0].T, "published histories are immutable")
}

func TestEventTexts(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	boom := errors.New("boom")
	tests := []struct {
		e                   supervision.Event
		pool, worker, level string
		text                string
	}{
		{supervision.WorkerFailed{Pool: "p", Worker: "w", Reason: boom, Directive: supervision.Restart, Attempt: 2, At: at}, "p", "w", "warn", "failed (restart, attempt 2): boom"},
		{supervision.WorkerRestarted{Pool: "p", Worker: "w", Attempt: 2, Delay: 1234567 * time.Nanosecond, At: at}, "p", "w", "info", "restarted after 1.2ms (attempt 2)"},
		{supervision.WorkerRestarted{Pool: "p", Worker: "w", Reason: "recycled", At: at}, "p", "w", "info", "restarted at once: recycled"},
		{supervision.WorkerGaveUp{Pool: "p", Worker: "w", Reason: boom, Restarts: 6, At: at}, "p", "w", "error", "gave up after 6 restarts: boom"},
		{supervision.WorkerStuck{Pool: "p", Worker: "w", Elapsed: 1500 * time.Millisecond, At: at}, "p", "w", "warn", "stuck on one task for 1.5s"},
		{supervision.WorkerUnhealthy{Pool: "p", Worker: "w", Reason: boom, Failures: 3, At: at}, "p", "w", "warn", "unhealthy after 3 failed probes: boom"},
		{supervision.PoolFailed{Pool: "p", Reason: boom, Escalated: true, At: at}, "p", "", "error", "pool failed: boom (escalated past the node)"},
		{supervision.PoolStateChanged{Pool: "p", From: "running", To: "degraded", At: at}, "p", "", "warn", "pool running → degraded"},
		{supervision.BreakerStateChanged{Pool: "p", TaskType: "t", From: supervision.Closed, To: supervision.Open, At: at}, "p", "", "warn", "breaker of t closed → open"},
		{supervision.TaskQuarantined{Pool: "p", TaskID: "id", Crashes: 3, At: at}, "p", "", "warn", `task "id" quarantined after 3 crashes`},
		{supervision.PoolScaled{Pool: "p", From: 2, To: 4, Reason: "queue", At: at}, "p", "", "info", "scaled 2 → 4 workers (queue)"},
		{supervision.ResourcePressure{From: "normal", To: "soft", Memory: 3 << 20, CPUPercent: 50, At: at}, "", "", "warn", "resource pressure normal → soft (memory 3.0 MiB, cpu 50.0%)"},
	}
	for _, tt := range tests {
		t.Run(tt.e.Kind().String(), func(t *testing.T) {
			j := newEventJSON(tt.e)
			assert.Equal(t, eventJSON{Kind: tt.e.Kind().String(), T: at.UnixMilli(), Pool: tt.pool, Worker: tt.worker, Level: tt.level, Text: tt.text}, j)
		})
	}
}
