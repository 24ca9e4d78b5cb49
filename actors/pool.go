package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/actors/internal/hist"
	"github.com/drover-go/drover/router"
	"github.com/drover-go/drover/supervision"
)

// pool is the runtime of one pool: its queue, its workers' slots and the
// dispatch between them. The per-task path runs on the submitter's and the
// workers' goroutines under mu; the pool actor owns only the control plane.
type pool struct {
	node *Node
	cfg  PoolConfig
	pid  *actor.PID // set by the root actor before the node is ready
	self *actor.PID // the same, written and read on the pool actor alone

	// runCtx is the parent of every worker incarnation's context; canceling
	// it signals every running handler (forced shutdown).
	runCtx    context.Context
	cancelRun context.CancelFunc

	// supervisor restarts the pool's workers: one-for-one, with backoff,
	// within the restart budget. rootStrategy is the root's policy for the
	// pool itself (PoolRestarts, the pool's Backoff): the same mechanism
	// one level up.
	supervisor   *supervision.Strategy
	rootStrategy *supervision.Strategy
	breakers     atomic.Pointer[breakers] // nil without PoolConfig.Breaker; Reconfigure replaces it
	taskTimeout  atomic.Int64             // PoolConfig.TaskTimeout, which Reconfigure changes
	aging        atomic.Int64             // PoolConfig.Aging, for admission outside mu
	startWorkers int                      // the workers the node waits for (WaitReady)

	// timers holds every timer of the pool; they stop when it halts.
	timers   timerSet
	haltDone chan struct{} // closed once every worker actor has stopped
	stateA   atomic.Uint32 // state, for readers without the lock

	qmu     sync.Mutex
	crashes map[string]int // task ID -> crashes it caused; -1 once quarantined

	mu       sync.Mutex
	strategy router.Strategy
	workers  []*worker
	queue    jobQueue
	inflight int             // jobs handed to workers: the sum of their running lists
	retrying jobList         // waiting for a retry's backoff
	waiters  []chan struct{} // Submit calls waiting for room, oldest first
	// state is the pool's lifecycle state: written by the pool actor only
	// (poolActor.moveLocked), read under mu by the data plane.
	state          PoolState
	failure        error         // why the pool failed, with PoolFailed
	runnersStopped bool          // the pool halted: no runner starts any more
	runners        int           // runner goroutines alive
	noRunner       chan struct{} // closed once halted and no runner is alive
	quit           chan struct{} // closed by halt: every runner exits once idle
	quitting       atomic.Bool   // set just before quit closes, for runners between tasks
	proc           procState     // process pools: start errors, aborting starts
	peak           int           // the most workers alive at once
	idle           chan struct{} // closed once draining with nothing queued or in flight

	waitHist hist.Histogram // queue wait: acceptance to first start
	runHist  hist.Histogram // handler run time, every attempt

	submitted   uint64 // under mu
	completed   atomic.Uint64
	failed      atomic.Uint64
	timedOut    atomic.Uint64
	canceled    atomic.Uint64
	rejected    atomic.Uint64
	restarts    atomic.Uint64
	shed        atomic.Uint64
	retries     atomic.Uint64
	unhealthy   atomic.Uint64
	quarantines atomic.Uint64
	stuck       atomic.Uint64 // workers replaced because a handler overran
	abandoned   atomic.Int64  // handler goroutines running past StuckGrace
	drained     atomic.Uint64 // results recorded after shutdown began
	shutFailed  atomic.Uint64 // tasks failed with ErrShuttingDown
}

func newPool(n *Node, cfg PoolConfig) (*pool, error) {
	s, err := router.New(cfg.Strategy)
	if err != nil {
		return nil, configError(fmt.Sprintf("pool %q: Strategy", cfg.Name), "is %q; allowed: %v", cfg.Strategy, router.Names())
	}
	p := &pool{node: n, cfg: cfg, strategy: s, idle: make(chan struct{}), noRunner: make(chan struct{}), quit: make(chan struct{}),
		haltDone: make(chan struct{}), state: PoolDegraded}
	p.stateA.Store(uint32(PoolDegraded))
	// The workers' strategy decides on the pool actor (protoactor runs
	// HandleFailure there); its delayed restarts go back there too.
	afterOnActor := func(d time.Duration, f func()) {
		self := p.self // called on the pool actor
		p.timers.after(d, func() { n.system.Root.Send(self, deferred{run: f}) })
	}
	after := func(d time.Duration, f func()) { p.timers.after(d, f) }
	sopts := []supervision.StrategyOption{}
	if cfg.Decider != nil {
		sopts = append(sopts, supervision.WithDecider(cfg.Decider))
	}
	p.supervisor, err = supervision.NewStrategy(append(sopts,
		supervision.WithPool(cfg.Name),
		supervision.WithBackoff(cfg.Backoff),
		supervision.WithIntensity(cfg.Restarts),
		supervision.WithStablePeriod(cfg.StablePeriod),
		supervision.WithEventHook(n.event),
		supervision.WithContained(isContained),
		supervision.WithScope(cfg.Scope),
		supervision.WithAfter(afterOnActor),
		// "pool/w3", as the pool's other events name it, not the actor's
		// path under the node.
		supervision.WithChildName(func(pid *actor.PID) string { return strings.TrimPrefix(pid.GetId(), n.name+"/") }),
	)...)
	if err != nil {
		return nil, fmt.Errorf("%w: pool %q: %w", ErrInvalidConfig, cfg.Name, err)
	}
	p.rootStrategy, err = supervision.NewStrategy(
		supervision.WithPool(cfg.Name),
		supervision.WithBackoff(cfg.Backoff),
		supervision.WithIntensity(cfg.PoolRestarts),
		supervision.WithAfter(after),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: pool %q: PoolRestarts: %w", ErrInvalidConfig, cfg.Name, err)
	}
	if cfg.Breaker != nil {
		brs, err := newBreakers(p, *cfg.Breaker, cfg.BreakerScope)
		if err != nil {
			return nil, fmt.Errorf("%w: pool %q: %w", ErrInvalidConfig, cfg.Name, err)
		}
		p.breakers.Store(brs)
	}
	p.taskTimeout.Store(int64(cfg.TaskTimeout))
	p.aging.Store(int64(cfg.Aging))
	p.runCtx, p.cancelRun = context.WithCancel(context.Background())
	p.peak, p.startWorkers = cfg.Workers, cfg.Workers
	p.addSlotsLocked(cfg.MaxWorkers, cfg.Concurrency)
	for _, w := range p.workers[:cfg.Workers] {
		// The rest stay parked slots of a dynamic pool.
		w.active, w.state = true, WorkerStarting
	}
	if err := p.setWeightsLocked(cfg.Weights); err != nil {
		return nil, err
	}
	return p, nil
}

// addSlotsLocked adds worker slots, parked (dead and inactive), until the
// pool has n; the pool actor activates them. Called by newPool, and by the
// pool actor under mu when Reconfigure raises the pool's size.
func (p *pool) addSlotsLocked(n, concurrency int) {
	for i := len(p.workers); i < n; i++ {
		w := &worker{
			pool:   p,
			id:     i,
			name:   p.cfg.Name + "/w" + strconv.Itoa(i),
			inbox:  make(chan *Future, concurrency),
			state:  WorkerDead,
			weight: 1,
		}
		p.workers = append(p.workers, w)
		// The strategy knows every slot from the start: ids are new, so Add
		// cannot fail.
		_ = p.strategy.Add(router.Routee{ID: i, Weight: 1, Capacity: concurrency})
	}
}

// setWeightsLocked gives worker i weight ws[i]; workers past the end of ws
// get 1.
func (p *pool) setWeightsLocked(ws []int) error {
	for i, w := range p.workers {
		weight := 1
		if i < len(ws) {
			weight = ws[i]
		}
		if w.weight == weight {
			continue
		}
		if err := p.strategy.SetWeight(i, weight); err != nil {
			return configError(fmt.Sprintf("pool %q: Weights[%d]", p.cfg.Name, i), "is %d; allowed: 1 to %d", weight, MaxWeight)
		}
		w.weight = weight
	}
	return nil
}

// isContained tells a handler panic, which the runner recovered and
// confined to its task, from a crash of the worker itself.
func isContained(reason any) bool {
	err, ok := reason.(error)
	if !ok {
		return false
	}
	var pe *PanicError
	return errors.As(err, &pe)
}

// submit admits f. With wait it blocks for room until ctx ends; without it
// returns ErrQueueFull at once.
func (p *pool) submit(ctx context.Context, f *Future, wait bool) error {
	var shed *Future
	p.mu.Lock()
	for {
		if !p.state.accepting() {
			err := p.failure
			if p.state != PoolFailed {
				err = fmt.Errorf("%w: pool %q is %s", ErrShuttingDown, p.cfg.Name, p.state)
			}
			p.mu.Unlock()
			return err
		}
		if p.queue.len() < p.cfg.QueueCapacity {
			break
		}
		if p.cfg.Shed {
			if v := p.queue.victim(int(f.level)); v != nil {
				p.queue.remove(v)
				v.where = nowhere
				shed = v
				break
			}
		}
		if !wait {
			capacity := p.cfg.QueueCapacity
			p.mu.Unlock()
			p.rejected.Add(1)
			return fmt.Errorf("%w: pool %q holds %d tasks", ErrQueueFull, p.cfg.Name, capacity)
		}
		room := make(chan struct{}, 1)
		p.waiters = append(p.waiters, room)
		p.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			p.mu.Lock()
			if !p.dropWaiterLocked(room) {
				// We were signaled as ctx ended: pass the room on.
				p.wakeLocked()
			}
			p.mu.Unlock()
			p.rejected.Add(1)
			return fmt.Errorf("%w: waiting for room in pool %q: %w", ErrQueueFull, p.cfg.Name, ctx.Err())
		}
		p.mu.Lock()
	}
	p.submitted++
	p.armLocked(f)
	f.where = inQueue
	// Every locked operation ends with the queue empty or no free slot, so
	// a task that joins a non-empty queue has no worker to go to yet.
	busy := p.queue.len() > 0
	p.queue.push(f)
	if !busy {
		p.dispatchLocked()
	}
	p.mu.Unlock()
	if shed != nil {
		p.shed.Add(1)
		shed.finishOut(Result{Err: fmt.Errorf("%w: pool %q was full and a task of priority %s came", ErrShed, p.cfg.Name, Priority(f.level+1))}, nil)
	}
	return nil
}

// submitBatch admits fs in order without waiting, under one lock and with
// one dispatch, and returns how many it admitted: all, or those before the
// first that found the pool closed or its queue full (err says which).
func (p *pool) submitBatch(fs []*Future) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.state.accepting() {
		err := p.failure
		if p.state != PoolFailed {
			err = fmt.Errorf("%w: pool %q is %s", ErrShuttingDown, p.cfg.Name, p.state)
		}
		return 0, err
	}
	busy := p.queue.len() > 0
	k := 0
	for _, f := range fs {
		if p.queue.len() >= p.cfg.QueueCapacity {
			break
		}
		p.submitted++
		p.armLocked(f)
		f.where = inQueue
		p.queue.push(f)
		k++
	}
	if k > 0 && !busy {
		p.dispatchLocked()
	}
	if k < len(fs) {
		p.rejected.Add(1)
		return k, fmt.Errorf("%w: pool %q holds %d tasks", ErrQueueFull, p.cfg.Name, p.cfg.QueueCapacity)
	}
	return k, nil
}

// armLocked starts the job's timeout and submit-context watchers. The
// callbacks take p.mu, so they cannot run before the job is published.
func (p *pool) armLocked(f *Future) {
	x := f.x
	if x == nil {
		return
	}
	// Each watcher holds a Submitter's record until it has run or been
	// stopped (see Future.hold), so that it never reaches a reused record.
	if x.deadline != 0 {
		f.hold()
		x.timer = p.timers.after(time.Duration(x.deadline-p.node.clock()), func() {
			p.abort(f, fmt.Errorf("%w after %s", ErrTimeout, time.Duration(x.deadline-f.accepted)))
			f.unhold()
		})
		if x.timer == nil {
			f.unhold() // the pool halted: it never runs
		}
	}
	if x.ctx != nil {
		f.hold()
		x.stopCtx = context.AfterFunc(x.ctx, func() {
			p.abort(f, fmt.Errorf("%w: %w", ErrCanceled, context.Cause(x.ctx)))
			f.unhold()
		})
	}
}

// abort gives f an error result now: a queued job leaves the queue; a job
// on a worker keeps its slot until the handler returns (its context ends
// on its own deadline or with the submit context).
func (p *pool) abort(f *Future, err error) bool {
	p.mu.Lock()
	if f.ended() {
		p.mu.Unlock()
		return false
	}
	out := f.where == inQueue || f.where == inRetry // else a worker holds it
	if f.where == inQueue {
		p.queue.remove(f)
		f.where = nowhere
		p.wakeLocked()
		p.checkIdleLocked()
	} else if f.where == inRetry {
		p.retrying.remove(f)
		f.where = nowhere
		p.checkIdleLocked()
	} else if f.where == inFlight && errors.Is(err, ErrTimeout) {
		f.hold()
		f.x.stuckTimer = p.timers.after(p.cfg.StuckGrace, func() { p.checkStuck(f); f.unhold() })
		if f.x.stuckTimer == nil {
			f.unhold()
		}
	}
	p.mu.Unlock()
	if f.x != nil {
		if stop := f.x.runCancel.Load(); stop != nil {
			(*stop)()
		}
	}
	if out {
		return f.finishOut(Result{Err: err}, nil)
	}
	return f.finish(Result{Err: err}, nil)
}

// checkStuck replaces f's worker if f's handler is still running
// StuckGrace after its deadline: the slot is released, the worker leaves
// routing and restarts (a crash, with backoff), and the goroutine is
// abandoned until the handler returns, if ever.
func (p *pool) checkStuck(f *Future) {
	p.mu.Lock()
	if f.where != inFlight || !f.ended() || !f.x.running.Load() {
		// Done, or still in its worker's inbox: its runner skips it.
		p.mu.Unlock()
		return
	}
	w, inc := f.worker, f.x.inc
	p.landLocked(f)
	w.inflight--
	p.strategy.Done(w.id)
	if w.inflight == 0 && w.state == WorkerBusy {
		p.moveWorkerLocked(w, WorkerIdle)
	}
	p.abandoned.Add(1)
	p.stuck.Add(1)
	p.checkIdleLocked()
	p.mu.Unlock()
	p.recordCrash(f.ID())
	elapsed := time.Duration(p.node.clock()-f.deadline()) + p.cfg.StuckGrace
	p.node.event(supervision.WorkerStuck{Pool: p.cfg.Name, Worker: w.name, Elapsed: elapsed, At: time.Now()})
	// The pool actor takes the worker out of routing and crashes it.
	p.node.system.Root.Send(p.pid, crashWorker{w: w, inc: inc, err: fmt.Errorf("%w: %s: handler ran %s past its deadline", ErrWorkerStuck, w.name, p.cfg.StuckGrace)})
}

// dispatchLocked hands queued jobs, highest priority first, to workers with
// a free slot, as the strategy picks them.
func (p *pool) dispatchLocked() { p.dispatchToLocked(nil) }

// dispatchToLocked is dispatchLocked for a runner of self that has just
// freed a slot: the first job the strategy gives self is returned for the
// runner to run at once, instead of going through the inbox.
func (p *pool) dispatchToLocked(self *worker) (handed *Future) {
	var now int64
	if p.cfg.Aging > 0 {
		now = p.node.clock()
	}
	for {
		f := p.queue.peek(p.cfg.Aging, now)
		if f == nil {
			return
		}
		id, ok := p.strategy.Pick(f.keyHash())
		if !ok {
			return
		}
		p.queue.remove(f)
		w := p.workers[id]
		p.flyLocked(f, w)
		if f.x != nil {
			f.x.inc = w.inc
		}
		w.inflight++
		if w.state == WorkerIdle {
			p.moveWorkerLocked(w, WorkerBusy)
		}
		if w == self && handed == nil {
			handed = f
		} else {
			w.inbox <- f // never blocks: the slot was reserved by Pick
		}
		p.wakeLocked()
	}
}

// release frees the slot f held on w once its handler has returned (or it
// was skipped), and dispatches the next job.
func (p *pool) release(w *worker, f *Future, crashed, retry, wantNext bool) (next *Future) {
	p.mu.Lock()
	if f.x != nil && f.x.stuckTimer != nil && p.timers.stop(f.x.stuckTimer) {
		f.unhold() // the runner's own hold remains: this is not the last
	}
	if f.where != inFlight {
		// Abandoned as stuck: its slot was released then.
		p.mu.Unlock()
		p.abandoned.Add(-1)
		return nil
	}
	p.landLocked(f)
	if retry {
		p.retryLocked(f)
	}
	if wantNext && !crashed && p.queue.len() > 0 && w.state.live() {
		// Every locked operation ends with the queue empty or no free slot,
		// so the slot this runner frees is the only one: the strategy could
		// pick no other worker. Keep the slot and take the next task.
		var now int64
		if p.cfg.Aging > 0 {
			now = p.node.clock()
		}
		next = p.queue.peek(p.cfg.Aging, now)
		p.queue.remove(next)
		p.flyLocked(next, w)
		if next.x != nil {
			next.x.inc = w.inc
		}
		p.wakeLocked()
		p.mu.Unlock()
		return next
	}
	w.inflight--
	p.strategy.Done(w.id)
	var self *worker
	if wantNext {
		self = w
	}
	next = p.dispatchToLocked(self)
	if w.inflight == 0 && w.state == WorkerBusy {
		p.moveWorkerLocked(w, WorkerIdle)
	}
	retired := w.inflight == 0 && w.retiring && w.state == WorkerStopping
	p.checkIdleLocked()
	p.mu.Unlock()
	if retired {
		// Reconfigure retired it while it ran: its pool actor stops it now.
		p.node.system.Root.Send(p.pid, retireWorker{w: w})
	}
	return next
}

// flyLocked hands f to w: it joins w's running list, which only w's
// runners and the pool's control paths touch, so that the links of tasks
// on different workers never share a write.
func (p *pool) flyLocked(f *Future, w *worker) {
	w.running.pushBack(f)
	p.inflight++
	f.where, f.worker = inFlight, w
}

// landLocked takes f, in flight, off its worker's running list.
func (p *pool) landLocked(f *Future) {
	f.worker.running.remove(f)
	p.inflight--
	f.where = nowhere
}

// canRunLocked reports whether a worker is live or on its way back (starting
// or restarting after its backoff), so that queued tasks will run.
func (p *pool) canRunLocked() bool {
	for _, w := range p.workers {
		if w.active && w.state != WorkerDead && w.state != WorkerStopping {
			return true
		}
	}
	return false
}

// moveWorkerLocked records w's new state and reports the transition as an
// event. The pool actor moves a worker's lifecycle; the data plane moves a
// live worker between idle and busy.
func (p *pool) moveWorkerLocked(w *worker, s WorkerState) {
	if w.state == s {
		return
	}
	from := w.state
	w.state = s
	if s == WorkerIdle && p.dynamic() { // only the autoscaler reads it
		w.idleSince = p.node.clock()
	}
	if p.node.wantsStates() {
		p.node.event(supervision.WorkerStateChanged{Pool: p.cfg.Name, Worker: w.name, From: from.String(), To: s.String(), At: time.Now()})
	}
}

// requeueInboxLocked puts the tasks waiting in a stopped worker's inbox back
// at the head of the queue, in their order, for the other workers.
func (p *pool) requeueInboxLocked(w *worker) {
	var back []*Future
	for len(w.inbox) > 0 {
		f := <-w.inbox
		w.inflight--
		p.strategy.Done(w.id)
		if f.where == inFlight {
			p.landLocked(f)
		}
		if !f.ended() {
			back = append(back, f)
		} else {
			f.poolDone() // ended while it waited in the inbox: nobody holds it now
		}
	}
	for i := len(back) - 1; i >= 0; i-- {
		back[i].where = inQueue
		p.queue.pushFront(back[i])
	}
}

// takeQueueLocked empties the queue and returns its tasks, for a caller
// that fails them once the lock is released.
func (p *pool) takeQueueLocked() []*Future {
	var failed []*Future
	for i := range p.queue.levels {
		for f := p.queue.levels[i].head; f != nil; f = f.next {
			failed = append(failed, f)
		}
	}
	for _, f := range failed {
		p.queue.remove(f)
		f.where = nowhere
	}
	return failed
}

// wakeAllLocked lets every waiting Submit look again (and find the pool
// closed or failed).
func (p *pool) wakeAllLocked() {
	for _, room := range p.waiters {
		room <- struct{}{}
	}
	p.waiters = nil
}

// wakeLocked lets the oldest waiting Submit try again.
func (p *pool) wakeLocked() {
	if len(p.waiters) == 0 || p.queue.len() >= p.cfg.QueueCapacity {
		return
	}
	room := p.waiters[0]
	p.waiters[0] = nil
	p.waiters = p.waiters[1:]
	room <- struct{}{}
}

func (p *pool) dropWaiterLocked(room chan struct{}) bool {
	for i, c := range p.waiters {
		if c == room {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}

func (p *pool) checkIdleLocked() {
	if p.state >= PoolDraining && p.queue.len() == 0 && p.inflight == 0 && p.retrying.n == 0 {
		select {
		case <-p.idle:
		default:
			close(p.idle)
		}
	}
}

// maxCrashRecords bounds the quarantine bookkeeping; past it, the oldest
// records are forgotten in bulk (a task must crash again to be counted).
const maxCrashRecords = 1 << 14

// quarantined reports whether the task ID may no longer run.
func (p *pool) quarantined(id string) bool {
	if id == "" || p.cfg.QuarantineAfter == NoQuarantine {
		return false
	}
	p.qmu.Lock()
	defer p.qmu.Unlock()
	return p.crashes[id] < 0
}

// recordCrash counts a crash caused by the task ID and quarantines the ID
// at the limit.
func (p *pool) recordCrash(id string) {
	if id == "" || p.cfg.QuarantineAfter == NoQuarantine {
		return
	}
	p.qmu.Lock()
	if p.crashes == nil || len(p.crashes) >= maxCrashRecords {
		p.crashes = map[string]int{}
	}
	n := p.crashes[id]
	if n < 0 {
		p.qmu.Unlock()
		return
	}
	n++
	if n >= p.cfg.QuarantineAfter {
		p.crashes[id] = -1
	} else {
		p.crashes[id] = n
	}
	p.qmu.Unlock()
	if n >= p.cfg.QuarantineAfter {
		p.quarantines.Add(1)
		p.node.event(supervision.TaskQuarantined{Pool: p.cfg.Name, TaskID: id, Crashes: n, At: time.Now()})
	}
}

// retryLocked parks f, whose handler returned a transient error, and runs
// it again after its backoff unless it ends meanwhile.
func (p *pool) retryLocked(f *Future) {
	f.where = inRetry
	p.retrying.pushBack(f)
	delay := f.x.retry.Backoff.WithDefaults().Next(int(f.attempt)-1, rand.Float64())
	t := p.timers.after(delay, func() {
		p.mu.Lock()
		if f.where != inRetry {
			p.mu.Unlock()
			return // failed at shutdown meanwhile
		}
		p.retrying.remove(f)
		f.where = nowhere
		if f.ended() {
			p.checkIdleLocked()
			p.mu.Unlock()
			return // timed out or canceled meanwhile
		}
		if p.state == PoolFailed || p.state == PoolHalted {
			err := p.failure
			if err == nil {
				err = fmt.Errorf("%w: retry of a task of pool %q", ErrShuttingDown, p.cfg.Name)
			}
			p.mu.Unlock()
			f.finish(Result{Err: err}, nil)
			return
		}
		p.retries.Add(1)
		f.where = inQueue
		p.queue.push(f) // it was accepted: a retry may exceed the bound by the tasks in flight
		p.dispatchLocked()
		p.mu.Unlock()
	})
	if t == nil {
		// The pool halted: failRemaining takes it from the retry list.
		return
	}
}

// count records f's terminal result, from worker w (nil if no worker gave
// it), in the pool's counters and breakers.
func (p *pool) count(f *Future, w *worker, err error) {
	if t := f.breakerTicket(); t.set != nil {
		t.set.done(t, err)
	}
	switch {
	case err == nil:
		if w != nil {
			w.completed.Add(1) // the worker's own counter: its runners alone write it
		} else {
			p.completed.Add(1)
		}
	default:
		p.failed.Add(1)
		switch {
		case errors.Is(err, ErrTimeout):
			p.timedOut.Add(1)
		case errors.Is(err, ErrCanceled):
			p.canceled.Add(1)
		case errors.Is(err, ErrShuttingDown):
			p.shutFailed.Add(1)
		}
	}
	if p.node.closing.Load() && !errors.Is(err, ErrShuttingDown) {
		p.drained.Add(1)
	}
}

// workersNotDead counts the workers whose actor has not stopped.
func (p *pool) workersNotDead() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, w := range p.workers {
		if w.pid != nil {
			n++
		}
	}
	return n
}

// stopRunners forbids new runners; noRunner closes once the last one exits.
func (p *pool) stopRunners() {
	p.mu.Lock()
	if !p.runnersStopped {
		p.runnersStopped = true
		p.quitting.Store(true)
		close(p.quit)
	}
	p.proc.stopStarts()
	p.checkRunnersLocked()
	p.mu.Unlock()
}

func (p *pool) runnerExited() {
	p.mu.Lock()
	p.runners--
	p.checkRunnersLocked()
	p.mu.Unlock()
}

func (p *pool) checkRunnersLocked() {
	if p.runnersStopped && p.runners == 0 {
		select {
		case <-p.noRunner:
		default:
			close(p.noRunner)
		}
	}
}

// failRemaining gives every job still queued or in flight a shutdown error
// and signals running handlers to stop.
func (p *pool) failRemaining() {
	p.mu.Lock()
	var out, held []*Future // out: taken from the pool's lists; held: a worker has it
	for i := range p.queue.levels {
		for f := p.queue.levels[i].head; f != nil; f = f.next {
			out = append(out, f)
		}
	}
	for _, f := range out {
		p.queue.remove(f)
		f.where = nowhere
	}
	for _, w := range p.workers {
		for f := w.running.head; f != nil; f = f.next {
			// A hold of our own: once its runner lets go (after this
			// lock), a Submitter's record could otherwise be reused before
			// we reach it, and get our result.
			f.hold()
			held = append(held, f)
		}
	}
	for f := p.retrying.head; f != nil; {
		next := f.next
		p.retrying.remove(f)
		f.where = nowhere
		out = append(out, f)
		f = next
	}
	p.checkIdleLocked()
	p.mu.Unlock()
	p.cancelRun()
	res := Result{Err: fmt.Errorf("%w: pool %q did not drain before the deadline", ErrShuttingDown, p.cfg.Name)}
	for _, f := range out {
		f.finishOut(res, nil)
	}
	for _, f := range held {
		f.finish(res, nil)
		f.unhold()
	}
}
