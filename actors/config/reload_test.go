package config_test

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/config"
	"github.com/drover-go/drover/supervision"
)

const reloadBefore = `
name = "n"
pool "work" {
  workers        = 2
  strategy       = "weighted"
  queue_capacity = 8
}
`

// Everything that can change live, and some that cannot.
const reloadAfter = `
name = "renamed"
log {
  level = "debug"
}
limits {
  memory_soft = "64GiB"
}
api {
  address = "127.0.0.1:7070"
}
pool "work" {
  workers        = 4
  strategy       = "weighted"
  weights        = [3, 1, 1, 1]
  queue_capacity = 32
  task_timeout   = "5s"
  concurrency    = 2
}
pool "extra" {}
`

func mustParse(t *testing.T, src string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(src), "t.hcl")
	require.NoError(t, err)
	return c
}

func TestReloadUnderLoad(t *testing.T) {
	running := mustParse(t, reloadBefore)
	events := make(chan supervision.Event, 1024)
	n := startNode(t, running, actors.WithEventHook(func(e supervision.Event) {
		select {
		case events <- e:
		default:
		}
	}))
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: io.Discard})

	// Producers submit through the reload; every accepted task must end
	// once, and well.
	var accepted, ok, failed atomic.Int64
	stop, busy := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var wg, results sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				f, err := n.SubmitFunc(context.Background(), "work", func(context.Context) (any, error) { return nil, nil })
				if err != nil {
					continue
				}
				if accepted.Add(1) == 100 {
					once.Do(func() { close(busy) })
				}
				results.Add(1)
				go func() {
					defer results.Done()
					if r, _ := f.Wait(context.Background()); r.Err != nil {
						failed.Add(1)
					} else {
						ok.Add(1)
					}
				}()
			}
		}()
	}

	<-busy
	next := mustParse(t, reloadAfter)
	eff, rep, err := config.Reload(context.Background(), n, logger, running, next)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"log.level", "limits", `pool "work": workers`, `pool "work": weights`,
		`pool "work": queue_capacity`, `pool "work": task_timeout`}, rep.Applied)
	var kept []string
	for _, k := range rep.Kept {
		kept = append(kept, k.Setting)
		assert.NotEmpty(t, k.Reason, k.Setting)
	}
	assert.ElementsMatch(t, []string{"name", "api", `pool "work": concurrency`, `pool "extra"`}, kept)
	assert.Equal(t, "n", eff.Name, "the running name stays in force")
	assert.True(t, logger.IsDebug())

	timeout := time.After(10 * time.Second)
	for n.Stats().Pools[0].WorkersByState[actors.WorkerIdle]+n.Stats().Pools[0].WorkersByState[actors.WorkerBusy] != 4 {
		select {
		case <-events:
		case <-timeout:
			t.Fatal("the pool did not reach four live workers")
		}
	}
	close(stop)
	wg.Wait()
	results.Wait()
	assert.Equal(t, accepted.Load(), ok.Load(), "every accepted task ended well")
	assert.Zero(t, failed.Load())

	st := n.Stats()
	require.Len(t, st.Pools, 1, "no pool is added while the node runs")
	p := st.Pools[0]
	assert.Equal(t, 32, p.QueueCapacity)
	assert.Equal(t, 5*time.Second, p.TaskTimeout)
	assert.Equal(t, 1, p.Concurrency)
	assert.Equal(t, []int{3, 1, 1, 1}, []int{p.WorkerStats[0].Weight, p.WorkerStats[1].Weight, p.WorkerStats[2].Weight, p.WorkerStats[3].Weight})
	assert.Equal(t, uint64(64<<30), n.ResourceLimits().MemorySoft)
	assert.Equal(t, uint64(accepted.Load()), p.Submitted)

	// Reloading the same file again applies nothing and still lists what
	// waits for a restart.
	_, rep, err = config.Reload(context.Background(), n, logger, eff, next)
	require.NoError(t, err)
	assert.Empty(t, rep.Applied)
	assert.Len(t, rep.Kept, 4)
}

func TestReloadOfAnInvalidPoolChangesNothing(t *testing.T) {
	running := mustParse(t, reloadBefore)
	n := startNode(t, running)
	// Parse refuses such a pool; a Config changed in code may still have one.
	next := mustParse(t, "name = \"n\"\npool \"work\" {}\nlimits {\n  memory_soft = \"1GiB\"\n}\n")
	next.Pools[0].Workers, next.Pools[0].MaxWorkers = 9, 4
	eff, rep, err := config.Reload(context.Background(), n, nil, running, next)
	require.ErrorIs(t, err, actors.ErrInvalidConfig)
	assert.Contains(t, err.Error(), `pool "work": Workers is 9; allowed: MinWorkers (1) to MaxWorkers (4)`)
	assert.Same(t, running, eff)
	assert.Empty(t, rep.Applied)
	assert.Equal(t, 2, n.PoolConfigs()[0].Workers)
	assert.Zero(t, n.ResourceLimits(), "the limits did not change either")
}
