package supervision

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Each zero field takes its documented default on its own: the other
// fields, set to values that are not defaults, are kept as given.
func TestDefaultsPerField(t *testing.T) {
	const ms = time.Millisecond

	t.Run("Backoff", func(t *testing.T) {
		set := Backoff{Initial: 7 * ms, Max: 9 * time.Second, Multiplier: 3, Jitter: 0.5}
		tests := []struct {
			name string
			in   Backoff
			want Backoff
		}{
			{"all set", set, set},
			{"Initial zero", Backoff{Max: 9 * time.Second, Multiplier: 3, Jitter: 0.5},
				Backoff{Initial: 10 * ms, Max: 9 * time.Second, Multiplier: 3, Jitter: 0.5}},
			{"Max zero", Backoff{Initial: 7 * ms, Multiplier: 3, Jitter: 0.5},
				Backoff{Initial: 7 * ms, Max: 5 * time.Second, Multiplier: 3, Jitter: 0.5}},
			{"Multiplier zero", Backoff{Initial: 7 * ms, Max: 9 * time.Second, Jitter: 0.5},
				Backoff{Initial: 7 * ms, Max: 9 * time.Second, Multiplier: 2, Jitter: 0.5}},
			{"Jitter zero", Backoff{Initial: 7 * ms, Max: 9 * time.Second, Multiplier: 3},
				Backoff{Initial: 7 * ms, Max: 9 * time.Second, Multiplier: 3, Jitter: 0.2}},
			{"NoJitter alone", Backoff{Jitter: NoJitter},
				Backoff{Initial: 10 * ms, Max: 5 * time.Second, Multiplier: 2, Jitter: NoJitter}},
			{"all zero", Backoff{}, Backoff{Initial: 10 * ms, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.2}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assert.Equal(t, tt.want, tt.in.WithDefaults())
			})
		}
	})

	t.Run("Intensity", func(t *testing.T) {
		tests := []struct {
			name string
			in   Intensity
			want Intensity
		}{
			{"all set", Intensity{MaxRestarts: 7, Window: time.Minute}, Intensity{MaxRestarts: 7, Window: time.Minute}},
			{"MaxRestarts zero", Intensity{Window: time.Minute}, Intensity{MaxRestarts: 5, Window: time.Minute}},
			{"Window zero", Intensity{MaxRestarts: 7}, Intensity{MaxRestarts: 7, Window: 10 * time.Second}},
			{"NoRestarts alone", Intensity{MaxRestarts: NoRestarts}, Intensity{MaxRestarts: NoRestarts, Window: 10 * time.Second}},
			{"all zero", Intensity{}, Intensity{MaxRestarts: 5, Window: 10 * time.Second}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assert.Equal(t, tt.want, tt.in.WithDefaults())
			})
		}
	})

	t.Run("HealthPolicy", func(t *testing.T) {
		tests := []struct {
			name string
			in   HealthPolicy
			want HealthPolicy
		}{
			{"all set", HealthPolicy{Interval: 3 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 7},
				HealthPolicy{Interval: 3 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 7}},
			{"Interval zero", HealthPolicy{Timeout: 200 * ms, FailureThreshold: 7},
				HealthPolicy{Interval: time.Second, Timeout: 200 * ms, FailureThreshold: 7}},
			{"Timeout zero", HealthPolicy{Interval: 3 * time.Second, FailureThreshold: 7},
				HealthPolicy{Interval: 3 * time.Second, Timeout: 500 * ms, FailureThreshold: 7}},
			{"FailureThreshold zero", HealthPolicy{Interval: 3 * time.Second, Timeout: 2 * time.Second},
				HealthPolicy{Interval: 3 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 3}},
			{"all zero", HealthPolicy{}, HealthPolicy{Interval: time.Second, Timeout: 500 * ms, FailureThreshold: 3}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assert.Equal(t, tt.want, tt.in.WithDefaults())
			})
		}
	})

	t.Run("BreakerConfig", func(t *testing.T) {
		// OnStateChange has no default and cannot be compared: left nil.
		tests := []struct {
			name string
			in   BreakerConfig
			want BreakerConfig
		}{
			{"all set", BreakerConfig{FailureThreshold: 7, ResetTimeout: time.Minute, HalfOpenTrials: 4},
				BreakerConfig{FailureThreshold: 7, ResetTimeout: time.Minute, HalfOpenTrials: 4}},
			{"FailureThreshold zero", BreakerConfig{ResetTimeout: time.Minute, HalfOpenTrials: 4},
				BreakerConfig{FailureThreshold: 5, ResetTimeout: time.Minute, HalfOpenTrials: 4}},
			{"ResetTimeout zero", BreakerConfig{FailureThreshold: 7, HalfOpenTrials: 4},
				BreakerConfig{FailureThreshold: 7, ResetTimeout: 10 * time.Second, HalfOpenTrials: 4}},
			{"HalfOpenTrials zero", BreakerConfig{FailureThreshold: 7, ResetTimeout: time.Minute},
				BreakerConfig{FailureThreshold: 7, ResetTimeout: time.Minute, HalfOpenTrials: 1}},
			{"all zero", BreakerConfig{}, BreakerConfig{FailureThreshold: 5, ResetTimeout: 10 * time.Second, HalfOpenTrials: 1}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assert.Equal(t, tt.want, tt.in.WithDefaults())
			})
		}
	})
}

// A Backoff with only NoJitter set starts at the default Initial and
// doubles up to the default Max, without spread.
func TestDefaultBackoffNoJitter(t *testing.T) {
	b := Backoff{Jitter: NoJitter}
	for _, rnd := range []float64{0, 0.5, 0.99} {
		assert.Equal(t, 10*time.Millisecond, b.Next(0, rnd))
		assert.Equal(t, 20*time.Millisecond, b.Next(1, rnd))
		assert.Equal(t, 5*time.Second, b.Next(30, rnd))
	}
}
