package actors_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
)

// TestResultComesAfterTheSlotIsFree: whoever sees a task's result, by Wait
// or in OnResult, sees the task out of flight and its worker's slot free.
// Stats read from OnResult also shows that a callback may call back in.
func TestResultComesAfterTheSlotIsFree(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2, QueueCapacity: 8}),
		actors.WithHandler("echo", echo))
	inFlight := make(chan int, 1)
	for i := range 200 {
		task := actors.Task{Type: "echo"}
		if i%2 == 1 {
			task.OnResult = func(actors.Result) { inFlight <- n.Stats().Pools[0].InFlight }
		}
		f, err := n.Submit(context.Background(), task)
		require.NoError(t, err)
		wait(t, f)
		require.Zero(t, n.Stats().Pools[0].InFlight, "task %d: in flight after Wait", i)
		if task.OnResult != nil {
			require.Zero(t, <-inFlight, "task %d: in flight in OnResult", i)
		}
	}
}

// TestTimedTasks: a task with Timed (or a timeout) gets its timings; of the
// others about one in TimingSampleEvery is timed, and the pool's histograms
// count exactly the timed tasks.
func TestTimedTasks(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 8}),
		actors.WithHandler("echo", echo))
	const tasks = 32 * actors.TimingSampleEvery
	timed := 0
	for i := range tasks {
		f, err := n.Submit(context.Background(), actors.Task{Type: "echo", Timed: i%4 == 0})
		require.NoError(t, err)
		r := wait(t, f)
		if i%4 == 0 {
			require.Positive(t, r.Queued+r.Run, "task %d asked for its timings", i)
		}
		if r.Queued+r.Run > 0 {
			timed++
		}
	}
	st := n.Stats().Pools[0]
	assert.Equal(t, uint64(tasks), st.Completed)
	// A quarter asked; of the other 384 about 24 are sampled (none at all
	// has a chance of 1e-11).
	assert.Greater(t, timed, tasks/4, "no untimed task was sampled")
	assert.Less(t, timed, tasks/2, "untimed tasks were timed")
	assert.Equal(t, st.Run.Count, st.QueueWait.Count)
	assert.GreaterOrEqual(t, st.Run.Count, uint64(timed), "every timed task is in the histograms")
}
