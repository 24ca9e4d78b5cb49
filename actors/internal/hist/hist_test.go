package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBounds(t *testing.T) {
	b := Bounds()
	require.Len(t, b, numBounds)
	assert.Equal(t, MinBound, b[0])
	assert.Equal(t, MaxBound, b[len(b)-1])
	assert.True(t, slices.IsSorted(b))
	for i := 1; i < len(b); i++ {
		// Every bucket is at most 1/SubBuckets of its lower bound wide.
		width := float64(b[i] - b[i-1])
		assert.LessOrEqual(t, width/float64(b[i-1]), MaxRelativeError, "bucket %d", i)
	}
	for e := minExp; e <= maxExp+1; e++ {
		assert.Contains(t, b, time.Duration(1)<<e, "every power of two in range is a bound")
	}
}

func TestIndex(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want int
	}{
		{"negative", -time.Second, 0},
		{"zero", 0, 0},
		{"one", 1, 0},
		{"min bound", MinBound, 0},
		{"just above min bound", MinBound + 1, 1},
		{"end of first sub-bucket", 144, 1},
		{"start of second sub-bucket", 145, 2},
		{"256ns closes the first octave", 256, SubBuckets},
		{"257ns opens the second", 257, SubBuckets + 1},
		{"max bound", MaxBound, numBounds - 1},
		{"overflow", MaxBound + 1, numBuckets - 1},
		{"max duration", math.MaxInt64, numBuckets - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := max(tt.d, 0)
			assert.Equal(t, tt.want, index(d))
		})
	}
}

func TestIndexMatchesBounds(t *testing.T) {
	// A bound lands in its own bucket, one nanosecond more in the next.
	for i, b := range Bounds() {
		require.Equal(t, i, index(b), "bound %d (%s)", i, b)
		require.Equal(t, i+1, index(b+1), "bound %d (%s) + 1ns", i, b)
	}
}

func TestRecordSnapshot(t *testing.T) {
	var h Histogram
	assert.Equal(t, Snapshot{Bounds: Bounds(), Counts: make([]uint64, numBuckets)}, h.Snapshot())

	h.Record(-5)
	h.Record(100)
	h.Record(time.Microsecond)
	h.Record(time.Microsecond)
	h.Record(time.Hour)
	s := h.Snapshot()
	assert.Equal(t, uint64(5), s.Count)
	assert.Equal(t, 100+2*time.Microsecond+time.Hour, s.Sum)
	assert.Equal(t, uint64(2), s.Counts[0])
	assert.Equal(t, uint64(2), s.Counts[index(time.Microsecond)])
	assert.Equal(t, uint64(1), s.Counts[numBuckets-1])
	assert.Len(t, s.Counts, len(s.Bounds)+1)
}

func TestQuantileEdges(t *testing.T) {
	var empty Snapshot
	assert.Zero(t, empty.Quantile(0.5))
	assert.Zero(t, empty.Mean())

	var h Histogram
	for range 10 {
		h.Record(time.Millisecond)
	}
	s := h.Snapshot()
	lo, hi := Bounds()[index(time.Millisecond)-1], Bounds()[index(time.Millisecond)]
	tests := []struct {
		name string
		q    float64
		want time.Duration
	}{
		{"zero is the bucket's lower bound", 0, lo},
		{"one is its upper bound", 1, hi},
		{"below zero clamps", -1, lo},
		{"above one clamps", 2, hi},
		{"NaN", math.NaN(), 0},
		{"median interpolates", 0.5, lo + (hi-lo)/2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Quantile(tt.q))
		})
	}

	var over Histogram
	over.Record(200 * time.Second)
	assert.Equal(t, MaxBound, over.Snapshot().Quantile(0.5), "overflow reports the largest bound")

	inconsistent := Snapshot{Count: 3, Bounds: Bounds(), Counts: make([]uint64, numBuckets)}
	assert.Zero(t, inconsistent.Quantile(0.5))
}

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	r := int(math.Ceil(q * float64(len(sorted))))
	r = min(max(r, 1), len(sorted))
	return sorted[r-1]
}

func TestQuantileAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(n int, f func(i int) time.Duration) []time.Duration {
		v := make([]time.Duration, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	tests := []struct {
		name   string
		values []time.Duration
	}{
		{"constant 1ms", gen(1000, func(int) time.Duration { return time.Millisecond })},
		{"uniform 1µs to 10ms", gen(20000, func(int) time.Duration {
			return time.Microsecond + time.Duration(rng.Int64N(int64(10*time.Millisecond)))
		})},
		{"exponential mean 2ms", gen(20000, func(int) time.Duration {
			return MinBound + 1 + time.Duration(rng.ExpFloat64()*float64(2*time.Millisecond))
		})},
		{"log-uniform 200ns to 100s", gen(20000, func(int) time.Duration {
			return time.Duration(math.Exp(math.Log(200) + rng.Float64()*(math.Log(100e9)-math.Log(200))))
		})},
		{"bimodal 50µs and 40ms", gen(10000, func(i int) time.Duration {
			if i%10 == 0 {
				return 40*time.Millisecond + time.Duration(rng.Int64N(int64(time.Millisecond)))
			}
			return 50*time.Microsecond + time.Duration(rng.Int64N(int64(5*time.Microsecond)))
		})},
		{"few values", []time.Duration{3 * time.Millisecond, 7 * time.Millisecond, 500 * time.Microsecond}},
		{"sequence 1 to 1000µs", gen(1000, func(i int) time.Duration { return time.Duration(i+1) * time.Microsecond })},
	}
	quantiles := []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			var sum time.Duration
			for _, v := range tt.values {
				h.Record(v)
				sum += v
			}
			s := h.Snapshot()
			require.Equal(t, uint64(len(tt.values)), s.Count)
			require.Equal(t, sum, s.Sum)
			assert.Equal(t, sum/time.Duration(len(tt.values)), s.Mean())

			sorted := slices.Clone(tt.values)
			slices.Sort(sorted)
			for _, q := range quantiles {
				want := exactQuantile(sorted, q)
				got := s.Quantile(q)
				rel := math.Abs(float64(got-want)) / float64(want)
				assert.LessOrEqual(t, rel, MaxRelativeError, "q=%v: got %s, exact %s", q, got, want)
			}
		})
	}
}

func TestQuantileBelowMinBound(t *testing.T) {
	var h Histogram
	for d := time.Duration(0); d <= MinBound; d++ {
		h.Record(d)
	}
	s := h.Snapshot()
	for _, q := range []float64{0, 0.5, 1} {
		got := s.Quantile(q)
		assert.GreaterOrEqual(t, got, time.Duration(0))
		assert.LessOrEqual(t, got, MinBound)
	}
}

func TestCumulative(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{100, 1000, 1024, 1025, 4096, time.Second, 150 * time.Second} {
		h.Record(d)
	}
	s := h.Snapshot()
	tests := []struct {
		name string
		le   []time.Duration
		want []uint64
	}{
		{"none", nil, []uint64{}},
		{"powers of two are exact", []time.Duration{128, 1024, 2048, 4096, 1 << 30, MaxBound}, []uint64{1, 3, 4, 5, 6, 6}},
		{"below every bound", []time.Duration{50}, []uint64{0}},
		{"between bounds undercounts", []time.Duration{1030}, []uint64{3}},
		{"past every bound", []time.Duration{MaxBound * 2}, []uint64{6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Cumulative(tt.le))
		})
	}
}

func TestMerge(t *testing.T) {
	var a, b Histogram
	a.Record(time.Microsecond)
	a.Record(time.Millisecond)
	b.Record(time.Millisecond)
	b.Record(time.Second)

	var m Snapshot
	m.Merge(Snapshot{}) // an empty snapshot changes nothing
	assert.Zero(t, m.Count)

	sa := a.Snapshot()
	m.Merge(sa)
	assert.Equal(t, sa, m)
	m.Counts[0]++ // the copy does not share sa's counts
	assert.Zero(t, sa.Counts[0])
	m.Counts[0]--

	m.Merge(b.Snapshot())
	var all Histogram
	for _, d := range []time.Duration{time.Microsecond, time.Millisecond, time.Millisecond, time.Second} {
		all.Record(d)
	}
	assert.Equal(t, all.Snapshot(), m)
}

func TestConcurrentRecord(t *testing.T) {
	const goroutines, each = 8, 5000
	var h Histogram
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var snaps atomic.Int64
	// A reader snapshots while the writers record: counts only grow, and
	// Count always equals the sum of Counts.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var last uint64
		for {
			s := h.Snapshot()
			var total uint64
			for _, c := range s.Counts {
				total += c
			}
			if s.Count != total || s.Count < last {
				t.Errorf("snapshot count %d, buckets %d, previous %d", s.Count, total, last)
				return
			}
			last = s.Count
			snaps.Add(1)
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.Record(time.Duration(g*each+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone

	s := h.Snapshot()
	n := goroutines * each
	assert.Equal(t, uint64(n), s.Count)
	assert.Equal(t, time.Duration(n*(n-1)/2)*time.Microsecond, s.Sum)
	assert.Positive(t, snaps.Load())
}

func TestRecordAllocs(t *testing.T) {
	var h Histogram
	allocs := testing.AllocsPerRun(1000, func() { h.Record(3 * time.Millisecond) })
	assert.Zero(t, allocs)
}
