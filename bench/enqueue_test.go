package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drover-go/drover/actors"
)

// BenchmarkEnqueue fills a queue from empty to queued tasks while every
// worker is blocked, so that nothing leaves it, and reports the mean cost of
// one enqueue (ns/enqueue): a send on a buffered channel of that size, a
// TrySubmit of an empty task (its Future kept, as a caller keeps it), and a
// Submitter's TrySubmit. Beside each other at 1k to 1M queued, the rows say
// how an enqueue compares with a channel send and whether it stays flat as
// the queue grows (the GC marks what is queued: a queue of heap records is
// not flat).
//
//	go test -run '^$' -bench BenchmarkEnqueue -benchtime 1x ./bench/
func BenchmarkEnqueue(b *testing.B) {
	for _, queued := range []int{1_000, 10_000, 100_000, 1_000_000} {
		for _, impl := range []string{"chan", "drover", "drover_lean"} {
			b.Run(fmt.Sprintf("queued=%d/%s", queued, impl), func(b *testing.B) {
				var total time.Duration
				for range b.N {
					d, err := fillQueue(impl, queued)
					if err != nil {
						b.Fatal(err)
					}
					total += d
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*queued), "ns/enqueue")
			})
		}
	}
}

// fillQueue times queued enqueues into impl with its one worker blocked.
func fillQueue(impl string, queued int) (time.Duration, error) {
	if impl == "chan" {
		ch := make(chan func(), queued)
		start := time.Now()
		for range queued {
			ch <- emptyTask
		}
		return time.Since(start), nil
	}
	release := make(chan struct{})
	n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: queued}),
		actors.WithHandler("empty", func(context.Context, []byte) ([]byte, error) { return nil, nil }),
		actors.WithHandler("block", func(context.Context, []byte) ([]byte, error) { <-release; return nil, nil }))
	if err != nil {
		return 0, err
	}
	defer func() {
		close(release)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // fail what is queued at once
		_, _ = n.Shutdown(ctx)
	}()
	if err := n.WaitReady(context.Background()); err != nil {
		return 0, err
	}
	task := actors.Task{Type: "empty"}
	if impl == "drover" {
		if _, err := n.TrySubmit(actors.Task{Type: "block"}); err != nil {
			return 0, err
		}
		kept := make([]*actors.Future, queued)
		start := time.Now()
		for i := range kept {
			if kept[i], err = n.TrySubmit(task); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	s, err := n.NewSubmitter(queued + 1)
	if err != nil {
		return 0, err
	}
	if err := s.TrySubmit(actors.Task{Type: "block"}, 0); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := range queued {
		if err := s.TrySubmit(task, uint64(i)); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
