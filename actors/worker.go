package actors

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/protos"
)

// WorkerState is where a worker is in its life.
type WorkerState uint8

// Worker states.
const (
	// WorkerStarting: spawned or restarting, not yet taking work.
	WorkerStarting WorkerState = iota
	// WorkerIdle: taking work, none in flight.
	WorkerIdle
	// WorkerBusy: running at least one task.
	WorkerBusy
	// WorkerStopping: finishing its tasks before it stops.
	WorkerStopping
	// WorkerUnhealthy: failed its health checks; out of routing.
	WorkerUnhealthy
	// WorkerDead: stopped for good.
	WorkerDead
)

var workerStateNames = [...]string{"starting", "idle", "busy", "stopping", "unhealthy", "dead"}

// String returns the state's name, as in "idle".
func (s WorkerState) String() string {
	if int(s) < len(workerStateNames) {
		return workerStateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// live reports whether a worker in state s takes work.
func (s WorkerState) live() bool { return s == WorkerIdle || s == WorkerBusy }

// worker is one routee of a pool: a protoactor actor that owns the
// goroutines (runners) that execute its tasks. The actor is the control
// plane (start, restart, stop); runners are the data plane and read the
// worker's inbox, which outlives restarts so that no dispatched task is lost.
//
// Its lifecycle (state, pid, inc, be, restarts, active, retiring) is written
// by the pool actor only, under pool.mu; the data plane flips a live worker
// between idle and busy as its load changes, and nothing else.
type worker struct {
	pool  *pool
	id    int
	name  string
	inbox chan *Future

	// The fields above are read on every task (a result names its worker);
	// those below are written as tasks run. Apart, a reader of the name
	// does not wait for the line that runners write.
	_ [64]byte

	// completed counts the tasks its runners completed; Stats sums the
	// workers' counts, so that runners of different workers share no
	// counter on the per-task path.
	completed atomic.Uint64

	// under pool.mu
	running   jobList // the tasks handed to it, in its inbox or running
	state     WorkerState
	inflight  int
	weight    int // its share for the weighted strategy, as given to the router
	restarts  uint64
	started   uint64       // incarnations that came up
	active    bool         // a live slot (false: a parked slot of a dynamic pool)
	retiring  bool         // stopped by the autoscaler, not failed
	idleSince int64        // node clock when it last became idle
	inc       *incarnation // the live incarnation, nil while not live
	be        backend      // the live incarnation's backend, or nil
	pid       *actor.PID   // the worker's actor while it exists
}

// crashed makes a worker actor fail, so that the pool's supervision
// strategy decides what follows. It names the incarnation it is meant for:
// a crash for an earlier one is dropped.
type crashed struct {
	err error
	inc *incarnation
}

// backend runs the tasks of one worker incarnation outside the process's
// own handlers: the child process of a KindProcess worker. In-process
// workers have none and call the handler directly.
type backend interface {
	// call runs one task. err is the task's error; crash, when not nil, says
	// the backend itself failed (the child died, wrote garbage, ...): the
	// task's result is crash and the worker restarts.
	call(ctx context.Context, f *Future) (out []byte, err error, crash error)
	// close releases the backend (stops the child) once its runners are done.
	close()
}

// cpuCaller is implemented by backends that measure the CPU time of each
// task (a child process reports its handler thread's CPU clock).
type cpuCaller interface {
	callCPU(ctx context.Context, f *Future) (out []byte, cpu time.Duration, err, crash error)
}

// incarnation is one life of a worker actor: its runners stop when stop
// closes, and their handlers' contexts end when ctx does.
type incarnation struct {
	w *worker
	// self is the worker's actor. The pool actor alone reads it; it sets
	// it after the spawn for an incarnation it starts itself.
	self *actor.PID
	pool *actor.PID // the pool actor, which owns the worker's lifecycle
	sys  *actor.ActorSystem
	ctx  context.Context
	stop chan struct{}
	// halted is set just before stop closes: runners read it between
	// tasks, where an atomic load costs less than a select.
	halted atomic.Bool
	be     backend // nil for in-process workers
}

type workerActor struct {
	w   *worker
	inc *incarnation
}

func (a *workerActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		if a.inc == nil { // else the pool actor started it (poolActor.spawn)
			a.start(c)
		}
	case *crashed:
		if m.inc == a.inc && a.inc != nil {
			panic(m.err)
		}
	case refresh:
		if m.inc == a.inc && a.inc != nil {
			// Resumed after a crash: fresh runners, same actor.
			a.halt(c, workerDown{})
			a.start(c)
		}
	case *protos.HealthPing:
		a.answerPing(c, m)
	case *actor.Restarting:
		a.halt(c, workerDown{restart: true})
		a.w.pool.node.logger.Debug("worker restarting", "worker", a.w.name)
	case *actor.Stopping:
		a.halt(c, workerDown{stop: true})
	}
}

func (a *workerActor) start(c actor.Context) {
	w, p := a.w, a.w.pool
	inc := newIncarnation(w, c.Self(), c.Parent(), c.ActorSystem())
	if p.cfg.Kind == KindProcess {
		be, err := newProcessBackend(p.proc.ctx(), p, w)
		if err != nil && p.proc.halting() {
			return // the node is stopping: the child was killed
		}
		if err != nil {
			// The pool's supervision restarts the worker (with backoff).
			panic(fmt.Errorf("%w: worker %s: start: %w", ErrWorkerCrashed, w.name, err))
		}
		inc.be = be
	}
	p.mu.Lock()
	if p.runnersStopped {
		p.mu.Unlock()
		if inc.be != nil {
			inc.be.close() // may wait for the child: not under the lock
		}
		return // a restart racing the node's stop
	}
	p.runners += p.cfg.Concurrency
	p.mu.Unlock()
	a.inc = inc
	// workerStarted goes first: a runner that panics at once sends
	// crashWorker for this incarnation, which the pool actor must not take
	// for a stale one (it would drop it and route to runners that are gone).
	c.Send(inc.pool, workerStarted{w: w, inc: inc})
	for range p.cfg.Concurrency {
		go inc.run()
	}
}

// newIncarnation returns a new life of w's actor self, whose pool actor is
// pool; it is not live until the pool actor puts it in routing.
func newIncarnation(w *worker, self, pool *actor.PID, sys *actor.ActorSystem) *incarnation {
	return &incarnation{w: w, self: self, pool: pool, sys: sys, ctx: w.pool.runCtx, stop: make(chan struct{})}
}

// halt ends the current incarnation: the pool actor hears of it first, so
// that the worker leaves routing, then the runners stop after their
// current task and the backend closes.
func (a *workerActor) halt(c actor.Context, why workerDown) {
	inc := a.inc
	if inc == nil {
		if why.restart {
			// A start that failed: still a restart.
			why.w = a.w
			c.Send(c.Parent(), why)
		}
		return
	}
	a.inc = nil
	why.w, why.inc = a.w, inc
	c.Send(inc.pool, why)
	inc.halted.Store(true)
	close(inc.stop)
	if inc.be != nil {
		inc.be.close()
	}
}

// run is one runner goroutine: it executes tasks from the worker's inbox,
// and those the pool hands it directly when it frees its slot, until its
// incarnation stops or a handler panics.
func (inc *incarnation) run() {
	p := inc.w.pool
	defer p.runnerExited()
	for {
		select {
		case <-inc.stop:
			return
		case <-p.quit:
			return
		case f := <-inc.w.inbox:
			var now int64 // the clock at the end of the last task, handed on
			for f != nil {
				var panicked bool
				if f, now, panicked = inc.exec(f, now); panicked {
					return
				}
				if f != nil && inc.stopped() {
					// Its slot is reserved, so the inbox has room: the
					// next incarnation (or a sibling) runs it.
					inc.w.inbox <- f
					return
				}
			}
		}
	}
}

func (inc *incarnation) stopped() bool {
	return inc.halted.Load() || inc.w.pool.quitting.Load()
}

// exec runs f. It reports whether the handler panicked (or the backend
// crashed), and returns the next task the pool handed to this runner and
// the clock when f ended. now, if not 0, is the clock reading to start f
// with (the end of the task before, handed on at once).
func (inc *incarnation) exec(f *Future, now int64) (next *Future, end int64, panicked bool) {
	w, p := inc.w, inc.w.pool
	if !f.state.CompareAndSwap(jobPending, jobRunning) {
		// It already has its result (timed out or canceled while dispatched).
		next = p.release(w, f, false, false, true)
		f.poolDone()
		return next, 0, false
	}
	n := p.node
	timed := f.accepted != 0 // a Submitter's task out of the sample is not
	start := now
	if timed && start < f.accepted { // 0, or f came after the last task ended
		start = n.clock()
	}
	if f.attempt == 0 {
		if timed {
			f.startedNs.Store(start)
			p.waitHist.Record(time.Duration(start - f.accepted))
		} else {
			f.startedNs.Store(1) // started, untimed
		}
	}
	f.attempt++

	ctx := inc.ctx
	var cancel context.CancelFunc
	if d := f.deadline(); d != 0 {
		ctx, cancel = context.WithDeadline(ctx, n.wallTime(d))
	}
	if sctx := f.submitCtx(); sctx != nil {
		if cancel == nil {
			ctx, cancel = context.WithCancel(ctx)
		}
		stop := context.AfterFunc(sctx, cancel)
		defer stop()
	}
	if f.x != nil {
		f.x.running.Store(true)
		defer f.x.running.Store(false)
		if cancel != nil {
			c := cancel // its own variable: only such tasks pay for the escape
			f.x.runCancel.Store(&c)
			defer f.x.runCancel.Store(nil)
		}
	}
	var res Result
	var stack []byte
	var pv any
	func() {
		defer func() {
			if r := recover(); r != nil {
				panicked, pv, stack = true, r, debug.Stack()
			}
		}()
		switch {
		case inc.be != nil:
			var crash error
			if cc, ok := inc.be.(cpuCaller); ok {
				res.Output, res.CPU, res.Err, crash = cc.callCPU(ctx, f)
			} else {
				res.Output, res.Err, crash = inc.be.call(ctx, f)
			}
			if crash != nil {
				panicked, res.Err = true, crash
			}
		case f.fn != nil:
			res.Value, res.Err = f.fn(ctx)
		default:
			res.Output, res.Err = f.handler(ctx, f.payload)
		}
	}()
	if timed {
		end = n.clock()
		res.Run = time.Duration(end - start)
		p.runHist.Record(res.Run)
	}
	if panicked {
		res.Output, res.Value = nil, nil
		if pv != nil {
			res.Err = &PanicError{Value: pv, Stack: stack}
		}
	} else if res.Err != nil && ctx.Err() != nil && errors.Is(res.Err, ctx.Err()) {
		res.Err = inc.contextError(f, ctx, res.Err)
	}
	if cancel != nil {
		cancel()
	}
	if errors.Is(res.Err, errNotSent) && f.state.CompareAndSwap(jobRunning, jobPending) {
		// Never sent to a child: the incarnation is ending (its backend
		// broke or is closing), and the next one (or a sibling) runs f.
		f.attempt--
		w.inbox <- f // its slot is reserved: there is room
		return nil, end, true
	}
	if panicked {
		p.recordCrash(f.ID())
	}
	if res.Err != nil && !panicked && f.x != nil && int(f.attempt) < f.x.retry.MaxAttempts && errors.Is(res.Err, ErrTransient) &&
		!p.quarantined(f.ID()) && f.state.CompareAndSwap(jobRunning, jobPending) {
		return p.release(w, f, false, true, true), 0, false
	}
	claimed := f.claim(res, w)
	next = p.release(w, f, panicked, false, !panicked)
	if claimed {
		// Out of every list of the pool: the result's hold is the last, and
		// publishing is the runner's last touch of f.
		f.unhold() // the pool's hold; the result's goes with it to Next
		f.publish()
	} else {
		f.poolDone() // the runner's last touch of f
	}
	if panicked {
		inc.sys.Root.Send(inc.pool, crashWorker{w: w, inc: inc, err: res.Err})
	}
	return next, end, panicked
}

// contextError names why a handler's context ended when the handler
// returned the context's error.
func (inc *incarnation) contextError(f *Future, ctx context.Context, err error) error {
	n := f.pool.node
	switch d := f.deadline(); {
	case d != 0 && n.clock() >= d:
		return fmt.Errorf("%w after %s: %w", ErrTimeout, time.Duration(d-f.accepted), err)
	case f.submitCtx() != nil && f.submitCtx().Err() != nil:
		return fmt.Errorf("%w: %w", ErrCanceled, err)
	case inc.ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ErrShuttingDown, err)
	}
	return err
}
