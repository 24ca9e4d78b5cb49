package supervision

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkBreaker measures the per-call cost of a breaker on the task path
// (Allow then Success, and Admit then Done) beside a breaker-shaped
// baseline that takes a mutex for each of the two calls.
func BenchmarkBreaker(b *testing.B) {
	perSec := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	}
	b.Run("impl=breaker/state=closed", func(b *testing.B) {
		br, _ := NewBreaker(BreakerConfig{}, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if br.Allow() == nil {
					br.Success()
				}
			}
		})
		perSec(b)
	})
	b.Run("impl=breaker-two-step/state=closed", func(b *testing.B) {
		br, _ := NewBreaker(BreakerConfig{}, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if t, err := br.Admit(); err == nil {
					br.Done(t, Succeeded)
				}
			}
		})
		perSec(b)
	})
	b.Run("impl=baseline-mutex/state=closed", func(b *testing.B) {
		var (
			mu       sync.Mutex
			failures int
		)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				ok := failures < 5
				mu.Unlock()
				if ok {
					mu.Lock()
					failures = 0
					mu.Unlock()
				}
			}
		})
		perSec(b)
	})
	b.Run("impl=breaker/state=open", func(b *testing.B) {
		br, _ := NewBreaker(BreakerConfig{FailureThreshold: 1, ResetTimeout: time.Hour}, nil)
		br.Failure()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = br.Allow()
			}
		})
		perSec(b)
	})
}

// BenchmarkBackoffNext compares Next with the linear formula protoactor's
// exponential backoff strategy uses (failures × initial + noise).
func BenchmarkBackoffNext(b *testing.B) {
	b.Run("impl=backoff", func(b *testing.B) {
		bo := Backoff{}
		b.ReportAllocs()
		i := 0
		var sink time.Duration
		for b.Loop() {
			sink += bo.Next(i&15, 0.37)
			i++
		}
		_ = sink
	})
	b.Run("impl=baseline-linear", func(b *testing.B) {
		initial := 10 * time.Millisecond
		b.ReportAllocs()
		i := 0
		var sink time.Duration
		for b.Loop() {
			sink += time.Duration((i&15+1)*int(initial.Nanoseconds()) + i%500)
			i++
		}
		_ = sink
	})
}
