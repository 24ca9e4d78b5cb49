package actors

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/supervision"
)

// crashWorker makes worker i of pool p crash as a worker (not a contained
// handler panic) does: a dying child process, a stuck runner.
func crashWorker(t *testing.T, n *Node, pool string, i int) {
	t.Helper()
	p := n.byName[pool]
	pid, err := n.system.Root.RequestFuture(p.pid, &childPID{index: i}, 5*time.Second).Result()
	require.NoError(t, err)
	n.system.Root.Send(pid.(*childPIDReply).pid, &crashed{err: ErrWorkerCrashed})
}

func TestBudgetExceededFailsPool(t *testing.T) {
	n, err := NewNode(WithPool(PoolConfig{Name: "p", Workers: 1, Restarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts}}))
	require.NoError(t, err)
	defer n.Shutdown(context.Background())
	release := make(chan struct{})
	running, err := n.TrySubmit(Task{Func: func(context.Context) (any, error) { <-release; return "ok", nil }})
	require.NoError(t, err)
	queued, err := n.TrySubmit(Task{Func: func(context.Context) (any, error) { return "never", nil }})
	require.NoError(t, err)

	crashWorker(t, n, "p", 0)
	// The only worker is gone for good: the queued task fails, not hangs.
	<-queued.Done()
	res, _ := queued.Result()
	require.ErrorIs(t, res.Err, ErrWorkerCrashed)
	_, err = n.TrySubmit(Task{Func: func(context.Context) (any, error) { return nil, nil }})
	require.ErrorIs(t, err, ErrWorkerCrashed)

	// The running task still ends with its own result.
	close(release)
	<-running.Done()
	res, _ = running.Result()
	assert.Equal(t, "ok", res.Value)
	st := n.Stats().Pools[0]
	assert.Equal(t, 1, st.WorkersByState[WorkerDead])
	assert.Equal(t, st.Submitted, st.Completed+st.Failed)
}
