package router_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/drover-go/drover/router"
)

// Each benchmark measures one Pick followed by one Done on a strategy with
// 4, 64 and 1024 available routees, beside two baselines in the same run: a
// plain atomic counter modulo n (the least a rotation can cost) and a
// mutex-guarded counter that also keeps an in-flight count (the least any
// locked Pick+Done pair can cost).

var benchSizes = []int{4, 64, 1024}

func benchPickDone(b *testing.B, newStrategy func() router.Strategy) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("routees=%d", n), func(b *testing.B) {
			b.Run("strategy", func(b *testing.B) {
				s := newStrategy()
				for id := range n {
					if err := s.Add(router.Routee{ID: id, Weight: 1 + id%3}); err != nil {
						b.Fatal(err)
					}
					s.SetAvailable(id, true)
				}
				// Warm up: consistent-hash builds its ring at the first Pick.
				if id, ok := s.Pick(1); ok {
					s.Done(id)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					id, ok := s.Pick(uint64(i) + 1)
					if !ok {
						b.Fatal("no routee")
					}
					s.Done(id)
				}
				reportPicks(b)
			})
			b.Run("baseline-atomic", func(b *testing.B) {
				ids := make([]int, n)
				for i := range ids {
					ids[i] = i
				}
				var next atomic.Uint64
				sink := 0
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					sink += ids[next.Add(1)%uint64(n)]
				}
				reportPicks(b)
				_ = sink
			})
			b.Run("baseline-mutex", func(b *testing.B) {
				var (
					mu       sync.Mutex
					next     int
					inFlight = make([]int, n)
				)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					mu.Lock()
					id := next
					if next++; next == n {
						next = 0
					}
					inFlight[id]++
					mu.Unlock()

					mu.Lock()
					inFlight[id]--
					mu.Unlock()
				}
				reportPicks(b)
			})
		})
	}
}

func reportPicks(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "picks/s")
	}
}

func BenchmarkRoundRobin(b *testing.B) {
	benchPickDone(b, func() router.Strategy { return router.NewRoundRobin() })
}

func BenchmarkWeighted(b *testing.B) {
	benchPickDone(b, func() router.Strategy { return router.NewWeighted() })
}

func BenchmarkLeastBusy(b *testing.B) {
	benchPickDone(b, func() router.Strategy { return router.NewLeastBusy() })
}

func BenchmarkRandom(b *testing.B) {
	benchPickDone(b, func() router.Strategy { return router.NewRandom(1) })
}

func BenchmarkP2C(b *testing.B) {
	benchPickDone(b, func() router.Strategy { return router.NewP2C(1) })
}

func BenchmarkConsistentHash(b *testing.B) {
	benchPickDone(b, func() router.Strategy {
		s, err := router.NewConsistentHash(0)
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
