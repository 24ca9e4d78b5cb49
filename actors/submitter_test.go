package actors_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

func tagPayload(tag uint64) []byte { return binary.LittleEndian.AppendUint64(nil, tag) }

// TestSubmitterResultsByTag: every accepted task's result comes back once,
// with its own tag and its own output, while records are reused.
func TestSubmitterResultsByTag(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2, Concurrency: 2}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	s, err := n.NewSubmitter(8)
	require.NoError(t, err)
	const tasks = 2000
	seen := make(map[uint64]bool, tasks)
	next := uint64(0)
	for len(seen) < tasks {
		for next < tasks {
			err := s.Submit(context.Background(), actors.Task{Type: "echo", Payload: tagPayload(next)}, next)
			if errors.Is(err, actors.ErrWindowFull) {
				break
			}
			require.NoError(t, err)
			next++
		}
		c, err := s.Next(context.Background())
		require.NoError(t, err)
		require.NoError(t, c.Result.Err)
		require.False(t, seen[c.Tag], "tag %d twice", c.Tag)
		seen[c.Tag] = true
		require.Equal(t, c.Tag, binary.LittleEndian.Uint64(c.Result.Output), "a result of another task")
	}
	assert.Zero(t, s.Pending())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = s.Next(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "no result beyond the accepted tasks")
	assert.Equal(t, uint64(tasks), n.Stats().Pools[0].Completed)
}

func TestSubmitterRefuses(t *testing.T) {
	n := newNode(t,
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 1}),
		actors.WithPool(actors.PoolConfig{Name: "retrying", Workers: 1, Retry: actors.RetryPolicy{MaxAttempts: 3}}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	_, err := n.NewSubmitter(0)
	require.ErrorIs(t, err, actors.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "allowed: 1 to")

	s, err := n.NewSubmitter(4)
	require.NoError(t, err)
	for _, tt := range []struct {
		task actors.Task
		says string
	}{
		{actors.Task{Type: "echo", Retry: actors.RetryPolicy{MaxAttempts: 3}}, "Retry"},
		{actors.Task{Type: "echo", Pool: "retrying"}, "Retry"},
		{actors.Task{Type: "echo", Timeout: -time.Second}, "Timeout"},
		{actors.Task{Type: "nope"}, "nope"},
		{actors.Task{Type: "echo", Priority: 9}, "Priority"},
	} {
		err := s.TrySubmit(tt.task, 1)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.says)
	}
	assert.Zero(t, s.Pending(), "a refused task holds no place in the window")
}

// TestSubmitterWindowAndQueue: the window bounds what waits for Next, and a
// full pool queue refuses without taking a place in it.
func TestSubmitterWindowAndQueue(t *testing.T) {
	release := make(chan struct{})
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 1}),
		actors.WithHandler("block", func(context.Context, []byte) ([]byte, error) { <-release; return nil, nil }))
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	require.NoError(t, n.WaitReady(context.Background()))
	s, err := n.NewSubmitter(3)
	require.NoError(t, err)
	require.NoError(t, s.TrySubmit(actors.Task{Type: "block"}, 1)) // runs
	require.NoError(t, s.TrySubmit(actors.Task{Type: "block"}, 2)) // queued, or running if 1 is still in the inbox
	err = s.TrySubmit(actors.Task{Type: "block"}, 3)
	for err == nil { // the queue had room once more while 1 moved on
		err = s.TrySubmit(actors.Task{Type: "block"}, 4)
	}
	require.True(t, errors.Is(err, actors.ErrQueueFull) || errors.Is(err, actors.ErrWindowFull), err.Error())
	close(release)
	got := map[uint64]bool{}
	for range s.Pending() {
		c, err := s.Next(context.Background())
		require.NoError(t, err)
		require.NoError(t, c.Result.Err)
		got[c.Tag] = true
	}
	assert.True(t, got[1] && got[2])
	require.NoError(t, s.TrySubmit(actors.Task{Type: "block"}, 5), "the window has room again")
	c, err := s.Next(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(5), c.Tag)
}

// TestSubmitterUnderFaults: tasks panic, workers are crashed and the node
// shuts down while a submitter and a collector run on two goroutines:
// every accepted tag gets exactly one result, and each result is its own
// task's (records are reused all along).
func TestSubmitterUnderFaults(t *testing.T) {
	for round := range 5 {
		n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 3, Concurrency: 2, QueueCapacity: 64,
			Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}),
			actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) {
				if p[0]%7 == 0 {
					panic("injected")
				}
				return p, nil
			}))
		require.NoError(t, err)
		s, err := n.NewSubmitter(32)
		require.NoError(t, err)

		var mu sync.Mutex
		accepted := map[uint64]bool{}
		stop := make(chan struct{})
		submitted := make(chan struct{})
		go func() {
			defer close(submitted)
			for tag := uint64(1); ; tag++ {
				select {
				case <-stop:
					return
				default:
				}
				err := s.TrySubmit(actors.Task{Type: "echo", Payload: tagPayload(tag)}, tag)
				if err == nil {
					mu.Lock()
					accepted[tag] = true
					mu.Unlock()
				} else if errors.Is(err, actors.ErrShuttingDown) {
					return
				}
			}
		}()
		got := map[uint64]bool{}
		check := func(c actors.Completion) {
			require.False(t, got[c.Tag], "round %d: tag %d twice", round, c.Tag)
			got[c.Tag] = true
			switch {
			case c.Result.Err == nil:
				require.Equal(t, c.Tag, binary.LittleEndian.Uint64(c.Result.Output), "round %d: a result of another task", round)
			case errors.Is(c.Result.Err, actors.ErrPanic):
				require.Zero(t, c.Tag%256%7, "round %d: tag %d panicked", round, c.Tag)
			default:
				require.ErrorIs(t, c.Result.Err, actors.ErrShuttingDown)
			}
		}
		for i := range 3000 {
			if i%500 == 0 {
				_ = n.CrashWorker("p", i/500%3)
			}
			c, err := s.Next(context.Background())
			require.NoError(t, err)
			check(c)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, _ = n.Shutdown(ctx) // a short drain: some tasks end with ErrShuttingDown
		cancel()
		close(stop)
		<-submitted
		for s.Pending() > 0 {
			c, err := s.Next(context.Background())
			require.NoError(t, err)
			check(c)
		}
		mu.Lock()
		require.Equal(t, len(accepted), len(got), "round %d", round)
		for tag := range accepted {
			require.True(t, got[tag], "round %d: tag %d has no result", round, tag)
		}
		mu.Unlock()
	}
}

// TestSubmitterBatch: a batch is accepted in order up to the first
// refusal, across pools, within the window; the refused rest takes no
// place and every accepted task gets its result.
func TestSubmitterBatch(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	n := newNode(t,
		actors.WithPool(actors.PoolConfig{Name: "a", Workers: 2}),
		actors.WithPool(actors.PoolConfig{Name: "b", Workers: 1}),
		actors.WithPool(actors.PoolConfig{Name: "c", Workers: 1, QueueCapacity: 2}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }),
		actors.WithHandler("block", func(context.Context, []byte) ([]byte, error) { <-release; return nil, nil }))
	require.NoError(t, n.WaitReady(context.Background()))
	s, err := n.NewSubmitter(100)
	require.NoError(t, err)

	var tasks []actors.Task
	var tags []uint64
	for i := range 50 {
		pool := "a"
		if i%10 == 9 {
			pool = "b" // the runs change pools
		}
		tasks = append(tasks, actors.Task{Type: "echo", Pool: pool, Payload: tagPayload(uint64(i))})
		tags = append(tags, uint64(i))
	}
	k, err := s.TrySubmitBatch(tasks, tags)
	require.NoError(t, err)
	require.Equal(t, 50, k)
	got := map[uint64]bool{}
	for range k {
		c, err := s.Next(context.Background())
		require.NoError(t, err)
		require.NoError(t, c.Result.Err)
		require.Equal(t, c.Tag, binary.LittleEndian.Uint64(c.Result.Output))
		got[c.Tag] = true
	}
	require.Len(t, got, 50)

	// Pool c runs one blocked task and queues two: the fourth is refused
	// (or the third, if the first is still on its way to the worker), and
	// so is everything after it.
	blocked := []actors.Task{{Type: "block", Pool: "c"}, {Type: "block", Pool: "c"}, {Type: "block", Pool: "c"}, {Type: "block", Pool: "c"}, {Type: "echo", Pool: "a"}}
	k, err = s.TrySubmitBatch(blocked, []uint64{1, 2, 3, 4, 5})
	require.ErrorIs(t, err, actors.ErrQueueFull)
	require.GreaterOrEqual(t, k, 2)
	require.Less(t, k, 5)
	assert.Equal(t, k, s.Pending())

	// A bad task stops the batch at its index.
	k2, err := s.TrySubmitBatch([]actors.Task{{Type: "echo", Pool: "a"}, {Type: "nope", Pool: "a"}, {Type: "echo", Pool: "a"}}, []uint64{7, 8, 9})
	require.ErrorIs(t, err, actors.ErrNoHandler)
	assert.Equal(t, 1, k2)
	assert.Equal(t, k+1, s.Pending())

	_, err = s.TrySubmitBatch(blocked, []uint64{1})
	assert.ErrorIs(t, err, actors.ErrInvalidTask, "one tag per task")

	// The window ends a batch.
	small, err := n.NewSubmitter(3)
	require.NoError(t, err)
	k3, err := small.TrySubmitBatch(tasks[:5], tags[:5])
	assert.ErrorIs(t, err, actors.ErrWindowFull)
	assert.Equal(t, 3, k3)
	assert.Equal(t, 3, small.Pending())
}

// TestSubmitterSamplesTimings: about one task in TimingSampleEvery is timed
// (its Result and the pool's histograms say how long it waited and ran);
// the others read no clock.
func TestSubmitterSamplesTimings(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	s, err := n.NewSubmitter(1)
	require.NoError(t, err)
	const tasks = 32 * actors.TimingSampleEvery
	timed := 0
	for i := range tasks {
		require.NoError(t, s.Submit(context.Background(), actors.Task{Type: "echo"}, uint64(i)))
		c, err := s.Next(context.Background())
		require.NoError(t, err)
		if c.Result.Run > 0 || c.Result.Queued > 0 {
			timed++
		}
		assert.Equal(t, "p/w0", c.Result.Worker, "an untimed task still names its worker")
	}
	st := n.Stats().Pools[0]
	assert.Equal(t, uint64(tasks), st.Completed)
	// 32 expected of 512; a draw outside 4 to 96 has a chance under 1e-9.
	assert.Equal(t, st.Run.Count, st.QueueWait.Count)
	assert.GreaterOrEqual(t, st.Run.Count, uint64(4))
	assert.LessOrEqual(t, st.Run.Count, uint64(96))
	assert.LessOrEqual(t, uint64(timed), st.Run.Count, "a timed result is in the histograms")
	assert.Positive(t, timed, "the sampled tasks' results are timed")
}

// TestSubmitterForcedShutdown: the drain deadline passes while every slot
// runs a task whose handler returns as soon as its context ends, so that
// runners finish their tasks while the pool fails what it still holds.
// Each tag gets exactly one result: the pool never ends a record a runner
// has handed back (it would be a second result for the tag, or another
// task's).
func TestSubmitterForcedShutdown(t *testing.T) {
	for round := range 20 {
		const slots = 64
		started := make(chan struct{}, slots)
		n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 8, Concurrency: 8, QueueCapacity: slots}),
			actors.WithHandler("hold", func(ctx context.Context, _ []byte) ([]byte, error) {
				started <- struct{}{}
				<-ctx.Done()
				return nil, nil
			}))
		require.NoError(t, err)
		require.NoError(t, n.WaitReady(context.Background()))
		s, err := n.NewSubmitter(2 * slots)
		require.NoError(t, err)
		for tag := range uint64(2 * slots) {
			require.NoError(t, s.TrySubmit(actors.Task{Type: "hold"}, tag))
		}
		for range slots {
			<-started
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no drain at all: fail what is left at once
		_, _ = n.Shutdown(ctx)
		got := map[uint64]int{}
		for s.Pending() > 0 {
			c, err := s.Next(context.Background())
			require.NoError(t, err)
			got[c.Tag]++
		}
		require.Len(t, got, 2*slots, "round %d", round)
		for tag, k := range got {
			require.Equal(t, 1, k, "round %d: tag %d has %d results", round, tag, k)
		}
	}
}

// TestSubmitterTimedTasks: tasks with a Timeout, a Context or their pool's
// TaskTimeout go through a Submitter beside plain ones, while records are
// reused: each tag gets exactly one result, its own (a late deadline,
// cancellation or stuck check never reaches a record that another task
// took over), including for handlers that overrun their deadline.
func TestSubmitterTimedTasks(t *testing.T) {
	unstick := make(chan struct{})
	n := newNode(t,
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2, Concurrency: 2, QueueCapacity: 64,
			StuckGrace: 2 * time.Millisecond, Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}),
		actors.WithPool(actors.PoolConfig{Name: "timed", Workers: 1, TaskTimeout: time.Millisecond}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }),
		actors.WithHandler("wait", func(ctx context.Context, _ []byte) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() }),
		actors.WithHandler("stuck", func(context.Context, []byte) ([]byte, error) { <-unstick; return nil, nil }))
	defer close(unstick)
	s, err := n.NewSubmitter(16)
	require.NoError(t, err)

	// What each tag asks for, and the one result it may get.
	const tasks = 3000
	kind := func(tag uint64) int { return int(tag % 6) }
	noop := func() {}
	task := func(tag uint64) (actors.Task, context.CancelFunc) {
		switch kind(tag) {
		case 0:
			return actors.Task{Type: "wait", Timeout: time.Millisecond}, noop
		case 1:
			// Canceled once accepted: in the queue or in its handler,
			// whichever it reached.
			ctx, cancel := context.WithCancel(context.Background())
			return actors.Task{Type: "wait", Context: ctx}, cancel
		case 2:
			return actors.Task{Type: "wait", Pool: "timed"}, noop
		case 3:
			if tag%600 == 3 {
				return actors.Task{Type: "stuck", Timeout: time.Millisecond}, noop
			}
			return actors.Task{Type: "echo", Timeout: time.Hour, Payload: tagPayload(tag)}, noop
		}
		return actors.Task{Type: "echo", Payload: tagPayload(tag)}, noop
	}
	var mu sync.Mutex
	accepted := map[uint64]bool{}
	submitted, quit := make(chan struct{}), make(chan struct{})
	defer func() {
		close(quit) // a failed test stops the submitter too
		<-submitted
	}()
	go func() {
		defer close(submitted)
		for tag := uint64(0); tag < tasks; {
			select {
			case <-quit:
				return
			default:
			}
			t, cancel := task(tag)
			err := s.Submit(context.Background(), t, tag)
			cancel()
			if err == nil {
				mu.Lock()
				accepted[tag] = true
				mu.Unlock()
				tag++
			} else if !errors.Is(err, actors.ErrWindowFull) {
				panic(err)
			}
		}
	}()
	got := map[uint64]bool{}
	for len(got) < tasks {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		c, err := s.Next(ctx)
		cancel()
		require.NoError(t, err, "%d results of %d, then none", len(got), tasks)
		require.False(t, got[c.Tag], "tag %d twice", c.Tag)
		got[c.Tag] = true
		switch kind(c.Tag) {
		case 0, 2:
			require.ErrorIs(t, c.Result.Err, actors.ErrTimeout, "tag %d", c.Tag)
		case 1:
			require.ErrorIs(t, c.Result.Err, actors.ErrCanceled, "tag %d", c.Tag)
		case 3:
			if c.Tag%600 == 3 {
				require.ErrorIs(t, c.Result.Err, actors.ErrTimeout, "tag %d", c.Tag)
				continue
			}
			fallthrough
		default:
			require.NoError(t, c.Result.Err, "tag %d", c.Tag)
			require.Equal(t, c.Tag, binary.LittleEndian.Uint64(c.Result.Output), "tag %d: a result of another task", c.Tag)
		}
	}
	mu.Lock()
	assert.Len(t, accepted, tasks)
	mu.Unlock()
	// How many handlers were abandoned depends on the machine's load (a
	// stuck task may time out before it starts; a waiting one may overrun
	// the 2 ms grace): the results above are what must hold.
}

// TestSubmitterConcurrentNext: several goroutines collect from one
// Submitter while another submits; every accepted task's Completion is
// returned once, to one of them, and none of them waits for a result
// that another took. Results arrive one at a time and in bursts.
func TestSubmitterConcurrentNext(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 3, Concurrency: 2}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	const (
		tasks      = 20000
		collectors = 4
	)
	s, err := n.NewSubmitter(64)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var mu sync.Mutex
	seen := make(map[uint64]int, tasks)
	took := make(chan struct{}, 1) // a collector made room in the window
	var wg sync.WaitGroup
	for range collectors {
		wg.Go(func() {
			for {
				c, err := s.Next(ctx)
				if err != nil {
					return // the test's end (or its deadline: counted below)
				}
				select {
				case took <- struct{}{}:
				default:
				}
				if c.Result.Err != nil || binary.LittleEndian.Uint64(c.Result.Output) != c.Tag {
					t.Errorf("tag %d: result %v, output %x", c.Tag, c.Result.Err, c.Result.Output)
				}
				mu.Lock()
				seen[c.Tag]++
				done := len(seen) == tasks
				mu.Unlock()
				if done {
					cancel() // the others are waiting: let them go
				}
			}
		})
	}
	for tag := uint64(0); tag < tasks; {
		err := s.Submit(ctx, actors.Task{Type: "echo", Payload: tagPayload(tag)}, tag)
		if errors.Is(err, actors.ErrWindowFull) {
			select {
			case <-took: // a Next since the token was last taken: try again
			case <-ctx.Done():
				t.Fatal("no collector made room in the window")
			}
			continue
		}
		require.NoError(t, err)
		tag++
	}
	wg.Wait()
	require.Len(t, seen, tasks, "a collector waited while a result was there (the test's deadline ended it)")
	for tag, k := range seen {
		require.Equal(t, 1, k, "tag %d", tag)
	}
	assert.Zero(t, s.Pending())
}

// TestSubmitterNextCanceledBesideAnother: a Next whose context ends while
// another Next waits takes nothing, and the next result goes to the one
// still waiting.
func TestSubmitterNextCanceledBesideAnother(t *testing.T) {
	release := make(chan struct{})
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}),
		actors.WithHandler("gated", func(ctx context.Context, p []byte) ([]byte, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return p, nil
		}))
	s, err := n.NewSubmitter(4)
	require.NoError(t, err)
	require.NoError(t, s.Submit(context.Background(), actors.Task{Type: "gated", Payload: tagPayload(7)}, 7))

	got := make(chan actors.Completion, 1)
	go func() {
		c, err := s.Next(context.Background())
		if err == nil {
			got <- c
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	canceled := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx)
		canceled <- err
	}()
	cancel()
	require.ErrorIs(t, <-canceled, context.Canceled)
	close(release)
	select {
	case c := <-got:
		assert.Equal(t, uint64(7), c.Tag)
	case <-time.After(time.Minute):
		t.Fatal("the waiting Next never got the result")
	}
	assert.Zero(t, s.Pending())
}
