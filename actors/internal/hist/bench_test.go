package hist

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// durations spread over the histogram's range, so that Record touches many
// buckets as it would under real latencies.
func benchDurations() []time.Duration {
	rng := rand.New(rand.NewPCG(3, 4))
	d := make([]time.Duration, 1024)
	for i := range d {
		d[i] = time.Duration(rng.ExpFloat64() * float64(200*time.Microsecond))
	}
	return d
}

// BenchmarkRecord runs Record beside a bare atomic add on one counter, the
// floor of any shared counter, in the same run.
func BenchmarkRecord(b *testing.B) {
	ds := benchDurations()
	mask := len(ds) - 1

	b.Run("impl=hist/serial", func(b *testing.B) {
		var h Histogram
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.Record(ds[i&mask])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("impl=atomic-add/serial", func(b *testing.B) {
		var n uint64
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			atomic.AddUint64(&n, uint64(ds[i&mask]))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("impl=hist/parallel", func(b *testing.B) {
		var h Histogram
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(len(ds))
			for pb.Next() {
				h.Record(ds[i&mask])
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("impl=atomic-add/parallel", func(b *testing.B) {
		var n uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(len(ds))
			for pb.Next() {
				atomic.AddUint64(&n, uint64(ds[i&mask]))
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// sink keeps benchmark results alive, as a caller would.
var sink Snapshot

// BenchmarkSnapshot measures what a scrape pays per histogram.
func BenchmarkSnapshot(b *testing.B) {
	var h Histogram
	for _, d := range benchDurations() {
		h.Record(d)
	}
	b.Run("op=snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = h.Snapshot()
		}
	})
	s := h.Snapshot()
	b.Run("op=quantile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink.Sum = s.Quantile(0.99)
		}
	})
}
