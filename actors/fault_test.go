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

func TestBreakerOpensAndFailsFast(t *testing.T) {
	w := newWatch()
	var failing atomic.Bool
	failing.Store(true)
	const resetTimeout = 100 * time.Millisecond
	n := newNode(t, w.option(),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, BreakerScope: actors.BreakerAllResults,
			Breaker: &supervision.BreakerConfig{FailureThreshold: 3, ResetTimeout: resetTimeout}}),
		actors.WithHandler("flaky", func(context.Context, []byte) ([]byte, error) {
			if failing.Load() {
				return nil, errors.New("backend down")
			}
			return []byte("ok"), nil
		}),
		actors.WithHandler("other", echo))
	for range 3 {
		f, err := n.Submit(context.Background(), actors.Task{Type: "flaky"})
		require.NoError(t, err)
		require.Error(t, wait(t, f).Err)
	}
	// Open: refused at Submit, never accepted.
	_, err := n.TrySubmit(actors.Task{Type: "flaky"})
	require.ErrorIs(t, err, actors.ErrCircuitOpen)
	assert.Equal(t, supervision.Open, n.Stats().Pools[0].Breakers[""])
	assert.Equal(t, supervision.Open, n.Stats().Pools[0].Breakers["flaky"])

	// After the reset timeout a trial goes through and closes both. The
	// timeout runs on the wall clock, and a breaker turns half-open only
	// when a task asks, with no event before: the test waits it out. Both
	// breakers opened when the third failure was counted, before its
	// Future was done, so both are past the timeout then.
	failing.Store(false)
	<-time.After(resetTimeout)
	f, err := n.TrySubmit(actors.Task{Type: "flaky"})
	require.NoError(t, err, "the trial")
	require.NoError(t, wait(t, f).Err)
	assert.Equal(t, supervision.Closed, n.Stats().Pools[0].Breakers["flaky"])
	w.waitUntil(t, "open, half-open and closed for both breakers", func() bool { return w.count(supervision.KindBreakerStateChanged) >= 6 })
	st := n.Stats().Pools[0]
	assert.Equal(t, st.Submitted, st.Completed+st.Failed)
}

func TestRetryTransientErrors(t *testing.T) {
	var calls atomic.Int32
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}),
		actors.WithHandler("eventually", func(context.Context, []byte) ([]byte, error) {
			if calls.Add(1) < 3 {
				return nil, actors.Transient(errors.New("try again"))
			}
			return []byte("done"), nil
		}),
		actors.WithHandler("fatal", func(context.Context, []byte) ([]byte, error) {
			calls.Add(1)
			return nil, errors.New("bad input")
		}))
	retry := actors.RetryPolicy{MaxAttempts: 5, Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}
	f, err := n.Submit(context.Background(), actors.Task{Type: "eventually", Retry: retry})
	require.NoError(t, err)
	r := wait(t, f)
	require.NoError(t, r.Err)
	assert.Equal(t, "done", string(r.Output))
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, uint64(2), n.Stats().Pools[0].Retries)

	// A non-transient error is final.
	calls.Store(0)
	f, err = n.Submit(context.Background(), actors.Task{Type: "fatal", Retry: retry})
	require.NoError(t, err)
	require.EqualError(t, wait(t, f).Err, "bad input")
	assert.Equal(t, int32(1), calls.Load())

	// Attempts run out: the last transient error is the result.
	calls.Store(-100)
	f, err = n.Submit(context.Background(), actors.Task{Type: "eventually", Retry: actors.RetryPolicy{MaxAttempts: 2, Backoff: retry.Backoff}})
	require.NoError(t, err)
	require.ErrorIs(t, wait(t, f).Err, actors.ErrTransient)
	st := n.Stats().Pools[0]
	assert.Equal(t, uint64(3), st.Submitted)
	assert.Equal(t, st.Submitted, st.Completed+st.Failed)
}

func TestPoisonTaskQuarantined(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QuarantineAfter: 2}))
	poison := actors.Task{ID: "job-7", Func: func(context.Context) (any, error) { panic("poison") }}
	for range 2 {
		f, err := n.Submit(context.Background(), poison)
		require.NoError(t, err)
		require.ErrorIs(t, wait(t, f).Err, actors.ErrPanic)
	}
	_, err := n.Submit(context.Background(), poison)
	require.ErrorIs(t, err, actors.ErrQuarantined)
	q := w.waitFor(t, "quarantine", ofKind(supervision.KindTaskQuarantined)).(supervision.TaskQuarantined)
	assert.Equal(t, "job-7", q.TaskID)
	assert.Equal(t, 1, w.count(supervision.KindTaskQuarantined))
	// Other tasks are not affected.
	f, err := n.Submit(context.Background(), actors.Task{ID: "job-8", Func: func(context.Context) (any, error) { return 1, nil }})
	require.NoError(t, err)
	require.NoError(t, wait(t, f).Err)
	assert.Equal(t, uint64(1), n.Stats().Pools[0].Quarantined)
}

func TestPoolRetryIsTheDefaultOfItsTasks(t *testing.T) {
	var calls atomic.Int32
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1,
		Retry: actors.RetryPolicy{MaxAttempts: 3, Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}}),
		actors.WithHandler("flaky", func(context.Context, []byte) ([]byte, error) {
			if calls.Add(1) < 3 {
				return nil, actors.Transient(errors.New("try again"))
			}
			return []byte("done"), nil
		}))
	f, err := n.Submit(context.Background(), actors.Task{Type: "flaky"})
	require.NoError(t, err)
	require.NoError(t, wait(t, f).Err)
	assert.Equal(t, int32(3), calls.Load())

	// A task's own policy wins over the pool's.
	calls.Store(0)
	f, err = n.Submit(context.Background(), actors.Task{Type: "flaky", Retry: actors.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	require.ErrorIs(t, wait(t, f).Err, actors.ErrTransient)
	assert.Equal(t, int32(1), calls.Load())
}
