package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Layout of the buckets.
const (
	// SubBuckets is the number of equal-width buckets per power of two.
	SubBuckets = 1 << subBits
	// MaxRelativeError bounds the relative error of Snapshot.Quantile for
	// durations within [MinBound, MaxBound].
	MaxRelativeError = 1.0 / SubBuckets
	// MinBound is the upper bound of the first bucket, which holds every
	// duration from 0 to MinBound.
	MinBound = time.Duration(1) << minExp
	// MaxBound is the largest finite bound; longer durations land in the
	// overflow bucket.
	MaxBound = time.Duration(1) << (maxExp + 1)

	subBits = 3
	minExp  = 7  // 128ns
	maxExp  = 36 // the last power of two split into sub-buckets: [2³⁶, 2³⁷)ns

	// numBounds counts the finite bounds: the first bucket's, then
	// SubBuckets per power of two.
	numBounds = 1 + (maxExp-minExp+1)*SubBuckets
	// numBuckets adds the overflow bucket.
	numBuckets = numBounds + 1
)

// bounds is the one, immutable table of upper bounds every Snapshot shares.
var bounds = makeBounds()

func makeBounds() []time.Duration {
	b := make([]time.Duration, 0, numBounds)
	b = append(b, MinBound)
	for e := minExp; e <= maxExp; e++ {
		width := time.Duration(1) << (e - subBits)
		for s := 1; s <= SubBuckets; s++ {
			b = append(b, time.Duration(1)<<e+time.Duration(s)*width)
		}
	}
	return b
}

// Bounds returns the upper bounds of the buckets, ascending, without the
// overflow bucket. The slice is shared by every caller and every Snapshot:
// do not modify it. It is safe for concurrent use.
func Bounds() []time.Duration { return bounds }

// Histogram counts durations in log-linear buckets. The zero value is an
// empty histogram ready to use. Record and Snapshot are safe for concurrent
// use; a Histogram must not be copied after first use.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	sum    atomic.Uint64 // nanoseconds
}

// Record adds one duration. A negative duration counts as 0. It takes no
// lock and does not allocate.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[index(d)].Add(1)
	h.sum.Add(uint64(d))
}

// index returns the bucket of d >= 0: the first whose upper bound is at
// least d. Working on d-1 makes the upper bounds inclusive.
func index(d time.Duration) int {
	if d <= MinBound {
		return 0
	}
	x := uint64(d - 1)
	e := bits.Len64(x) - 1 // x is in [2^e, 2^(e+1))
	if e > maxExp {
		return numBuckets - 1
	}
	sub := int(x>>(e-subBits)) & (SubBuckets - 1)
	return 1 + (e-minExp)<<subBits + sub
}

// Snapshot returns the histogram's counts as they are now. Buckets are read
// one by one while Record may run, so a snapshot taken under load may hold
// a few more or fewer records than any single instant had; Count always
// equals the sum of Counts, and Sum may be off by the records in flight.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Bounds: bounds, Counts: make([]uint64, numBuckets)}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.Counts[i] = c
		s.Count += c
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// Snapshot is a copy of a Histogram's counts. The zero value is an empty
// snapshot. A Snapshot is a plain value: its methods other than Merge do not
// modify it and are safe for concurrent use.
type Snapshot struct {
	// Count is the number of recorded durations, the sum of Counts.
	Count uint64
	// Sum is the total of the recorded durations.
	Sum time.Duration
	// Bounds are the buckets' upper bounds (inclusive), ascending: the
	// slice Bounds returns, shared, not to be modified. Nil in the zero
	// Snapshot.
	Bounds []time.Duration
	// Counts holds the number of durations per bucket, len(Bounds)+1 of
	// them: Counts[i] for durations in (Bounds[i-1], Bounds[i]], and the
	// last for those above every bound.
	Counts []uint64
}

// Mean returns the mean recorded duration, or 0 for an empty snapshot.
func (s Snapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

// Quantile estimates the q-quantile (0 ≤ q ≤ 1; 0.99 for p99) of the
// recorded durations, interpolating linearly within the bucket that holds
// it. For a quantile within [MinBound, MaxBound] the estimate is within
// MaxRelativeError of the exact nearest-rank quantile; at or below MinBound
// it is within MinBound; in the overflow bucket it is MaxBound. q outside
// [0, 1] is clamped into it; an empty snapshot or a NaN q gives 0.
func (s Snapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 || math.IsNaN(q) {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(s.Count)
	// The quantile lies in the first non-empty bucket whose cumulative
	// count reaches rank; the last non-empty bucket if rounding says none.
	var cum, before uint64
	at := -1
	for i, c := range s.Counts {
		if c == 0 {
			continue
		}
		at, before = i, cum
		cum += c
		if float64(cum) >= rank {
			break
		}
	}
	switch {
	case at < 0: // Count disagrees with Counts: nothing to estimate from
		return 0
	case at >= len(s.Bounds):
		return s.Bounds[len(s.Bounds)-1]
	}
	var lo time.Duration
	if at > 0 {
		lo = s.Bounds[at-1]
	}
	hi := s.Bounds[at]
	frac := (rank - float64(before)) / float64(s.Counts[at])
	frac = min(max(frac, 0), 1)
	return lo + time.Duration(frac*float64(hi-lo))
}

// Cumulative returns, for each bound of le (ascending), the number of
// recorded durations at or below it: the `_bucket` counts of a Prometheus
// histogram with those `le` bounds. A bound that is one of Bounds gets an
// exact count; any other counts only the buckets whose upper bound is at or
// below it, an undercount by at most the bucket that straddles it. Durations
// above MaxBound are counted by no finite bound.
func (s Snapshot) Cumulative(le []time.Duration) []uint64 {
	out := make([]uint64, len(le))
	var cum uint64
	i := 0
	for j, b := range le {
		for i < len(s.Bounds) && s.Bounds[i] <= b {
			cum += s.Counts[i]
			i++
		}
		out[j] = cum
	}
	return out
}

// Merge adds o's counts and sum into s, so that s describes both sets of
// durations; a zero s becomes a copy of o. Snapshots of this package's
// histograms all share one layout. Merge modifies s.Counts in place, which
// a copy of s made before the call shares; it is not safe to call while s
// is used concurrently.
func (s *Snapshot) Merge(o Snapshot) {
	if len(o.Counts) == 0 {
		return
	}
	if len(s.Counts) == 0 {
		s.Bounds = o.Bounds
		s.Counts = append([]uint64(nil), o.Counts...)
		s.Count, s.Sum = o.Count, o.Sum
		return
	}
	for i, c := range o.Counts {
		s.Counts[i] += c
	}
	s.Count += o.Count
	s.Sum += o.Sum
}
