package bench

import (
	"context"
	"testing"
	"time"

	"github.com/drover-go/drover/actors"
)

// BenchmarkAutoscaleStep shows a dynamic pool following a load step: a
// pool of 1 to 8 io workers (4 tasks each at once, looking every 50ms,
// retiring workers idle for 200ms) gets 2 seconds' worth of 5 ms tasks at
// once, then nothing. It reports how long the pool took to reach its
// maximum after the step up (ms-to-max), and to come back to its minimum
// after the last result (ms-to-min).
//
//	go test -run '^$' -bench BenchmarkAutoscaleStep -benchtime 3x ./bench/
func BenchmarkAutoscaleStep(b *testing.B) {
	var up, down, peak float64
	for range b.N {
		n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{
			Name: "step", Kind: actors.KindIO, MinWorkers: 1, MaxWorkers: 8, Concurrency: 4, QueueCapacity: 4096,
			Scale: actors.ScalePolicy{Interval: 50 * time.Millisecond, Cooldown: 200 * time.Millisecond},
		}))
		if err != nil {
			b.Fatal(err)
		}
		workers := func() int { return n.Stats().Pools[0].Workers }
		task := func(ctx context.Context) (any, error) {
			t := time.NewTimer(5 * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			return nil, nil
		}
		start := time.Now()
		var fs []*actors.Future
		for range 1600 { // 1600 x 5 ms over 32 slots: ~250 ms at full size
			f, err := n.SubmitFunc(context.Background(), "step", task)
			if err != nil {
				b.Fatal(err)
			}
			fs = append(fs, f)
		}
		var reached time.Duration
		for workers() < 8 {
			if time.Since(start) > 10*time.Second {
				b.Fatal("the pool never reached its maximum")
			}
			time.Sleep(time.Millisecond) // sampling the pool's size
		}
		reached = time.Since(start)
		for _, f := range fs {
			<-f.Done()
		}
		idle := time.Now()
		for workers() > 1 {
			if time.Since(idle) > 20*time.Second {
				b.Fatal("the pool never came back to its minimum")
			}
			time.Sleep(time.Millisecond)
		}
		up += float64(reached.Milliseconds())
		down += float64(time.Since(idle).Milliseconds())
		peak += float64(n.Stats().Pools[0].PeakWorkers)
		if _, err := n.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(up/float64(b.N), "ms-to-max")
	b.ReportMetric(down/float64(b.N), "ms-to-min")
	b.ReportMetric(peak/float64(b.N), "peak-workers")
}
