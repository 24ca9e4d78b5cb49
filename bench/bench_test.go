package bench

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// benchThroughput runs b.N tasks through each impl with the run's window in
// flight, every result back with the submitter, and reports tasks/s beside
// the allocations.
func benchThroughput(b *testing.B, workers int, task func()) {
	for _, impl := range Impls() {
		b.Run(impl.Name, func(b *testing.B) {
			p, err := impl.Start(Config{Workers: workers, MaxInFlight: window})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := p.Close(); err != nil {
					b.Error(err)
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if err := drive(context.Background(), p, b.N, window, task); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(perSecond(b.N, elapsed), "tasks/s")
		})
	}
}

// BenchmarkEmpty measures dispatch: empty tasks, 1,000 in flight.
func BenchmarkEmpty(b *testing.B) {
	benchThroughput(b, runtime.GOMAXPROCS(0), emptyTask)
}

// BenchmarkCPU10us runs tasks that spin for about 10 µs, 1,000 in flight.
func BenchmarkCPU10us(b *testing.B) {
	benchThroughput(b, runtime.GOMAXPROCS(0), cpuTask(calibrateSpin(cpuTaskDuration)))
}

// BenchmarkSleep1ms runs tasks that sleep 1 ms on 64 workers, 1,000 in
// flight.
func BenchmarkSleep1ms(b *testing.B) {
	benchThroughput(b, sleepWorkers, sleepTask)
}
