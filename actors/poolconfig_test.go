package actors_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// givenPool sets every field that has a default to a value that is not the
// default, so that a case can zero one field and see only that one change.
func givenPool() actors.PoolConfig {
	return actors.PoolConfig{
		Name:            "p",
		Kind:            actors.KindIO,
		Workers:         3,
		MinWorkers:      2,
		MaxWorkers:      5,
		Concurrency:     7,
		Strategy:        "p2c",
		QueueCapacity:   10,
		Restarts:        supervision.Intensity{MaxRestarts: 7, Window: 2 * time.Minute},
		PoolRestarts:    supervision.Intensity{MaxRestarts: 9, Window: 3 * time.Minute},
		Backoff:         supervision.Backoff{Initial: 3 * time.Millisecond, Max: 9 * time.Second, Multiplier: 3, Jitter: 0.5},
		StablePeriod:    4 * time.Second,
		StuckGrace:      6 * time.Second,
		QuarantineAfter: 8,
		Scale: actors.ScalePolicy{
			Interval: time.Second, UpUtilization: 0.9, UpAfter: 4, DownUtilization: 0.1, Cooldown: time.Minute,
		},
		Health:  &supervision.HealthPolicy{Interval: 3 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 7},
		Breaker: &supervision.BreakerConfig{FailureThreshold: 7, ResetTimeout: time.Minute, HalfOpenTrials: 4},
	}
}

// Each zero field of a PoolConfig, and of its Restarts, PoolRestarts,
// Backoff, Scale, Health and Breaker, takes its default on its own; every
// other field keeps its value.
func TestPoolConfigDefaultsPerField(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		zero func(*actors.PoolConfig) // zeroes one field
		want func(*actors.PoolConfig) // sets that field to its default
	}{
		{"Concurrency", func(c *actors.PoolConfig) { c.Concurrency = 0 }, func(c *actors.PoolConfig) { c.Concurrency = 64 }},
		{"Strategy", func(c *actors.PoolConfig) { c.Strategy = "" }, func(c *actors.PoolConfig) { c.Strategy = "round-robin" }},
		{"QueueCapacity", func(c *actors.PoolConfig) { c.QueueCapacity = 0 }, func(c *actors.PoolConfig) { c.QueueCapacity = 1024 }},
		{"StablePeriod", func(c *actors.PoolConfig) { c.StablePeriod = 0 }, func(c *actors.PoolConfig) { c.StablePeriod = time.Second }},
		{"StuckGrace", func(c *actors.PoolConfig) { c.StuckGrace = 0 }, func(c *actors.PoolConfig) { c.StuckGrace = time.Second }},
		{"QuarantineAfter", func(c *actors.PoolConfig) { c.QuarantineAfter = 0 }, func(c *actors.PoolConfig) { c.QuarantineAfter = 3 }},

		{"Restarts.MaxRestarts", func(c *actors.PoolConfig) { c.Restarts.MaxRestarts = 0 }, func(c *actors.PoolConfig) { c.Restarts.MaxRestarts = 100 }},
		{"Restarts.Window", func(c *actors.PoolConfig) { c.Restarts.Window = 0 }, func(c *actors.PoolConfig) { c.Restarts.Window = 10 * time.Second }},
		{"PoolRestarts.MaxRestarts", func(c *actors.PoolConfig) { c.PoolRestarts.MaxRestarts = 0 }, func(c *actors.PoolConfig) { c.PoolRestarts.MaxRestarts = 3 }},
		{"PoolRestarts.Window", func(c *actors.PoolConfig) { c.PoolRestarts.Window = 0 }, func(c *actors.PoolConfig) { c.PoolRestarts.Window = time.Minute }},

		{"Backoff.Initial", func(c *actors.PoolConfig) { c.Backoff.Initial = 0 }, func(c *actors.PoolConfig) { c.Backoff.Initial = 10 * ms }},
		{"Backoff.Max", func(c *actors.PoolConfig) { c.Backoff.Max = 0 }, func(c *actors.PoolConfig) { c.Backoff.Max = 5 * time.Second }},
		{"Backoff.Multiplier", func(c *actors.PoolConfig) { c.Backoff.Multiplier = 0 }, func(c *actors.PoolConfig) { c.Backoff.Multiplier = 2 }},
		{"Backoff.Jitter", func(c *actors.PoolConfig) { c.Backoff.Jitter = 0 }, func(c *actors.PoolConfig) { c.Backoff.Jitter = 0.2 }},

		{"Scale.Interval", func(c *actors.PoolConfig) { c.Scale.Interval = 0 }, func(c *actors.PoolConfig) { c.Scale.Interval = 250 * ms }},
		{"Scale.UpUtilization", func(c *actors.PoolConfig) { c.Scale.UpUtilization = 0 }, func(c *actors.PoolConfig) { c.Scale.UpUtilization = 0.8 }},
		{"Scale.UpAfter", func(c *actors.PoolConfig) { c.Scale.UpAfter = 0 }, func(c *actors.PoolConfig) { c.Scale.UpAfter = 2 }},
		{"Scale.DownUtilization", func(c *actors.PoolConfig) { c.Scale.DownUtilization = 0 }, func(c *actors.PoolConfig) { c.Scale.DownUtilization = 0.3 }},
		{"Scale.Cooldown", func(c *actors.PoolConfig) { c.Scale.Cooldown = 0 }, func(c *actors.PoolConfig) { c.Scale.Cooldown = 5 * time.Second }},

		{"Health.Interval", func(c *actors.PoolConfig) { c.Health.Interval = 0 }, func(c *actors.PoolConfig) { c.Health.Interval = time.Second }},
		{"Health.Timeout", func(c *actors.PoolConfig) { c.Health.Timeout = 0 }, func(c *actors.PoolConfig) { c.Health.Timeout = 500 * ms }},
		{"Health.FailureThreshold", func(c *actors.PoolConfig) { c.Health.FailureThreshold = 0 }, func(c *actors.PoolConfig) { c.Health.FailureThreshold = 3 }},

		{"Breaker.FailureThreshold", func(c *actors.PoolConfig) { c.Breaker.FailureThreshold = 0 }, func(c *actors.PoolConfig) { c.Breaker.FailureThreshold = 5 }},
		{"Breaker.ResetTimeout", func(c *actors.PoolConfig) { c.Breaker.ResetTimeout = 0 }, func(c *actors.PoolConfig) { c.Breaker.ResetTimeout = 10 * time.Second }},
		{"Breaker.HalfOpenTrials", func(c *actors.PoolConfig) { c.Breaker.HalfOpenTrials = 0 }, func(c *actors.PoolConfig) { c.Breaker.HalfOpenTrials = 1 }},
	}
	given := givenPool()
	require.Equal(t, given, given.WithDefaults(), "no field of givenPool is zero")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, want := givenPool(), givenPool()
			tt.zero(&in)
			tt.want(&want)
			assert.Equal(t, want, in.WithDefaults())
		})
	}
}

// The fields whose default depends on the kind and on the other fields.
func TestPoolConfigDefaultsByKind(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	type sizes struct{ workers, min, max, concurrency int }
	tests := []struct {
		name string
		in   actors.PoolConfig
		want sizes
	}{
		{"cpu", actors.PoolConfig{Kind: actors.KindCPU}, sizes{procs, procs, procs, 1}},
		{"io", actors.PoolConfig{Kind: actors.KindIO}, sizes{4, 4, 4, 64}},
		{"mixed", actors.PoolConfig{Kind: actors.KindMixed}, sizes{procs, procs, procs, 4}},
		{"process", actors.PoolConfig{Kind: actors.KindProcess, Process: &actors.ProcessConfig{Command: "w"}}, sizes{4, 4, 4, 1}},
		{"workers given", actors.PoolConfig{Kind: actors.KindIO, Workers: 2}, sizes{2, 2, 2, 64}},
		{"dynamic: MinWorkers", actors.PoolConfig{Kind: actors.KindIO, MaxWorkers: 8}, sizes{1, 1, 8, 64}},
		{"dynamic: Workers starts at MinWorkers", actors.PoolConfig{MinWorkers: 3, MaxWorkers: 8}, sizes{3, 3, 8, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.WithDefaults()
			assert.Equal(t, tt.want, sizes{got.Workers, got.MinWorkers, got.MaxWorkers, got.Concurrency})
		})
	}
}

func TestProcessConfigDefaultsPerField(t *testing.T) {
	tests := []struct {
		name string
		in   actors.ProcessConfig
		want actors.ProcessConfig
	}{
		{"StartTimeout", actors.ProcessConfig{Command: "w", KillGrace: time.Second, StderrLevel: 2},
			actors.ProcessConfig{Command: "w", StartTimeout: 10 * time.Second, KillGrace: time.Second, StderrLevel: 2}},
		{"KillGrace", actors.ProcessConfig{Command: "w", StartTimeout: time.Second, StderrLevel: 2},
			actors.ProcessConfig{Command: "w", StartTimeout: time.Second, KillGrace: 2 * time.Second, StderrLevel: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := actors.PoolConfig{Name: "p", Kind: actors.KindProcess, Process: &tt.in}.WithDefaults()
			assert.Equal(t, tt.want, *got.Process)
		})
	}
	// A process pool's StuckGrace lets the child's own kill sequence run first.
	got := actors.PoolConfig{Kind: actors.KindProcess, Process: &actors.ProcessConfig{Command: "w", KillGrace: 3 * time.Second}}.WithDefaults()
	assert.Equal(t, 7*time.Second, got.StuckGrace)
}

// A pool's Backoff defaults are supervision's, field by field: a Backoff
// with only NoJitter set starts at the documented Initial, 10ms.
func TestPoolConfigDefaultBackoff(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		in   supervision.Backoff
		want supervision.Backoff
	}{
		{"zero", supervision.Backoff{}, supervision.Backoff{Initial: 10 * ms, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.2}},
		{"NoJitter", supervision.Backoff{Jitter: supervision.NoJitter},
			supervision.Backoff{Initial: 10 * ms, Max: 5 * time.Second, Multiplier: 2, Jitter: supervision.NoJitter}},
		{"Max only", supervision.Backoff{Max: time.Second}, supervision.Backoff{Initial: 10 * ms, Max: time.Second, Multiplier: 2, Jitter: 0.2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := actors.PoolConfig{Name: "p", Backoff: tt.in}.WithDefaults().Backoff
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in.WithDefaults(), got, "the same as a bare supervision.Backoff")
		})
	}
	b := actors.PoolConfig{Backoff: supervision.Backoff{Jitter: supervision.NoJitter}}.WithDefaults().Backoff
	assert.Equal(t, 10*ms, b.Next(0, 0))
	assert.Equal(t, 20*ms, b.Next(1, 0.9))
}

// A pool's restart budgets have defaults of their own, field by field, and
// keep NoRestarts.
func TestPoolConfigDefaultRestarts(t *testing.T) {
	tests := []struct {
		name                   string
		in                     supervision.Intensity
		wantRestarts, wantPool supervision.Intensity
	}{
		{"zero", supervision.Intensity{},
			supervision.Intensity{MaxRestarts: 100, Window: 10 * time.Second}, supervision.Intensity{MaxRestarts: 3, Window: time.Minute}},
		{"NoRestarts", supervision.Intensity{MaxRestarts: supervision.NoRestarts},
			supervision.Intensity{MaxRestarts: supervision.NoRestarts, Window: 10 * time.Second},
			supervision.Intensity{MaxRestarts: supervision.NoRestarts, Window: time.Minute}},
		{"Window only", supervision.Intensity{Window: time.Hour},
			supervision.Intensity{MaxRestarts: 100, Window: time.Hour}, supervision.Intensity{MaxRestarts: 3, Window: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := actors.PoolConfig{Name: "p", Restarts: tt.in, PoolRestarts: tt.in}.WithDefaults()
			assert.Equal(t, tt.wantRestarts, got.Restarts)
			assert.Equal(t, tt.wantPool, got.PoolRestarts)
		})
	}
}

// A field outside its range is refused with its name and the allowed range.
func TestPoolConfigValidateNamesField(t *testing.T) {
	tests := []struct {
		name string
		pool actors.PoolConfig
		msg  string
	}{
		{"workers above the limit", actors.PoolConfig{Name: "p", Workers: actors.MaxPoolWorkers + 1},
			`pool "p": Workers is 65537; allowed: 1 to 65536`},
		{"max workers above the limit", actors.PoolConfig{Name: "p", MaxWorkers: actors.MaxPoolWorkers + 1},
			`pool "p": MaxWorkers is 65537; allowed: 0 (a fixed pool) to 65536`},
		{"concurrency above the limit", actors.PoolConfig{Name: "p", Concurrency: actors.MaxConcurrency + 1},
			`pool "p": Concurrency is 65537; allowed: 1 to 65536`},
		{"queue above the limit", actors.PoolConfig{Name: "p", QueueCapacity: actors.MaxQueueCapacity + 1},
			`pool "p": QueueCapacity is 67108865; allowed: 1 to 67108864`},
		{"retries above the limit", actors.PoolConfig{Name: "p", Retry: actors.RetryPolicy{MaxAttempts: actors.MaxRetryAttempts + 1}},
			`pool "p": Retry.MaxAttempts is 65536; allowed: 0 or 1 (no retry) to 65535`},
		{"quarantine", actors.PoolConfig{Name: "p", QuarantineAfter: -2},
			`pool "p": QuarantineAfter is -2; allowed: 1 or more, 0 (default 3) or NoQuarantine (-1)`},
		{"scale interval", actors.PoolConfig{Name: "p", MaxWorkers: 2, Scale: actors.ScalePolicy{Interval: -1}},
			`pool "p": Scale.Interval is -1ns; allowed: 0 (default 250ms) or more`},
		{"restarts", actors.PoolConfig{Name: "p", Restarts: supervision.Intensity{MaxRestarts: -2}},
			`pool "p": Restarts: supervision: Intensity.MaxRestarts is -2; allowed: >= 0 (0 means the default), or NoRestarts (-1)`},
		{"pool restarts", actors.PoolConfig{Name: "p", PoolRestarts: supervision.Intensity{Window: -time.Second}},
			`pool "p": PoolRestarts: supervision: Intensity.Window is -1s; allowed: >= 0 (0 means the default)`},
		{"total restarts", actors.PoolConfig{Name: "p", TotalRestarts: supervision.Intensity{MaxRestarts: -3}},
			`pool "p": TotalRestarts: supervision: Intensity.MaxRestarts is -3; allowed: >= 0 (0 means the default), or NoRestarts (-1)`},
		{"backoff", actors.PoolConfig{Name: "p", Backoff: supervision.Backoff{Multiplier: 0.5}},
			`pool "p": supervision: Backoff.Multiplier is 0.5; allowed: >= 1 and finite (0 means the default, 2)`},
		{"health", actors.PoolConfig{Name: "p", Health: &supervision.HealthPolicy{Interval: 100 * time.Millisecond}},
			`pool "p": Health: supervision: HealthPolicy.Timeout is 500ms; allowed: <= Interval (100ms)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := actors.NewNode(actors.WithPool(tt.pool))
			require.ErrorIs(t, err, actors.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}
