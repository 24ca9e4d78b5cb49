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

// breakerEvents passes a node's breaker transitions to a channel.
type breakerEvents chan supervision.BreakerStateChanged

func (c breakerEvents) hook(e supervision.Event) {
	if bc, ok := e.(supervision.BreakerStateChanged); ok {
		c <- bc
	}
}

// next returns the next transition, or fails the test after 10s.
func (c breakerEvents) next(t *testing.T) supervision.BreakerStateChanged {
	t.Helper()
	select {
	case e := <-c:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no breaker transition within 10s")
		return supervision.BreakerStateChanged{}
	}
}

func failing(context.Context, []byte) ([]byte, error) { return nil, errors.New("backend down") }

func TestBreakerFailingTypeDoesNotRefuseHealthyTypes(t *testing.T) {
	tests := []struct {
		name      string
		scope     actors.BreakerScope
		goodRuns  bool
		poolState supervision.State
	}{
		{"by default only the failing type is refused", actors.BreakerPoolFaults, true, supervision.Closed},
		{"BreakerAllResults refuses every type", actors.BreakerAllResults, false, supervision.Open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t,
				actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, BreakerScope: tt.scope,
					// A long reset timeout: "bad" stays refused for the whole test.
					Breaker: &supervision.BreakerConfig{FailureThreshold: 2, ResetTimeout: time.Minute}}),
				actors.WithHandler("bad", failing),
				actors.WithHandler("good", echo))

			for range 2 {
				f, err := n.Submit(context.Background(), actors.Task{Type: "bad"})
				require.NoError(t, err)
				require.EqualError(t, wait(t, f).Err, "backend down")
			}
			_, err := n.TrySubmit(actors.Task{Type: "bad"})
			require.ErrorIs(t, err, actors.ErrCircuitOpen)

			f, err := n.TrySubmit(actors.Task{Type: "good", Payload: []byte("x")})
			if tt.goodRuns {
				require.NoError(t, err)
				r := wait(t, f)
				require.NoError(t, r.Err)
				assert.Equal(t, "echo:x", string(r.Output))
			} else {
				require.ErrorIs(t, err, actors.ErrCircuitOpen)
			}
			br := n.Stats().Pools[0].Breakers
			assert.Equal(t, supervision.Open, br["bad"])
			assert.Equal(t, tt.poolState, br[""])
		})
	}
}

func TestBreakerRefusedTrialStaysHalfOpen(t *testing.T) {
	events := make(breakerEvents, 64)
	g := newGate()
	var broken atomic.Bool
	broken.Store(true)
	n := newNode(t, actors.WithEventHook(events.hook),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, Concurrency: 1, QueueCapacity: 1,
			// A reset timeout of 1ns: the breaker lets a trial through at
			// the first Submit after it opened, with no waiting in the test.
			Breaker: &supervision.BreakerConfig{FailureThreshold: 1, ResetTimeout: time.Nanosecond}}),
		actors.WithHandler("bad", func(ctx context.Context, p []byte) ([]byte, error) {
			if broken.Load() {
				return nil, errors.New("backend down")
			}
			return p, nil
		}),
		actors.WithHandler("gate", g.handler))
	transition := func(from, to supervision.State) supervision.BreakerStateChanged {
		return supervision.BreakerStateChanged{Pool: "p", TaskType: "bad", From: from, To: to}
	}
	nextOf := func() supervision.BreakerStateChanged {
		e := events.next(t)
		e.At = time.Time{}
		return e
	}

	f, err := n.Submit(context.Background(), actors.Task{Type: "bad"})
	require.NoError(t, err)
	require.Error(t, wait(t, f).Err)
	require.Equal(t, transition(supervision.Closed, supervision.Open), nextOf())

	// Fill the pool: one gate task runs, one waits in the queue.
	running, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("1")})
	require.NoError(t, err)
	<-g.started
	queued, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("2")})
	require.NoError(t, err)

	// The breaker admits a trial, then the queue refuses it: the trial never
	// ran, so the breaker stays half-open.
	_, err = n.TrySubmit(actors.Task{Type: "bad"})
	require.ErrorIs(t, err, actors.ErrQueueFull)
	require.Equal(t, transition(supervision.Open, supervision.HalfOpen), nextOf())
	br := n.Stats().Pools[0].Breakers
	assert.Equal(t, supervision.HalfOpen, br["bad"])
	assert.Equal(t, supervision.Closed, br[""])

	// A trial that runs decides.
	close(g.release)
	require.NoError(t, wait(t, running).Err)
	require.NoError(t, wait(t, queued).Err)
	broken.Store(false)
	f, err = n.TrySubmit(actors.Task{Type: "bad", Payload: []byte("ok")})
	require.NoError(t, err)
	require.NoError(t, wait(t, f).Err)
	require.Equal(t, transition(supervision.HalfOpen, supervision.Closed), nextOf())
	assert.Equal(t, supervision.Closed, n.Stats().Pools[0].Breakers["bad"])
	select {
	case e := <-events:
		t.Fatalf("unexpected transition %+v", e)
	default:
	}
}

func TestBreakerScopeValidation(t *testing.T) {
	_, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, BreakerScope: 7}))
	require.ErrorIs(t, err, actors.ErrInvalidConfig)
	assert.Contains(t, err.Error(), `pool "p": BreakerScope is 7; allowed: BreakerPoolFaults (0) or BreakerAllResults (1)`)
	assert.Equal(t, "pool-faults", actors.BreakerPoolFaults.String())
	assert.Equal(t, "all-results", actors.BreakerAllResults.String())
	assert.Equal(t, "BreakerScope(7)", actors.BreakerScope(7).String())
}
