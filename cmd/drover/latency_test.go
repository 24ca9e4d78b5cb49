package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLatencyBuckets(t *testing.T) {
	// Every value maps to a bucket whose middle is within 1/64 of it, and
	// buckets grow with values.
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 12345, 1 << 20, 3<<30 + 7, 1 << 40, 1<<63 - 1} {
		b := latencyBucket(v)
		assert.Less(t, b, latencyBuckets, "v=%d", v)
		assert.GreaterOrEqual(t, b, prev, "v=%d", v)
		prev = b
		mid := float64(latencyBucketMid(b))
		assert.InDelta(t, float64(v), mid, float64(v)/64+0.5, "v=%d", v)
	}
	for v := uint64(0); v < 1<<12; v++ {
		b := latencyBucket(v)
		assert.LessOrEqual(t, latencyBucket(v), latencyBucket(v+1))
		if b >= 2*latencySub {
			continue
		}
		assert.Equal(t, v, latencyBucketMid(b))
	}
}

func TestLatencyQuantiles(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
		n    int
	}{
		{"uniform ms", func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(int64(10 * time.Millisecond))) }, 10000},
		{"exponential", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * float64(time.Millisecond)) }, 10000},
		{"tiny", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(100)) }, 1000},
		{"one value", func(*rand.Rand) time.Duration { return 3 * time.Millisecond }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h latencyHistogram
			all := make([]time.Duration, tt.n)
			for i := range all {
				all[i] = tt.gen(r)
				h.Record(all[i])
			}
			slices.Sort(all)
			assert.Equal(t, uint64(tt.n), h.Count())
			assert.Equal(t, all[len(all)-1], h.Max())
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
				i := int(q*float64(len(all))+0.999999) - 1
				want := all[max(i, 0)]
				got := h.Quantile(q)
				assert.InDelta(t, float64(want), float64(got), float64(want)/64+1, "q=%v", q)
				assert.LessOrEqual(t, got, h.Max())
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		var h latencyHistogram
		assert.Zero(t, h.Quantile(0.5))
		assert.Zero(t, h.Max())
	})
	t.Run("negative counts as zero", func(t *testing.T) {
		var h latencyHistogram
		h.Record(-time.Second)
		assert.Zero(t, h.Quantile(1))
	})
}
