package actors_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

func TestUnhealthyWorkerIsRestarted(t *testing.T) {
	w := newWatch()
	var sick atomic.Bool
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{
		Name: "p", Workers: 2,
		Health:  &supervision.HealthPolicy{Interval: 2 * time.Millisecond, Timeout: time.Millisecond, FailureThreshold: 3},
		Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
		HealthCheck: func(_ context.Context, worker string) error {
			if worker == "p/w1" && sick.Load() {
				return errors.New("lost its connection")
			}
			return nil
		},
	}))
	ready(t, n)
	sick.Store(true)
	u := w.waitFor(t, "w1 unhealthy", ofKind(supervision.KindWorkerUnhealthy)).(supervision.WorkerUnhealthy)
	assert.Equal(t, "p/w1", u.Worker)
	sick.Store(false)
	w.waitUntil(t, "w1 restarted", func() bool {
		st := n.Stats().Pools[0]
		return st.Unhealthy >= 1 && st.WorkerStats[1].Restarts >= 1 && st.WorkerStats[1].State == actors.WorkerIdle
	})
	st := n.Stats().Pools[0]
	assert.Zero(t, st.WorkerStats[0].Restarts, "the healthy worker is left alone")
	f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { return 1, nil })
	require.NoError(t, err)
	require.NoError(t, wait(t, f).Err)
}

func TestStateTransitionsAreEvents(t *testing.T) {
	w := newWatch()
	n, err := actors.NewNode(w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	require.NoError(t, err)
	f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { return nil, nil })
	require.NoError(t, err)
	require.NoError(t, wait(t, f).Err)
	_, err = n.Shutdown(context.Background())
	require.NoError(t, err)
	var moves []string
	for _, e := range w.events() {
		if sc, ok := e.(supervision.WorkerStateChanged); ok {
			moves = append(moves, sc.From+">"+sc.To)
		}
	}
	// The task may come before or after the worker is idle.
	assert.Subset(t, moves, []string{"starting>idle", "idle>busy", "busy>idle", "idle>stopping", "stopping>dead"})
	assert.Zero(t, n.Stats().DroppedEvents)
}
