package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
)

// TestDroverHandlerContract holds the registered-handler variant, which is
// not in Impls, to the Pool contract that TestPoolContract checks there.
func TestDroverHandlerContract(t *testing.T) {
	const (
		workers = 3
		window  = 50
		tasks   = 300 // six times the window: every slot is reused
	)
	p, err := droverHandlerImpl().Start(Config{Workers: workers, MaxInFlight: window})
	require.NoError(t, err)
	var mu sync.Mutex
	ran := make([]int, tasks)
	task := func(i int) func() {
		return func() {
			mu.Lock()
			ran[i]++
			mu.Unlock()
		}
	}
	next := 0
	numbered := &submitter{Pool: p, submit: func() error {
		i := next
		next++
		return p.Submit(task(i))
	}}
	require.NoError(t, drive(context.Background(), numbered, tasks, window, nil))
	for i, n := range ran {
		require.Equal(t, 1, n, "task %d", i)
	}
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "a second Close is a no-op")
	assert.Error(t, p.Submit(emptyTask), "Submit after Close")
}

// submitter replaces the task drive passes with one of its own making.
type submitter struct {
	Pool
	submit func() error
}

func (s *submitter) Submit(func()) error { return s.submit() }

// BenchmarkDroverVariants puts Drover's two task forms beside the channel
// pool in one run: a Task{Func: ...} per task (the drover row of the
// suite) and a registered handler with an 8-byte payload.
func BenchmarkDroverVariants(b *testing.B) {
	impls := []Impl{chanImpl(), droverImpl(), droverHandlerImpl(), droverLeanImpl()}
	workloads := []struct {
		name string
		task func()
	}{
		{"empty", emptyTask},
		{"cpu10us", cpuTask(calibrateSpin(cpuTaskDuration))},
	}
	for _, w := range workloads {
		for _, impl := range impls {
			b.Run(w.name+"/"+impl.Name, func(b *testing.B) { benchImpl(b, impl, runtime.GOMAXPROCS(0), w.task) })
		}
	}
}

// TestPrintDroverVariants prints the suite's table for chan and both
// Drover variants; it is skipped unless -suite is given:
//
//	go test ./bench/ -run '^TestPrintDroverVariants$' -v -count=1 -args -suite=quick
func TestPrintDroverVariants(t *testing.T) {
	if *suiteFlag == "" {
		t.Skip("run with -args -suite=quick (or full) to print the variants' table")
	}
	rows, err := Run(context.Background(), Options{
		Quick: *suiteFlag == "quick",
		Impls: []string{"chan", "drover", "drover_handler"},
		Extra: []Impl{droverHandlerImpl()},
	})
	require.NoError(t, err)
	require.NoError(t, WriteTable(os.Stdout, rows))
}

// BenchmarkLeanBatch puts the Submitter's batches of 64 beside its single
// submissions in one run: empty tasks, a window of 1,024.
func BenchmarkLeanBatch(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			node, err := actors.NewNode(
				actors.WithPool(actors.PoolConfig{Name: "p", Workers: runtime.GOMAXPROCS(0), QueueCapacity: window}),
				actors.WithHandler("empty", func(context.Context, []byte) ([]byte, error) { return nil, nil }))
			if err != nil {
				b.Fatal(err)
			}
			defer node.Shutdown(context.Background())
			s, err := node.NewSubmitter(window)
			if err != nil {
				b.Fatal(err)
			}
			tasks := make([]actors.Task, batch)
			tags := make([]uint64, batch)
			for i := range tasks {
				tasks[i] = actors.Task{Type: "empty"}
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			submitted, done := 0, 0
			for done < b.N {
				if submitted < b.N && s.Pending() <= window-batch {
					want := min(batch, b.N-submitted)
					k, err := s.TrySubmitBatch(tasks[:want], tags[:want])
					if err != nil && !errors.Is(err, actors.ErrWindowFull) && !errors.Is(err, actors.ErrQueueFull) {
						b.Fatal(err)
					}
					submitted += k
					if k > 0 {
						continue
					}
				}
				if _, err := s.Next(context.Background()); err != nil {
					b.Fatal(err)
				}
				done++
			}
			b.ReportMetric(perSecond(b.N, time.Since(start)), "tasks/s")
		})
	}
}

// BenchmarkLeanWorkers runs empty tasks through a Submitter (window 1,000,
// no harness slot table) into a pool of one worker and of two, where two
// runners share the pool's lock with the submitter. (With results handed
// to Next in batches, two workers ran at 141-144 ns per task against
// 152-180 ns for one.)
//
//	go test -run '^$' -bench BenchmarkLeanWorkers -benchtime 3000000x ./bench/
func BenchmarkLeanWorkers(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { bareSubmitter(b, workers) })
	}
}

// bareSubmitter runs b.N empty tasks through a Submitter with a window of
// 1,000 into a pool of workers workers whose handler does nothing: the lean
// path without the slot table the suite's harness needs to run its funcs.
// It reports the process's CPU time per task.
func bareSubmitter(b *testing.B, workers int) {
	node, err := actors.NewNode(
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: workers, QueueCapacity: window}),
		actors.WithHandler("empty", func(context.Context, []byte) ([]byte, error) { return nil, nil }))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if _, err := node.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
	}()
	s, err := node.NewSubmitter(window)
	if err != nil {
		b.Fatal(err)
	}
	task := actors.Task{Type: "empty", Pool: "p"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	out := 0
	for i := range b.N {
		if out == window {
			if _, err := s.Next(ctx); err != nil {
				b.Fatal(err)
			}
			out--
		}
		if err := s.Submit(ctx, task, uint64(i)); err != nil {
			b.Fatal(err)
		}
		out++
	}
	for ; out > 0; out-- {
		if _, err := s.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/task")
}
