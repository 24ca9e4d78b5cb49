package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Bucket layout of latencyHistogram: values below 2*latencySub nanoseconds
// get a bucket each; above, every power of two is split into latencySub
// buckets, so a bucket's width is at most 1/latencySub of its values.
const (
	latencySubBits = 6
	latencySub     = 1 << latencySubBits
	latencyBuckets = (64-latencySubBits-1)*latencySub + 2*latencySub
)

// latencyHistogram counts durations in log-linear buckets with a relative
// error under 1/64 (1.6 %), in constant memory however many it records.
// Record and Quantile are safe for concurrent use; a Quantile that runs
// beside Records sees some of them.
type latencyHistogram struct {
	buckets [latencyBuckets]atomic.Uint64
	count   atomic.Uint64
	max     atomic.Int64
}

// latencyBucket returns the bucket of a duration of v nanoseconds.
func latencyBucket(v uint64) int {
	if v < 2*latencySub {
		return int(v)
	}
	shift := bits.Len64(v) - latencySubBits - 1
	return shift*latencySub + int(v>>shift)
}

// latencyBucketMid returns the middle of bucket i's range, in nanoseconds.
func latencyBucketMid(i int) uint64 {
	if i < 2*latencySub {
		return uint64(i)
	}
	shift := i/latencySub - 1
	m := uint64(i - shift*latencySub)
	return m<<shift + (uint64(1)<<shift)/2
}

// Record counts one duration; negative durations count as zero.
func (h *latencyHistogram) Record(d time.Duration) {
	d = max(d, 0)
	h.buckets[latencyBucket(uint64(d))].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Count returns the number of durations recorded.
func (h *latencyHistogram) Count() uint64 { return h.count.Load() }

// Max returns the longest duration recorded, exactly.
func (h *latencyHistogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the duration below which a share q (0 to 1) of the
// recorded durations fall, within the histogram's precision and never above
// Max; 0 when nothing was recorded.
func (h *latencyHistogram) Quantile(q float64) time.Duration {
	var total uint64
	var counts [latencyBuckets]uint64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(q * float64(total))
	if float64(rank) < q*float64(total) || rank == 0 {
		rank++ // ceil, and at least the first value
	}
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(latencyBucketMid(i)), h.Max())
		}
	}
	return h.Max()
}
