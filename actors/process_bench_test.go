package actors_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drover-go/drover/actors"
)

// The process-worker benchmarks run empty tasks through two workers whose
// handlers live in child processes (the test worker), beside the same pool
// with in-process handlers, in the same run:
//
//	go test -run '^$' -bench 'ProcessPool|InProcessPool' ./actors/
//
// With Concurrency 1 a worker has one task in flight, so each task pays a
// full round trip through the pipes; with 128 the frames batch.

var benchConcurrency = []int{1, 128}

func BenchmarkInProcessPool(b *testing.B) {
	for _, c := range benchConcurrency {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			benchPool(b, actors.PoolConfig{Name: "inproc", Kind: actors.KindIO, Workers: 2, Concurrency: c, QueueCapacity: 4096},
				actors.WithHandler("empty", func(context.Context, []byte) ([]byte, error) { return nil, nil }))
		})
	}
}

func BenchmarkProcessPool(b *testing.B) {
	for _, c := range benchConcurrency {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			pc := actors.ProcessConfig{Command: actors.BuildTestWorker(b)}
			benchPool(b, actors.PoolConfig{Name: "proc", Kind: actors.KindProcess, Workers: 2, Concurrency: c, QueueCapacity: 4096, Process: &pc})
		})
	}
}

// benchPool submits empty tasks from 64 goroutines per CPU, each waiting for
// its result before the next, and reports tasks per second.
func benchPool(b *testing.B, pool actors.PoolConfig, opts ...actors.Option) {
	n, err := actors.NewNode(append(opts, actors.WithPool(pool))...)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = n.Shutdown(ctx)
	}()
	ctx := context.Background()
	for range 100 { // every worker up and warm
		f, err := n.Submit(ctx, actors.Task{Type: "empty"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetParallelism(64)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f, err := n.Submit(ctx, actors.Task{Type: "empty"})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := f.Wait(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
}
