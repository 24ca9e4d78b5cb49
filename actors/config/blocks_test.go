package config_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/config"
	"github.com/drover-go/drover/supervision"
)

// startNode runs the node c describes, with extra options, until the test
// ends.
func startNode(t *testing.T, c *config.Config, extra ...actors.Option) *actors.Node {
	t.Helper()
	opts, err := c.NodeOptions(nil)
	require.NoError(t, err)
	n, err := actors.NewNode(append(opts, extra...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = n.Shutdown(ctx)
	})
	return n
}

// A file that sets every block builds a node with exactly those settings,
// the ones it leaves out at the library's defaults.
func TestEveryBlockReachesTheNode(t *testing.T) {
	c, err := config.Parse([]byte(`
limits {
  memory_soft = "1GiB"
  memory_hard = "2GiB"
  cpu_percent = 90
  interval    = "250ms"
  window      = "2s"
}
pool "all" {
  kind             = "mixed"
  workers          = 3
  min_workers      = 2
  max_workers      = 5
  concurrency      = 2
  strategy         = "weighted"
  weights          = [4, 2]
  queue_capacity   = 77
  task_timeout     = "3s"
  stable_period    = "2s"
  aging            = "100ms"
  shed             = true
  stuck_grace      = "4s"
  quarantine_after = 5
  restarts {
    max    = 9
    window = "20s"
    scope  = "rest-for-one"
  }
  total_restarts {
    max    = 20
    window = "30s"
  }
  pool_restarts {
    max    = 2
    window = "5m"
  }
  backoff {
    initial    = "20ms"
    max        = "2s"
    multiplier = 3
    jitter     = 0.1
  }
  scale {
    interval         = "100ms"
    up_utilization   = 0.9
    up_after         = 3
    down_utilization = 0.2
    cooldown         = "10s"
  }
  health {
    interval          = "2s"
    timeout           = "1s"
    failure_threshold = 4
  }
  breaker {
    failure_threshold = 7
    reset_timeout     = "30s"
    half_open_trials  = 2
    scope             = "all-results"
  }
  retry {
    max_attempts = 4
    backoff {
      initial = "5ms"
      max     = "50ms"
    }
  }
}
pool "never" {
  quarantine_after = 0
  restarts {
    max = 0
  }
  total_restarts {
    max = 0
  }
}
`), "every.hcl")
	require.NoError(t, err)
	n := startNode(t, c)

	want := actors.PoolConfig{
		Name: "all", Kind: actors.KindMixed, Workers: 3, MinWorkers: 2, MaxWorkers: 5, Concurrency: 2,
		Strategy: "weighted", Weights: []int{4, 2}, QueueCapacity: 77, TaskTimeout: 3 * time.Second,
		StablePeriod: 2 * time.Second, Aging: 100 * time.Millisecond, Shed: true, StuckGrace: 4 * time.Second,
		QuarantineAfter: 5,
		Restarts:        supervision.Intensity{MaxRestarts: 9, Window: 20 * time.Second},
		Scope:           supervision.RestForOne,
		TotalRestarts:   supervision.Intensity{MaxRestarts: 20, Window: 30 * time.Second},
		PoolRestarts:    supervision.Intensity{MaxRestarts: 2, Window: 5 * time.Minute},
		Backoff:         supervision.Backoff{Initial: 20 * time.Millisecond, Max: 2 * time.Second, Multiplier: 3, Jitter: 0.1},
		Scale: actors.ScalePolicy{Interval: 100 * time.Millisecond, UpUtilization: 0.9, UpAfter: 3,
			DownUtilization: 0.2, Cooldown: 10 * time.Second},
		Health:       &supervision.HealthPolicy{Interval: 2 * time.Second, Timeout: time.Second, FailureThreshold: 4},
		Breaker:      &supervision.BreakerConfig{FailureThreshold: 7, ResetTimeout: 30 * time.Second, HalfOpenTrials: 2},
		BreakerScope: actors.BreakerAllResults,
		Retry: actors.RetryPolicy{MaxAttempts: 4,
			Backoff: supervision.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}},
	}
	never := actors.PoolConfig{Name: "never", QuarantineAfter: actors.NoQuarantine,
		Restarts:      supervision.Intensity{MaxRestarts: supervision.NoRestarts},
		TotalRestarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts}}
	got := n.PoolConfigs()
	require.Len(t, got, 2)
	assert.Equal(t, want.WithDefaults(), got[0])
	assert.Equal(t, never.WithDefaults(), got[1])
	assert.Equal(t, actors.ResourceLimits{MemorySoft: 1 << 30, MemoryHard: 2 << 30, CPUPercent: 90,
		Interval: 250 * time.Millisecond, Window: 2 * time.Second}, n.ResourceLimits())

	st := n.Stats().Pools[0]
	require.Len(t, st.WorkerStats, 3)
	assert.Equal(t, []int{4, 2, 1}, []int{st.WorkerStats[0].Weight, st.WorkerStats[1].Weight, st.WorkerStats[2].Weight})
	assert.Equal(t, map[string]supervision.State{"": supervision.Closed}, st.Breakers)
}

// heapBytes reads the figure the node's resource monitor compares with
// its memory limits: the bytes of live and unswept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A limits block makes the node refuse low priorities once the heap grows
// past memory_soft, and take them again once it shrinks.
func TestLimitsRefuseLowPrioritiesUnderMemoryPressure(t *testing.T) {
	runtime.GC()
	soft := heapBytes() + 128<<20 // room for the garbage the node makes meanwhile
	c, err := config.Parse([]byte(`
limits {
  memory_soft = "`+strconv.FormatUint(soft, 10)+`"
  memory_hard = "64GiB"
  interval    = "10ms"
}
pool "p" {
  workers = 1
}
`), "limits.hcl")
	require.NoError(t, err)
	pressure := make(chan supervision.ResourcePressure, 16)
	n := startNode(t, c, actors.WithEventHook(func(e supervision.Event) {
		if p, ok := e.(supervision.ResourcePressure); ok {
			pressure <- p
		}
	}))
	waitPressure := func(to string) supervision.ResourcePressure {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case p := <-pressure:
				if p.To == to {
					return p
				}
			case <-timeout:
				t.Fatalf("no move to %s pressure within 10s (heap %d, soft limit %d)", to, heapBytes(), soft)
			}
		}
	}
	low := actors.Task{Pool: "p", Priority: actors.PriorityLow, Func: func(context.Context) (any, error) { return nil, nil }}
	f, err := n.TrySubmit(low)
	require.NoError(t, err, "no pressure before the push")
	<-f.Done()

	held := make([][]byte, 0, 32)
	for range 32 {
		held = append(held, make([]byte, 8<<20)) // 256 MiB in all, held until the node reports it
	}
	p := waitPressure("soft")
	assert.Greater(t, p.Memory, soft)
	_, err = n.TrySubmit(low)
	require.ErrorIs(t, err, actors.ErrResource)
	normal := low
	normal.Priority = actors.PriorityNormal
	f, err = n.TrySubmit(normal)
	require.NoError(t, err, "a soft limit refuses only low priorities")
	<-f.Done()
	assert.Equal(t, "soft", n.Stats().Pressure)

	runtime.KeepAlive(held)
	held = nil
	runtime.GC()
	waitPressure("normal")
	f, err = n.TrySubmit(low)
	require.NoError(t, err)
	<-f.Done()
}
