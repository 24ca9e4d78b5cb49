package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

func TestBudgetExceededFailsPool(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1,
		Restarts:     supervision.Intensity{MaxRestarts: supervision.NoRestarts},
		PoolRestarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts}}))
	release, started := make(chan struct{}), make(chan struct{})
	running, err := n.TrySubmit(actors.Task{Func: func(context.Context) (any, error) { close(started); <-release; return "ok", nil }})
	require.NoError(t, err)
	queued, err := n.TrySubmit(actors.Task{Func: func(context.Context) (any, error) { return "never", nil }})
	require.NoError(t, err)
	<-started

	require.NoError(t, n.CrashWorker("p", 0))
	// The only worker is gone for good: the queued task fails, not hangs.
	require.ErrorIs(t, wait(t, queued).Err, actors.ErrWorkerCrashed)
	_, err = n.TrySubmit(actors.Task{Func: func(context.Context) (any, error) { return nil, nil }})
	require.ErrorIs(t, err, actors.ErrWorkerCrashed)

	// The running task still ends with its own result.
	close(release)
	assert.Equal(t, "ok", wait(t, running).Value)
	st := n.Stats().Pools[0]
	assert.Equal(t, 1, st.WorkersByState[actors.WorkerDead])
	assert.Equal(t, st.Submitted, st.Completed+st.Failed)

	w.waitFor(t, "pool failed", ofKind(supervision.KindPoolFailed))
	assert.Equal(t, 1, w.count(supervision.KindPoolFailed))
	require.ErrorIs(t, n.CrashWorker("p", 0), actors.ErrWorkerCrashed)
	require.ErrorIs(t, n.CrashWorker("p", 3), actors.ErrInvalidTask)
	require.ErrorIs(t, n.CrashWorker("q", 0), actors.ErrNoPool)
}

func TestFailedPoolIsRestarted(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2,
		Restarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts},
		Backoff:  supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}))
	ready(t, n)
	require.NoError(t, n.CrashWorker("p", 0))
	require.NoError(t, n.CrashWorker("p", 1))
	w.waitFor(t, "pool failed", ofKind(supervision.KindPoolFailed))
	assert.Equal(t, 1, w.count(supervision.KindPoolFailed))
	// Tasks submitted meanwhile wait for the restart instead of failing.
	f, err := n.Submit(context.Background(), actors.Task{Func: func(context.Context) (any, error) { return "after", nil }})
	require.NoError(t, err)
	assert.Equal(t, "after", wait(t, f).Value)
	w.waitUntil(t, "both workers back", func() bool { return n.Stats().Pools[0].WorkersByState[actors.WorkerIdle] == 2 })
}
