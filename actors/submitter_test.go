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
		actors.WithPool(actors.PoolConfig{Name: "timed", Workers: 1, TaskTimeout: time.Second}),
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
		{actors.Task{Type: "echo", Timeout: time.Second}, "Timeout"},
		{actors.Task{Type: "echo", Context: context.Background()}, "Context"},
		{actors.Task{Type: "echo", Retry: actors.RetryPolicy{MaxAttempts: 3}}, "Retry"},
		{actors.Task{Type: "echo", Pool: "timed"}, "TaskTimeout"},
		{actors.Task{Type: "echo", Pool: "retrying"}, "Retry"},
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
