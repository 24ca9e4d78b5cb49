package supervision

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoffWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Backoff
		want Backoff
	}{
		{"zero", Backoff{}, Backoff{Initial: 10 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.2}},
		{"set fields kept", Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 3, Jitter: 0.5},
			Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 3, Jitter: 0.5}},
		{"no jitter kept", Backoff{Jitter: NoJitter}, Backoff{Initial: 10 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: NoJitter}},
		{"max follows a large initial", Backoff{Initial: time.Minute}, Backoff{Initial: time.Minute, Max: time.Minute, Multiplier: 2, Jitter: 0.2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.in.WithDefaults())
		})
	}
}

func TestBackoffValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Backoff
		wantErr []string // each ConfigError message expected, in order
	}{
		{name: "zero", in: Backoff{}},
		{name: "explicit", in: Backoff{Initial: time.Second, Max: 2 * time.Second, Multiplier: 1, Jitter: 1}},
		{name: "no jitter", in: Backoff{Jitter: NoJitter}},
		{name: "large initial with default max", in: Backoff{Initial: time.Hour}},
		{name: "negative initial", in: Backoff{Initial: -time.Second},
			wantErr: []string{"supervision: Backoff.Initial is -1s; allowed: >= 0 (0 means the default)"}},
		{name: "negative max", in: Backoff{Max: -1},
			wantErr: []string{"supervision: Backoff.Max is -1ns; allowed: >= 0 (0 means the default)"}},
		{name: "multiplier below 1", in: Backoff{Multiplier: 0.5},
			wantErr: []string{"supervision: Backoff.Multiplier is 0.5; allowed: >= 1 and finite (0 means the default, 2)"}},
		{name: "multiplier NaN", in: Backoff{Multiplier: math.NaN()},
			wantErr: []string{"supervision: Backoff.Multiplier is NaN; allowed: >= 1 and finite (0 means the default, 2)"}},
		{name: "multiplier infinite", in: Backoff{Multiplier: math.Inf(1)},
			wantErr: []string{"supervision: Backoff.Multiplier is +Inf; allowed: >= 1 and finite (0 means the default, 2)"}},
		{name: "jitter above 1", in: Backoff{Jitter: 1.5},
			wantErr: []string{"supervision: Backoff.Jitter is 1.5; allowed: <= 1 (0 means the default, 0.2; negative means none)"}},
		{name: "jitter NaN", in: Backoff{Jitter: math.NaN()},
			wantErr: []string{"supervision: Backoff.Jitter is NaN; allowed: <= 1 (0 means the default, 0.2; negative means none)"}},
		{name: "max below initial", in: Backoff{Initial: time.Second, Max: 500 * time.Millisecond},
			wantErr: []string{"supervision: Backoff.Max is 500ms; allowed: >= Initial (1s)"}},
		{name: "max below default initial", in: Backoff{Max: time.Millisecond},
			wantErr: []string{"supervision: Backoff.Max is 1ms; allowed: >= Initial (10ms)"}},
		{name: "several", in: Backoff{Initial: -1, Multiplier: 0.1},
			wantErr: []string{
				"supervision: Backoff.Initial is -1ns; allowed: >= 0 (0 means the default)",
				"supervision: Backoff.Multiplier is 0.1; allowed: >= 1 and finite (0 means the default, 2)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			assertConfigErrors(t, err, tt.wantErr)
		})
	}
}

// assertConfigErrors checks that err is nil when want is empty, and
// otherwise matches ErrInvalidConfig and holds one *ConfigError per wanted
// message, in order.
func assertConfigErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		assert.NoError(t, err)
		return
	}
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	var got []string
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			var ce *ConfigError
			require.True(t, errors.As(e, &ce), "%T is not a *ConfigError", e)
			got = append(got, ce.Error())
		}
	} else {
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%T is not a *ConfigError", err)
		got = append(got, ce.Error())
	}
	assert.Equal(t, want, got)
}

func TestBackoffNext(t *testing.T) {
	const ms = time.Millisecond
	noJitter := Backoff{Jitter: NoJitter}
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{"first", noJitter, 0, 0.3, 10 * ms},
		{"second", noJitter, 1, 0.3, 20 * ms},
		{"fifth", noJitter, 4, 0.3, 160 * ms},
		{"ninth", noJitter, 8, 0.3, 2560 * ms},
		{"capped", noJitter, 9, 0.3, 5 * time.Second},
		{"far past the cap", noJitter, 1 << 20, 0.3, 5 * time.Second},
		{"negative attempt counts as 0", noJitter, -5, 0.3, 10 * ms},
		{"multiplier 1 is constant", Backoff{Initial: time.Second, Multiplier: 1, Jitter: NoJitter}, 50, 0, time.Second},
		{"multiplier 3", Backoff{Initial: ms, Multiplier: 3, Jitter: NoJitter}, 3, 0, 27 * ms},
		{"jitter: rnd 0.5 is the middle", Backoff{}, 2, 0.5, 40 * ms},
		{"jitter: rnd 0 is -Jitter", Backoff{}, 2, 0, 32 * ms},
		{"jitter: rnd 0.75 is +Jitter/2", Backoff{}, 2, 0.75, 44 * ms},
		{"jitter: rnd below 0 counts as 0", Backoff{}, 2, -3, 32 * ms},
		{"jitter: rnd NaN counts as 0", Backoff{}, 2, math.NaN(), 32 * ms},
		{"jitter: rnd 1 counts as just below 1", Backoff{}, 2, 1, 48 * ms},
		{"jitter: rnd above 1 counts as just below 1", Backoff{}, 2, 7, 48 * ms},
		{"jitter at the cap is clamped to Max", Backoff{}, 20, 0.99, 5 * time.Second},
		{"jitter at the cap spreads below Max", Backoff{}, 20, 0, 4 * time.Second},
		{"full jitter can reach 0", Backoff{Jitter: 1}, 3, 0, 0},
		{"jitter above 1 counts as 1", Backoff{Jitter: 5}, 3, 0, 0},
		{"initial above max gives max", Backoff{Initial: time.Second, Max: ms, Jitter: NoJitter}, 0, 0, ms},
		{"multiplier below 1 counts as 1", Backoff{Initial: time.Second, Multiplier: 0.5, Jitter: NoJitter}, 3, 0, time.Second},
		{"negative initial gives 0", Backoff{Initial: -time.Second}, 3, 0.5, 0},
		{"max of MaxInt64 does not overflow", Backoff{Max: math.MaxInt64, Jitter: NoJitter}, 1 << 20, 0, math.MaxInt64},
		{"infinite multiplier gives max", Backoff{Multiplier: math.Inf(1), Jitter: NoJitter}, 1, 0, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.b.Next(tt.attempt, tt.rnd)
			assert.InDelta(t, float64(tt.want), float64(got), 1, "got %v", got)
		})
	}
}

func TestBackoffNextBounds(t *testing.T) {
	configs := []struct {
		name string
		b    Backoff
	}{
		{"default", Backoff{}},
		{"full jitter", Backoff{Jitter: 1}},
		{"slow growth", Backoff{Initial: time.Microsecond, Max: time.Hour, Multiplier: 1.1, Jitter: 0.5}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			max := c.b.WithDefaults().Max
			prev := time.Duration(0)
			for attempt := 0; attempt < 400; attempt++ {
				for _, rnd := range []float64{0, 0.001, 0.25, 0.5, 0.75, 0.999999} {
					d := c.b.Next(attempt, rnd)
					require.GreaterOrEqual(t, d, time.Duration(0), "attempt %d rnd %v", attempt, rnd)
					require.LessOrEqual(t, d, max, "attempt %d rnd %v", attempt, rnd)
				}
				// Without jitter (rnd 0.5) the delays never shrink.
				mid := c.b.Next(attempt, 0.5)
				require.GreaterOrEqual(t, mid, prev, "attempt %d", attempt)
				prev = mid
			}
		})
	}
}

func TestNewAttempts(t *testing.T) {
	tests := []struct {
		name    string
		stable  time.Duration
		want    time.Duration
		wantErr []string
	}{
		{name: "zero means default", stable: 0, want: 10 * time.Second},
		{name: "explicit", stable: time.Minute, want: time.Minute},
		{name: "negative", stable: -time.Second,
			wantErr: []string{"supervision: StablePeriod is -1s; allowed: >= 0 (0 means the default)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAttempts(tt.stable, nil)
			assertConfigErrors(t, err, tt.wantErr)
			if err == nil {
				assert.Equal(t, tt.want, a.StablePeriod())
			}
		})
	}
}

func TestAttempts(t *testing.T) {
	type step struct {
		op   string // "fail", "start", "wait", "reset"
		d    time.Duration
		want int // Failure's result for "fail", Count after the step otherwise
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"consecutive failures count up", []step{
			{op: "fail", want: 1}, {op: "fail", want: 2}, {op: "fail", want: 3},
		}},
		{"stable period after the last failure resets", []step{
			{op: "fail", want: 1}, {op: "fail", want: 2},
			{op: "wait", d: 9 * time.Second, want: 2},
			{op: "wait", d: time.Second, want: 0},
			{op: "fail", want: 1},
		}},
		{"a failure just inside the period continues the count", []step{
			{op: "fail", want: 1},
			{op: "wait", d: 10*time.Second - 1, want: 1},
			{op: "fail", want: 2},
		}},
		{"started moves the start of the period", []step{
			{op: "fail", want: 1},
			{op: "wait", d: 8 * time.Second, want: 1}, // the backoff delay
			{op: "start", want: 1},
			{op: "wait", d: 8 * time.Second, want: 1}, // 16s after the failure, 8s up
			{op: "fail", want: 2},
			{op: "start", want: 2},
			{op: "wait", d: 10 * time.Second, want: 0},
			{op: "fail", want: 1},
		}},
		{"reset", []step{
			{op: "fail", want: 1}, {op: "fail", want: 2},
			{op: "reset", want: 0},
			{op: "fail", want: 1},
		}},
		{"started before any failure", []step{
			{op: "start", want: 0},
			{op: "fail", want: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			a, err := NewAttempts(10*time.Second, clock.Now)
			require.NoError(t, err)
			for i, s := range tt.steps {
				var got int
				switch s.op {
				case "fail":
					got = a.Failure()
				case "start":
					a.Started()
					got = a.Count()
				case "wait":
					clock.Advance(s.d)
					got = a.Count()
				case "reset":
					a.Reset()
					got = a.Count()
				}
				require.Equal(t, s.want, got, "step %d (%s)", i, s.op)
			}
		})
	}
}
