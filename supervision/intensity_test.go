package supervision

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIntensityValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Intensity
		wantErr []string
	}{
		{name: "zero", in: Intensity{}},
		{name: "explicit", in: Intensity{MaxRestarts: 3, Window: time.Minute}},
		{name: "no restarts", in: Intensity{MaxRestarts: NoRestarts}},
		{name: "max restarts below -1", in: Intensity{MaxRestarts: -2},
			wantErr: []string{"supervision: Intensity.MaxRestarts is -2; allowed: >= 0 (0 means the default), or NoRestarts (-1)"}},
		{name: "negative window", in: Intensity{Window: -time.Second},
			wantErr: []string{"supervision: Intensity.Window is -1s; allowed: >= 0 (0 means the default)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertConfigErrors(t, tt.in.Validate(), tt.wantErr)
			_, err := NewIntensityTracker(tt.in, nil)
			assertConfigErrors(t, err, tt.wantErr)
		})
	}
}

func TestIntensityWithDefaults(t *testing.T) {
	assert.Equal(t, Intensity{MaxRestarts: 5, Window: 10 * time.Second}, Intensity{}.WithDefaults())
	assert.Equal(t, Intensity{MaxRestarts: NoRestarts, Window: time.Second}, Intensity{MaxRestarts: NoRestarts, Window: time.Second}.WithDefaults())
}

func TestIntensityTracker(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		in   Intensity
		// gaps[i] is the time between restart i-1 and restart i.
		gaps []time.Duration
		want []bool // Record's result for each restart
	}{
		{"more than max within the window exceeds",
			Intensity{MaxRestarts: 3, Window: 10 * s},
			[]time.Duration{0, s, s, s}, []bool{false, false, false, true}},
		{"exceeded stays exceeded while the window is full",
			Intensity{MaxRestarts: 2, Window: 10 * s},
			[]time.Duration{0, 0, 0, s}, []bool{false, false, true, true}},
		{"spread-out restarts never exceed",
			Intensity{MaxRestarts: 2, Window: 10 * s},
			[]time.Duration{0, 5 * s, 5 * s, 5 * s, 5 * s, 5 * s}, []bool{false, false, false, false, false, false}},
		{"a restart exactly Window old has left the window",
			Intensity{MaxRestarts: 1, Window: 10 * s},
			[]time.Duration{0, 10 * s, 10 * s}, []bool{false, false, false}},
		{"a restart just inside the window still counts",
			Intensity{MaxRestarts: 1, Window: 10 * s},
			[]time.Duration{0, 10*s - 1}, []bool{false, true}},
		{"recovers once old restarts leave the window",
			Intensity{MaxRestarts: 1, Window: 10 * s},
			[]time.Duration{0, s, 20 * s, s}, []bool{false, true, false, true}},
		{"no restarts: the first exceeds",
			Intensity{MaxRestarts: NoRestarts, Window: 10 * s},
			[]time.Duration{0, 20 * s}, []bool{true, true}},
		{"defaults: sixth restart in 10s exceeds",
			Intensity{},
			[]time.Duration{0, s, s, s, s, s}, []bool{false, false, false, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			tr, err := NewIntensityTracker(tt.in, clock.Now)
			require.NoError(t, err)
			for i, gap := range tt.gaps {
				clock.Advance(gap)
				require.Equal(t, tt.want[i], tr.Record(), "restart %d", i)
				require.Equal(t, tt.want[i], tr.Exceeded(), "restart %d", i)
			}
		})
	}
}

func TestIntensityTrackerCountAndReset(t *testing.T) {
	clock := newFakeClock()
	tr, err := NewIntensityTracker(Intensity{MaxRestarts: 3, Window: 10 * time.Second}, clock.Now)
	require.NoError(t, err)

	for range 1000 {
		tr.Record()
	}
	assert.Equal(t, 4, tr.Count(), "keeps at most MaxRestarts+1")
	assert.LessOrEqual(t, cap(tr.times), 8, "storage stays bounded")
	assert.True(t, tr.Exceeded())

	clock.Advance(10 * time.Second)
	assert.Equal(t, 0, tr.Count())
	assert.False(t, tr.Exceeded())

	tr.Record()
	tr.Record()
	tr.Reset()
	assert.Equal(t, 0, tr.Count())
	assert.False(t, tr.Record())
}
