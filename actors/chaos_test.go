package actors_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// TestChaos runs many tasks with 1% panics, 0.1% handlers that ignore
// their context past the timeout, and random worker crashes, and checks
// that every accepted task gets exactly one result and that no goroutine
// outlives the node. DROVER_CHAOS_TASKS scales it (bench/soak.sh runs 1M).
func TestChaos(t *testing.T) {
	tasks := 100_000
	if testing.Short() {
		tasks = 10_000
	}
	if s := os.Getenv("DROVER_CHAOS_TASKS"); s != "" {
		var err error
		tasks, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	baseline := runtime.NumGoroutine()
	backoff := supervision.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}
	budget := supervision.Intensity{MaxRestarts: 1000, Window: time.Second}
	n, err := actors.NewNode(
		actors.WithPool(actors.PoolConfig{Name: "cpu", Workers: 4, QueueCapacity: 256, StuckGrace: 5 * time.Millisecond, Backoff: backoff, Restarts: budget}),
		actors.WithPool(actors.PoolConfig{Name: "io", Kind: actors.KindIO, Workers: 2, Concurrency: 16, QueueCapacity: 256, StuckGrace: 5 * time.Millisecond, Backoff: backoff, Restarts: budget}),
		actors.WithHandler("chaos", func(ctx context.Context, p []byte) ([]byte, error) {
			switch p[0] {
			case 'p':
				panic("injected panic")
			case 'h':
				// Ignores its context well past its timeout, then returns.
				time.Sleep(20 * time.Millisecond)
				return nil, ctx.Err()
			}
			return p, nil
		}))
	require.NoError(t, err)

	var accepted, refused, results, failed, timeouts atomic.Int64
	var reasons sync.Map
	futures := make(chan *actors.Future, 1024)
	var consumers sync.WaitGroup
	for range 4 {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			for f := range futures {
				<-f.Done()
				r, ok := f.Result()
				if !ok {
					t.Error("done future without a result")
				}
				results.Add(1)
				if r.Err != nil {
					failed.Add(1)
					reasons.Store(actors.ErrorCode(r.Err).String(), true)
					if errors.Is(r.Err, actors.ErrTimeout) {
						timeouts.Add(1)
					}
				}
			}
		}()
	}
	stopKiller := make(chan struct{})
	var killer sync.WaitGroup
	var kills atomic.Int64
	killer.Add(1)
	go func() {
		defer killer.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopKiller:
				return
			case <-tick.C:
				pool, i := "cpu", rng.IntN(4)
				if rng.IntN(2) == 0 {
					pool, i = "io", rng.IntN(2)
				}
				if n.CrashWorker(pool, i) == nil {
					kills.Add(1)
				}
			}
		}
	}()
	var producers sync.WaitGroup
	per := tasks / 4
	for g := range 4 {
		producers.Add(1)
		go func() {
			defer producers.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range per {
				kind := byte('o')
				switch x := rng.IntN(1000); {
				case x < 10:
					kind = 'p'
				case x < 11:
					kind = 'h'
				}
				pool := "cpu"
				if i%3 == 0 {
					pool = "io"
				}
				f, err := n.Submit(context.Background(), actors.Task{Type: "chaos", Pool: pool, Payload: []byte{kind}, Timeout: 5 * time.Millisecond})
				if err != nil {
					t.Errorf("refused: %v", err)
					refused.Add(1)
					return
				}
				accepted.Add(1)
				futures <- f
			}
		}()
	}
	producers.Wait()
	close(stopKiller)
	killer.Wait()
	close(futures)
	consumers.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := n.Shutdown(ctx)
	require.NoError(t, err)

	assert.Zero(t, refused.Load(), "Submit waits for room; nothing is refused")
	assert.Equal(t, accepted.Load(), results.Load(), "one result per accepted task")
	var submitted, ended, restarts uint64
	for _, p := range n.Stats().Pools {
		submitted += p.Submitted
		ended += p.Completed + p.Failed
		restarts += p.Restarts
	}
	assert.Equal(t, uint64(accepted.Load()), submitted)
	assert.Equal(t, submitted, ended, "no result counted twice, none missing")
	assert.Positive(t, failed.Load())
	assert.Positive(t, kills.Load())
	assert.Positive(t, restarts)
	assert.Zero(t, rep.Abandoned)
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), baseline, "goroutines back to the baseline")
	var rs []string
	reasons.Range(func(k, _ any) bool { rs = append(rs, k.(string)); return true })
	t.Logf("tasks %d, failed %d (timeouts %d; %v), worker kills %d, restarts %d", accepted.Load(), failed.Load(), timeouts.Load(), rs, kills.Load(), restarts)
}
