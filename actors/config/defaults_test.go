package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/config"
	"github.com/drover-go/drover/supervision"
)

// A pool block that gives only some fields of restarts or backoff runs with
// the same configuration as the PoolConfig that sets only those fields in
// code: the file adds no defaults of its own.
func TestPartialBlocksTakeTheLibraryDefaults(t *testing.T) {
	tests := []struct {
		name  string
		block string
		code  actors.PoolConfig // the same pool, written in code
	}{
		{"no blocks", ``, actors.PoolConfig{}},
		{"empty backoff", `backoff {}`, actors.PoolConfig{}},
		{"only jitter", `backoff { jitter = 0.5 }`, actors.PoolConfig{Backoff: supervision.Backoff{Jitter: 0.5}}},
		{"jitter 0 is none", `backoff { jitter = 0 }`, actors.PoolConfig{Backoff: supervision.Backoff{Jitter: supervision.NoJitter}}},
		{"only initial", `backoff { initial = "50ms" }`, actors.PoolConfig{Backoff: supervision.Backoff{Initial: 50 * time.Millisecond}}},
		{"initial above the default max", `backoff { initial = "10s" }`, actors.PoolConfig{Backoff: supervision.Backoff{Initial: 10 * time.Second}}},
		{"only max", `backoff { max = "1s" }`, actors.PoolConfig{Backoff: supervision.Backoff{Max: time.Second}}},
		{"only multiplier", `backoff { multiplier = 3 }`, actors.PoolConfig{Backoff: supervision.Backoff{Multiplier: 3}}},
		{"empty restarts", `restarts {}`, actors.PoolConfig{}},
		{"only restarts max", `restarts { max = 7 }`, actors.PoolConfig{Restarts: supervision.Intensity{MaxRestarts: 7}}},
		{"restarts max 0 is never", `restarts { max = 0 }`, actors.PoolConfig{Restarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts}}},
		{"only restarts window", `restarts { window = "1m" }`, actors.PoolConfig{Restarts: supervision.Intensity{Window: time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte("pool \"p\" {\n"+tt.block+"\n}\n"), "t.hcl")
			require.NoError(t, err)
			require.Len(t, c.Pools, 1)
			tt.code.Name = "p"
			assert.Equal(t, tt.code.WithDefaults(), c.Pools[0].WithDefaults())
		})
	}
}

// The defaults the package doc and the sample file state, written out,
// give the same pool as leaving the fields out.
func TestDocumentedDefaultsMatchTheLibrary(t *testing.T) {
	tests := []struct {
		name, block string
	}{
		{"package doc and sample: restarts", `restarts {
  max    = 100
  window = "10s"
}`},
		{"package doc and sample: backoff", `backoff {
  initial    = "10ms"
  max        = "5s"
  multiplier = 2
  jitter     = 0.2
}`},
		{"package doc and sample: pool fields", `queue_capacity = 1024
stable_period = "1s"
concurrency = 1
strategy = "round-robin"`},
		{"package doc: process", `kind = "process"
process {
  command       = "w"
  start_timeout = "10s"
  kill_grace    = "2s"
}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			written, err := config.Parse([]byte("pool \"p\" {\n"+tt.block+"\n}\n"), "t.hcl")
			require.NoError(t, err)
			want := actors.PoolConfig{Name: "p", Kind: written.Pools[0].Kind}
			if want.Kind == actors.KindProcess {
				want.Process = &actors.ProcessConfig{Command: "w"}
			}
			assert.Equal(t, want.WithDefaults(), written.Pools[0].WithDefaults())
		})
	}

	// The sample's cpu pool writes out the restarts and backoff defaults.
	c, err := config.Load(samplePath)
	require.NoError(t, err)
	require.Equal(t, "cpu", c.Pools[0].Name)
	got, lib := c.Pools[0].WithDefaults(), actors.PoolConfig{Name: "cpu"}.WithDefaults()
	assert.Equal(t, lib.Restarts, got.Restarts)
	assert.Equal(t, lib.Backoff, got.Backoff)
	assert.Equal(t, lib.QueueCapacity, got.QueueCapacity)
	assert.Equal(t, lib.PoolRestarts, got.PoolRestarts)
	assert.Equal(t, lib.QuarantineAfter, got.QuarantineAfter)
	assert.Equal(t, lib.StuckGrace, got.StuckGrace)
	assert.Equal(t, lib.StablePeriod, got.StablePeriod)

	// The io pool writes out the health and breaker defaults, and the
	// burst pool the scale policy's.
	io, burst := c.Pools[1].WithDefaults(), c.Pools[3].WithDefaults()
	require.NotNil(t, io.Health)
	require.NotNil(t, io.Breaker)
	assert.Equal(t, supervision.HealthPolicy{}.WithDefaults(), *io.Health)
	assert.Equal(t, supervision.BreakerConfig{}.WithDefaults(), *io.Breaker)
	assert.Equal(t, actors.BreakerPoolFaults, io.BreakerScope)
	dyn := actors.PoolConfig{Name: "burst", Kind: actors.KindIO, MaxWorkers: 8}.WithDefaults()
	assert.Equal(t, dyn.Scale, burst.Scale)
	assert.Equal(t, actors.ResourceLimits{Interval: actors.DefaultResourceInterval, Window: 5 * actors.DefaultResourceInterval},
		actors.ResourceLimits{Interval: c.Limits.Interval, Window: c.Limits.Window})
}
