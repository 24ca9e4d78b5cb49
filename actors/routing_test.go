package actors_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

func TestWeightsSteerTheWeightedStrategy(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "w", Kind: actors.KindIO, Workers: 2, Concurrency: 1000, Strategy: "weighted", QueueCapacity: 1000}))
	eventually(t, "both workers", func() bool { return n.Stats().Pools[0].WorkersByState[actors.WorkerIdle] == 2 })
	require.NoError(t, n.SetWorkerWeight("w", 0, 5))
	require.ErrorIs(t, n.SetWorkerWeight("w", 1, -1), actors.ErrInvalidConfig)
	require.ErrorIs(t, n.SetWorkerWeight("w", 7, 1), actors.ErrInvalidConfig)
	require.ErrorIs(t, n.SetWorkerWeight("x", 0, 1), actors.ErrNoPool)

	release := make(chan struct{})
	var fs []*actors.Future
	for range 600 {
		f, err := n.SubmitFunc(context.Background(), "w", func(context.Context) (any, error) { <-release; return nil, nil })
		require.NoError(t, err)
		fs = append(fs, f)
	}
	eventually(t, "every task to start", func() bool { return n.Stats().Pools[0].InFlight == 600 })
	st := n.Stats().Pools[0]
	assert.Equal(t, 500, st.WorkerStats[0].InFlight, "weights 5:1")
	assert.Equal(t, 100, st.WorkerStats[1].InFlight)
	close(release)
	for _, f := range fs {
		wait(t, f)
	}
}

func TestAllForOneRestartsEveryWorker(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 3, Scope: supervision.AllForOne,
		Backoff: supervision.Backoff{Initial: 1, Max: 1}}))
	eventually(t, "three workers", func() bool { return n.Stats().Pools[0].WorkersByState[actors.WorkerIdle] == 3 })
	require.NoError(t, n.CrashWorker("p", 1))
	eventually(t, "every worker restarted", func() bool {
		st := n.Stats().Pools[0]
		for _, w := range st.WorkerStats {
			if w.Restarts != 1 || w.State != actors.WorkerIdle {
				return false
			}
		}
		return true
	})
}

func TestDeciderStopsWorker(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2,
		Decider: func(any) supervision.Directive { return supervision.Stop }}))
	eventually(t, "two workers", func() bool { return n.Stats().Pools[0].WorkersByState[actors.WorkerIdle] == 2 })
	require.NoError(t, n.CrashWorker("p", 0))
	eventually(t, "w0 stopped for good", func() bool { return n.Stats().Pools[0].WorkerStats[0].State == actors.WorkerDead })
	f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { return "ok", nil })
	require.NoError(t, err)
	r := wait(t, f)
	assert.Equal(t, "p/w1", r.Worker)
}
