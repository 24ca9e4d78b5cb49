package actors

import (
	"context"
	"runtime"
	"testing"
)

// BenchmarkQueue measures one enqueue and one dequeue of the pool queue
// with 1, 2 and 4 priority levels in use.
func BenchmarkQueue(b *testing.B) {
	for _, levels := range []int{1, 2, 4} {
		b.Run(map[int]string{1: "levels=1", 2: "levels=2", 4: "levels=4"}[levels], func(b *testing.B) {
			var q jobQueue
			fs := make([]Future, 1024)
			for i := range fs {
				fs[i].level = int8(i % levels)
			}
			// A backlog spread over the levels in use: each round takes the
			// head of the highest level and queues it again at its tail.
			for i := range fs {
				q.push(&fs[i])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				f := q.peek(0, 0)
				q.remove(f)
				q.push(f)
			}
		})
	}
}

// BenchmarkQueuedTaskMemory reports the heap held by one queued empty task
// (B/task): tasks wait behind a blocked worker.
func BenchmarkQueuedTaskMemory(b *testing.B) {
	const queued = 100_000
	for range b.N {
		n, err := NewNode(WithPool(PoolConfig{Name: "p", Workers: 1, QueueCapacity: queued}), WithHandler("empty", func(context.Context, []byte) ([]byte, error) { return nil, nil }))
		if err != nil {
			b.Fatal(err)
		}
		release := make(chan struct{})
		if _, err := n.TrySubmit(Task{Func: func(context.Context) (any, error) { <-release; return nil, nil }}); err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		fs := make([]*Future, 0, queued)
		for range queued {
			f, err := n.TrySubmit(Task{Type: "empty"})
			if err != nil {
				b.Fatal(err)
			}
			fs = append(fs, f)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc-uint64(cap(fs))*8)/queued, "B/task")
		close(release)
		for _, f := range fs {
			<-f.Done()
		}
		if _, err := n.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPriorities runs empty tasks with results, 1,000 in flight, with
// 1, 2 and 4 priorities in use, and reports tasks/s.
func BenchmarkPriorities(b *testing.B) {
	for _, levels := range []int{1, 2, 4} {
		b.Run(map[int]string{1: "priorities=1", 2: "priorities=2", 4: "priorities=4"}[levels], func(b *testing.B) {
			n, err := NewNode(WithPool(PoolConfig{Name: "p", Workers: 2, QueueCapacity: 1024}))
			if err != nil {
				b.Fatal(err)
			}
			defer n.Shutdown(context.Background())
			empty := func(context.Context) (any, error) { return nil, nil }
			var window [1000]*Future // a ring of the tasks in flight
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				slot := &window[i%len(window)]
				if *slot != nil {
					(*slot).Wait(context.Background())
				}
				f, err := n.Submit(context.Background(), Task{Func: empty, Priority: Priority(i%levels + 1)})
				if err != nil {
					b.Fatal(err)
				}
				*slot = f
			}
			for _, f := range window {
				if f != nil {
					f.Wait(context.Background())
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}
