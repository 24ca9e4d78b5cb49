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

func TestWeightsSteerTheWeightedStrategy(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "w", Kind: actors.KindIO, Workers: 2, Concurrency: 1000, Strategy: "weighted", QueueCapacity: 1000}))
	ready(t, n)
	require.NoError(t, n.SetWorkerWeight("w", 0, 5))
	require.ErrorIs(t, n.SetWorkerWeight("w", 1, -1), actors.ErrInvalidConfig)
	require.ErrorIs(t, n.SetWorkerWeight("w", 7, 1), actors.ErrInvalidConfig)
	require.ErrorIs(t, n.SetWorkerWeight("x", 0, 1), actors.ErrNoPool)

	const tasks = 600
	release, started := make(chan struct{}), make(chan struct{}, tasks)
	var fs []*actors.Future
	for range tasks {
		f, err := n.SubmitFunc(context.Background(), "w", func(context.Context) (any, error) {
			started <- struct{}{}
			<-release
			return nil, nil
		})
		require.NoError(t, err)
		fs = append(fs, f)
	}
	timeout := time.After(waitTimeout)
	for i := range tasks {
		select {
		case <-started:
		case <-timeout:
			t.Fatalf("%d of %d tasks started within %s", i, tasks, waitTimeout)
		}
	}
	st := n.Stats().Pools[0]
	assert.Equal(t, tasks, st.InFlight)
	assert.Equal(t, 500, st.WorkerStats[0].InFlight, "weights 5:1")
	assert.Equal(t, 100, st.WorkerStats[1].InFlight)
	close(release)
	for _, f := range fs {
		wait(t, f)
	}
}

func TestAllForOneRestartsEveryWorker(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 3, Scope: supervision.AllForOne,
		Backoff: supervision.Backoff{Initial: 1, Max: 1}}))
	ready(t, n)
	require.NoError(t, n.CrashWorker("p", 1))
	w.waitUntil(t, "every worker restarted", func() bool {
		st := n.Stats().Pools[0]
		for _, ws := range st.WorkerStats {
			if ws.Restarts != 1 || ws.State != actors.WorkerIdle {
				return false
			}
		}
		return true
	})
}

func TestDeciderStopsWorker(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2,
		Decider: func(any) supervision.Directive { return supervision.Stop }}))
	ready(t, n)
	require.NoError(t, n.CrashWorker("p", 0))
	w.waitFor(t, "w0 dead", workerState("p/w0", "dead"))
	assert.Equal(t, actors.WorkerDead, n.Stats().Pools[0].WorkerStats[0].State, "w0 stopped for good")
	f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { return "ok", nil })
	require.NoError(t, err)
	r := wait(t, f)
	assert.Equal(t, "p/w1", r.Worker)
}
