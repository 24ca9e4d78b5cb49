package actors_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
)

// Envelopes still in a pool actor's mailbox when Shutdown comes are
// answered, and so are envelopes sent after it.
func TestShutdownAnswersEveryEnvelope(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(discardLogger))
	defer sys.Shutdown()
	g := newGate()
	n, err := actors.NewNode(actors.WithActorSystem(sys), actors.WithHandler("gate", g.handler),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 100}))
	require.NoError(t, err)
	pid, _ := n.PoolPID("p")
	const sent = 2000
	futures := make([]*actor.Future, 0, sent)
	for range sent {
		futures = append(futures, sys.Root.RequestFuture(pid, &protos.TaskEnvelope{Type: "gate"}, 20*time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _ = n.Shutdown(ctx)
	close(g.release)
	for i, f := range futures {
		res, err := f.Result()
		require.NoError(t, err, "envelope %d got no answer", i)
		_, ok := res.(*protos.TaskResult)
		require.True(t, ok, "envelope %d: %T", i, res)
	}
	res, err := sys.Root.RequestFuture(pid, &protos.TaskEnvelope{Type: "gate"}, 5*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN, res.(*protos.TaskResult).GetError().GetCode())
}

// The event hook may call Shutdown: it does not wait for itself.
func TestShutdownFromEventHook(t *testing.T) {
	var n *actors.Node
	ready := make(chan struct{})
	returned := make(chan error, 1)
	var once sync.Once
	hook := func(e supervision.Event) {
		if _, ok := e.(supervision.WorkerFailed); !ok {
			return
		}
		once.Do(func() {
			<-ready
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := n.Shutdown(ctx)
			returned <- err
		})
	}
	var err error
	n, err = actors.NewNode(actors.WithEventHook(hook), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2}))
	require.NoError(t, err)
	close(ready)
	require.NoError(t, n.WaitReady(context.Background()))
	require.NoError(t, n.CrashWorker("p", 0))
	select {
	case err := <-returned:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown from the hook did not return")
	}
	select {
	case <-n.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done did not close")
	}
}

// TestShutdownStartedFromAHandler: a handler that stops its node starts
// Shutdown on a goroutine of its own, as Shutdown's doc says, and returns:
// its own task drains with its result, and nothing is abandoned.
func TestShutdownStartedFromAHandler(t *testing.T) {
	var n *actors.Node
	type stopped struct {
		rep actors.ShutdownReport
		err error
	}
	done := make(chan stopped, 1)
	stop := func(ctx context.Context, _ []byte) ([]byte, error) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := n.Shutdown(ctx)
			done <- stopped{rep, err}
		}()
		return []byte("bye"), nil
	}
	var err error
	n, err = actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}), actors.WithHandler("stop", stop))
	require.NoError(t, err)
	f, err := n.Submit(context.Background(), actors.Task{Type: "stop"})
	require.NoError(t, err)
	r, err := f.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "bye", string(r.Output))
	select {
	case s := <-done:
		require.NoError(t, s.err)
		assert.Zero(t, s.rep.Abandoned)
		assert.Zero(t, s.rep.Failed)
	case <-time.After(time.Minute):
		t.Fatal("Shutdown did not return")
	}
}

// A pool waiting for its own restart cannot run its queue: Shutdown fails
// the queue at once, even with a context that never ends.
func TestShutdownDrainsPoolWaitingForRestart(t *testing.T) {
	w := newWatch()
	n, err := actors.NewNode(w.option(), actors.WithHandler("echo", echo),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1,
			Restarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts},
			Backoff:  supervision.Backoff{Initial: time.Hour, Max: time.Hour}}))
	require.NoError(t, err)
	require.NoError(t, n.WaitReady(context.Background()))
	require.NoError(t, n.CrashWorker("p", 0))
	w.waitFor(t, "pool restarting", poolState("p", "restarting"))
	f, err := n.TrySubmit(actors.Task{Type: "echo"})
	require.NoError(t, err, "a restarting pool queues tasks")
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = n.Shutdown(context.Background())
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	assert.ErrorIs(t, wait(t, f).Err, actors.ErrShuttingDown)
}

// A crashed worker leaves routing at once, for its whole backoff.
func TestCrashedWorkerLeavesRoutingAtOnce(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithHandler("echo", echo),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2,
			Backoff: supervision.Backoff{Initial: time.Hour, Max: time.Hour}}))
	require.NoError(t, n.WaitReady(context.Background()))
	require.NoError(t, n.CrashWorker("p", 0))
	w.waitFor(t, "w0 out of routing", workerState("p/w0", "starting"))
	for range 30 {
		f, err := n.TrySubmit(actors.Task{Type: "echo"})
		require.NoError(t, err)
		r := wait(t, f)
		require.NoError(t, r.Err)
		assert.Equal(t, "p/w1", r.Worker)
	}
	assert.ErrorIs(t, n.CrashWorker("p", 0), actors.ErrWorkerCrashed, "a worker in its backoff is not live")
}

// A Decider's Escalate fails the pool to the root, which restarts it
// cleanly: fresh workers that take tasks again.
func TestEscalateRestartsThePool(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithHandler("echo", echo),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 2,
			Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
			Decider: func(any) supervision.Directive { return supervision.Escalate }}))
	require.NoError(t, n.WaitReady(context.Background()))
	require.NoError(t, n.CrashWorker("p", 1))
	w.waitFor(t, "pool restarting", poolState("p", "restarting"))
	w.waitFor(t, "pool running again", poolState("p", "running"))
	for range 10 {
		f, err := n.TrySubmit(actors.Task{Type: "echo"})
		require.NoError(t, err)
		require.NoError(t, wait(t, f).Err)
	}
	st := n.Stats().Pools[0]
	assert.Equal(t, 2, st.WorkersByState[actors.WorkerIdle]+st.WorkersByState[actors.WorkerBusy])
}

// TotalRestarts bounds the restarts of all the workers together: the
// crash past it fails the pool to the root, which restarts every worker;
// the per-worker budgets alone would not have tripped.
func TestTotalRestartsFailsThePool(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithHandler("echo", echo),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 3,
			Backoff:       supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
			TotalRestarts: supervision.Intensity{MaxRestarts: 2, Window: time.Hour}}))
	require.NoError(t, n.WaitReady(context.Background()))
	for i := range 2 {
		require.NoError(t, n.CrashWorker("p", i))
		w.waitFor(t, "worker restarted", ofKind(supervision.KindWorkerRestarted))
	}
	require.NoError(t, n.CrashWorker("p", 2))
	failed := w.waitFor(t, "pool failed", ofKind(supervision.KindPoolFailed)).(supervision.PoolFailed)
	assert.ErrorIs(t, failed.Reason, actors.ErrWorkerCrashed)
	assert.Contains(t, failed.Reason.Error(), "TotalRestarts")
	w.waitFor(t, "pool running again", poolState("p", "running"))
	for range 10 {
		f, err := n.TrySubmit(actors.Task{Type: "echo"})
		require.NoError(t, err)
		require.NoError(t, wait(t, f).Err)
	}
}

// A pool restarted more often than PoolRestarts is given up: its queued
// and new tasks fail with ErrWorkerCrashed.
func TestPoolGivenUpPastPoolRestarts(t *testing.T) {
	w := newWatch()
	n := newNode(t, w.option(), actors.WithHandler("echo", echo),
		actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1,
			Restarts:     supervision.Intensity{MaxRestarts: supervision.NoRestarts},
			PoolRestarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts}}))
	require.NoError(t, n.WaitReady(context.Background()))
	require.NoError(t, n.CrashWorker("p", 0))
	w.waitFor(t, "pool failed", poolState("p", "failed"))
	_, err := n.TrySubmit(actors.Task{Type: "echo"})
	assert.ErrorIs(t, err, actors.ErrWorkerCrashed)
}

// Submit's context bounds the submission only; Task.Context and
// Future.Cancel cancel a task.
func TestContextSemantics(t *testing.T) {
	g := newGate()
	n := newNode(t, actors.WithHandler("gate", g.handler), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	f, err := n.Submit(ctx, actors.Task{Type: "gate", Payload: []byte("a")})
	cancel() // the idiomatic defer cancel() after an accepted submit
	require.NoError(t, err)
	<-g.started

	queued, err := n.TrySubmit(actors.Task{Type: "gate", Payload: []byte("b")})
	require.NoError(t, err)
	assert.True(t, queued.Cancel())
	assert.False(t, queued.Cancel(), "a second Cancel finds the result there")
	assert.ErrorIs(t, wait(t, queued).Err, actors.ErrCanceled)

	ended, stop := context.WithCancel(context.Background())
	stop()
	_, err = n.TrySubmit(actors.Task{Type: "gate", Context: ended})
	assert.ErrorIs(t, err, actors.ErrCanceled)

	close(g.release)
	require.NoError(t, wait(t, f).Err, "canceling Submit's context after it returned does not touch the task")
}

// Every transition the pool made is one the state machine allows.
func TestPoolStateChangesAreEvents(t *testing.T) {
	w := newWatch()
	n, err := actors.NewNode(w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	require.NoError(t, err)
	w.waitFor(t, "running", poolState("p", "running"))
	_, err = n.Shutdown(context.Background())
	require.NoError(t, err)
	w.waitFor(t, "halted", poolState("p", "halted"))
	assert.Equal(t, actors.PoolHalted, n.Stats().Pools[0].State)
	var errs []error
	for _, e := range w.events() {
		if s, ok := e.(supervision.PoolStateChanged); ok && s.From == s.To {
			errs = append(errs, errors.New(s.String()))
		}
	}
	assert.Empty(t, errs)
}

// largePool is the size of the pools of TestLargePool: 10,000 workers, or
// 2,000 under the race detector, which allows 8,128 goroutines at once.
func largePool() int {
	if raceEnabled {
		return 2_000
	}
	return 10_000
}

// TestLargePool starts and stops pools of many workers, whose first start
// the pool actor makes itself: a Shutdown right after NewNode, while the
// pool actor spawns, stops every worker and answers every task; in a pool
// that came up,
// every worker takes a task, those whose first task panics restart on
// their own actors and take another, and Shutdown stops them all.
// goleak (TestMain) checks that no runner or actor goroutine is left.
func TestLargePool(t *testing.T) {
	size := largePool()
	t.Run("shutdown right after NewNode", func(t *testing.T) {
		n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Workers: size, QueueCapacity: size}))
		require.NoError(t, err)
		var fs []*actors.Future
		for range 100 {
			f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { return nil, nil })
			require.NoError(t, err)
			fs = append(fs, f)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = n.Shutdown(ctx)
		require.NoError(t, err)
		for _, f := range fs {
			assert.NoError(t, wait(t, f).Err)
		}
		st := n.Stats().Pools[0]
		assert.Equal(t, actors.PoolHalted, st.State)
		assert.Equal(t, size, st.WorkersByState[actors.WorkerDead], "every worker stopped")
	})
	t.Run("every worker runs, crashes and stops", func(t *testing.T) {
		w := newWatch()
		n, err := actors.NewNode(w.option(), actors.WithPool(actors.PoolConfig{Name: "p", Workers: size, QueueCapacity: size}))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		started := make(chan struct{}, size)
		release := make(chan struct{})
		gated := func(context.Context) (any, error) {
			started <- struct{}{}
			<-release
			return nil, nil
		}
		crashes := size / 10
		var panics, fs []*actors.Future
		for i := range size {
			task := gated
			if i%10 == 0 {
				task = func(context.Context) (any, error) { panic("at once") }
			}
			f, err := n.SubmitFunc(ctx, "p", task)
			require.NoError(t, err)
			if i%10 == 0 {
				panics = append(panics, f)
			} else {
				fs = append(fs, f)
			}
		}
		for _, f := range panics {
			require.ErrorIs(t, wait(t, f).Err, actors.ErrPanic)
		}
		for range crashes { // they run on the restarted workers
			f, err := n.SubmitFunc(ctx, "p", gated)
			require.NoError(t, err)
			fs = append(fs, f)
		}
		for range size { // one gated task on each worker at once
			select {
			case <-started:
			case <-ctx.Done():
				t.Fatal("not every worker took a task")
			}
		}
		require.NoError(t, n.WaitReady(ctx))
		// A restarted worker's runner may take the task waiting in its inbox
		// before the pool actor has heard of its start: the pool's view
		// settles with the events that tell it.
		w.waitUntil(t, "every restart counted and every worker busy", func() bool {
			st := n.Stats().Pools[0]
			return st.Restarts == uint64(crashes) && st.WorkersByState[actors.WorkerBusy] == size
		})
		close(release)
		for _, f := range fs {
			assert.NoError(t, wait(t, f).Err)
		}
		_, err = n.Shutdown(ctx)
		require.NoError(t, err)
		st := n.Stats().Pools[0]
		assert.Equal(t, actors.PoolHalted, st.State)
		assert.Equal(t, size, st.WorkersByState[actors.WorkerDead], "every worker stopped")
	})
}
