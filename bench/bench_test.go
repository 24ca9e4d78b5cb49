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
		b.Run(impl.Name, func(b *testing.B) { benchImpl(b, impl, workers, task) })
	}
}

// benchImpl drives b.N tasks through impl with workers workers and 1,000
// in flight, and reports tasks/s and the process's CPU time per task (of
// every goroutine: what another process's load on the machine changes
// least).
func benchImpl(b *testing.B, impl Impl, workers int, task func()) {
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
	start, cpu0 := time.Now(), processCPU()
	if err := drive(context.Background(), p, b.N, window, task); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	b.ReportMetric(perSecond(b.N, elapsed), "tasks/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/task")
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

// BenchmarkSpawn10k starts a pool of 10,000 workers and has each run one
// gated task (the spawn10k workload), on Drover beside protoactor's pool
// router, and reports workers started per second. Each iteration also
// stops the pool, outside the figure but inside a CPU profile:
//
//	go test -run '^$' -bench BenchmarkSpawn10k -benchtime 20x -cpuprofile /tmp/spawn.prof ./bench/
func BenchmarkSpawn10k(b *testing.B) {
	h := &harness{ctx: context.Background(), sz: quickSizes(), procs: runtime.GOMAXPROCS(0)}
	for _, impl := range Impls() {
		if impl.Name != "drover" && impl.Name != "protoactor_future" {
			continue
		}
		b.Run(impl.Name, func(b *testing.B) {
			b.ReportAllocs()
			var rate float64
			n := 0
			for b.Loop() {
				row, err := h.spawn(impl)
				if err != nil {
					b.Fatal(err)
				}
				rate += row.TasksPerSec
				n++
			}
			b.ReportMetric(rate/float64(n), "workers/s")
		})
	}
}
