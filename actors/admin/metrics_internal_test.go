package admin

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/internal/hist"
)

func TestExportBounds(t *testing.T) {
	require.Len(t, exportBounds, 28)
	assert.Equal(t, 1024*time.Nanosecond, exportBounds[0])
	assert.Equal(t, hist.MaxBound, exportBounds[len(exportBounds)-1])
	for _, b := range exportBounds {
		assert.Contains(t, hist.Bounds(), b, "exported bounds are exact")
	}
}

func TestHistogramMetric(t *testing.T) {
	var h hist.Histogram
	for _, d := range []time.Duration{500, 3 * time.Microsecond, 3 * time.Microsecond, time.Millisecond, 200 * time.Second} {
		h.Record(d)
	}
	desc := prometheus.NewDesc("drover_test_seconds", "Test.", []string{"pool"}, nil)
	var m dto.Metric
	require.NoError(t, histogramMetric(desc, h.Snapshot(), "cpu").Write(&m))

	hm := m.GetHistogram()
	require.NotNil(t, hm)
	assert.Equal(t, uint64(5), hm.GetSampleCount())
	assert.InDelta(t, 200.001006500, hm.GetSampleSum(), 1e-9)
	require.Len(t, hm.GetBucket(), len(exportBounds))
	want := map[float64]uint64{
		1.024e-6:             1, // 500ns
		4.096e-6:             3, // and the two 3µs
		1.048576e-3:          4, // and 1ms
		float64(1<<37) / 1e9: 4, // 200s is above every finite bound
	}
	seen := 0
	for _, b := range hm.GetBucket() {
		if c, ok := want[b.GetUpperBound()]; ok {
			assert.Equal(t, c, b.GetCumulativeCount(), "le=%g", b.GetUpperBound())
			seen++
		}
	}
	assert.Equal(t, len(want), seen)
	assert.Equal(t, "cpu", m.GetLabel()[0].GetValue())
}

func TestFailedBy(t *testing.T) {
	tests := []struct {
		name string
		p    actors.PoolStats
		want [3]uint64
	}{
		{"split", actors.PoolStats{Failed: 10, TimedOut: 3, Canceled: 2}, [3]uint64{3, 2, 5}},
		{"read out of step", actors.PoolStats{Failed: 4, TimedOut: 3, Canceled: 2}, [3]uint64{3, 2, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, failedBy(&tt.p))
		})
	}
}
