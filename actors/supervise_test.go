package actors_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

func TestPanicRestartsAreImmediateAndFree(t *testing.T) {
	w := newWatch()
	// A budget of one restart and a backoff longer than the test: handler
	// panics touch neither.
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{
		Name: "p", Workers: 1,
		Restarts: supervision.Intensity{MaxRestarts: 1, Window: time.Hour},
		Backoff:  supervision.Backoff{Initial: time.Hour, Max: time.Hour},
	}))
	for i := range 3 {
		f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { panic(i) })
		require.NoError(t, err)
		require.ErrorIs(t, wait(t, f).Err, actors.ErrPanic)
	}
	w.waitUntil(t, "three restarts", func() bool {
		return w.count(supervision.KindWorkerRestarted) == 3 && n.Stats().Pools[0].Restarts == 3
	})
	w.waitUntil(t, "three failure events", func() bool { return w.count(supervision.KindWorkerFailed) == 3 })
}

// TestPanicsBackToBack: a worker whose next task is waiting when it
// restarts panics again at once, before its pool has heard that it
// started; that crash must still restart it, so that every task ends.
func TestPanicsBackToBack(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	const tasks = 100
	fs := make([]*actors.Future, 0, tasks)
	for i := range tasks {
		f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { panic(i) })
		require.NoError(t, err)
		fs = append(fs, f)
	}
	for _, f := range fs {
		require.ErrorIs(t, wait(t, f).Err, actors.ErrPanic)
	}
	// The worker came up once, then once after each panic.
	for i := range tasks + 1 {
		w.waitFor(t, fmt.Sprintf("worker up #%d", i+1), func(e supervision.Event) bool {
			s, ok := e.(supervision.WorkerStateChanged)
			return ok && s.From == "starting" && (s.To == "idle" || s.To == "busy")
		})
	}
	require.Equal(t, uint64(tasks), n.Stats().Pools[0].Restarts)
}
