package supervision

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHealthPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      HealthPolicy
		wantErr []string
	}{
		{name: "zero", in: HealthPolicy{}},
		{name: "explicit", in: HealthPolicy{Interval: 5 * time.Second, Timeout: time.Second, FailureThreshold: 2}},
		{name: "timeout equal to interval", in: HealthPolicy{Interval: time.Second, Timeout: time.Second}},
		{name: "negative interval", in: HealthPolicy{Interval: -time.Second},
			wantErr: []string{"supervision: HealthPolicy.Interval is -1s; allowed: >= 0 (0 means the default)"}},
		{name: "negative timeout and threshold", in: HealthPolicy{Timeout: -1, FailureThreshold: -1},
			wantErr: []string{
				"supervision: HealthPolicy.Timeout is -1ns; allowed: >= 0 (0 means the default)",
				"supervision: HealthPolicy.FailureThreshold is -1; allowed: >= 0 (0 means the default)",
			}},
		{name: "timeout above interval", in: HealthPolicy{Interval: time.Second, Timeout: 2 * time.Second},
			wantErr: []string{"supervision: HealthPolicy.Timeout is 2s; allowed: <= Interval (1s)"}},
		{name: "timeout above default interval", in: HealthPolicy{Timeout: 3 * time.Second},
			wantErr: []string{"supervision: HealthPolicy.Timeout is 3s; allowed: <= Interval (1s)"}},
		{name: "default timeout above a short interval", in: HealthPolicy{Interval: 100 * time.Millisecond},
			wantErr: []string{"supervision: HealthPolicy.Timeout is 500ms; allowed: <= Interval (100ms)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertConfigErrors(t, tt.in.Validate(), tt.wantErr)
			_, err := NewHealthTracker(tt.in)
			assertConfigErrors(t, err, tt.wantErr)
		})
	}
}

func TestHealthPolicyWithDefaults(t *testing.T) {
	assert.Equal(t, HealthPolicy{Interval: time.Second, Timeout: 500 * time.Millisecond, FailureThreshold: 3}, HealthPolicy{}.WithDefaults())
}

func TestHealthTracker(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		probes    string // 'o' ok, 'x' failed
		became    string // Observe's result per probe: '!' true, '.' false
		healthy   string // Healthy() after each probe: 'h' or 'u'
	}{
		{"all ok", 3, "oooo", "....", "hhhh"},
		{"threshold reached", 3, "xxxx", "..!.", "hhuu"},
		{"success resets the count", 3, "xxoxxox", ".......", "hhhhhhh"},
		{"recovers and can fail again", 2, "xxoxx", ".!..!", "huhhu"},
		{"threshold 1", 1, "xoxx", "!.!.", "uhuu"},
		{"default threshold", 0, "xxx", "..!", "hhu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHealthTracker(HealthPolicy{FailureThreshold: tt.threshold})
			require.NoError(t, err)
			require.True(t, h.Healthy())
			var became, healthy []byte
			for _, p := range []byte(tt.probes) {
				b := h.Observe(p == 'o')
				became = append(became, map[bool]byte{true: '!', false: '.'}[b])
				healthy = append(healthy, map[bool]byte{true: 'h', false: 'u'}[h.Healthy()])
			}
			assert.Equal(t, tt.became, string(became))
			assert.Equal(t, tt.healthy, string(healthy))
		})
	}
}

func TestHealthTrackerFailures(t *testing.T) {
	h, err := NewHealthTracker(HealthPolicy{})
	require.NoError(t, err)
	h.Observe(false)
	h.Observe(false)
	assert.Equal(t, 2, h.Failures())
	h.Observe(true)
	assert.Equal(t, 0, h.Failures())
}
