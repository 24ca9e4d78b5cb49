package actors

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
)

// PoolState is where a pool is in its life. The pool's actor is its only
// writer; every path (a crash, CrashWorker, a health verdict, a scale step,
// a supervision directive, Shutdown) asks that actor to move it.
//
//	Degraded   -> Running     every active worker is live
//	Running    -> Degraded    a worker left routing (crash, restart, probe)
//	Running,
//	Degraded   -> Restarting  no active worker is left: the root's
//	                          supervision decides the pool's fate
//	Restarting -> Degraded    the root restarted the pool: fresh workers
//	Restarting -> Failed      the root gave the pool up (budget, Stop,
//	                          Escalate past the node)
//	any        -> Draining    Shutdown began
//	Draining   -> Halted      every worker has stopped
type PoolState uint8

// Pool states. A pool starts Degraded and is Running once its workers are up.
const (
	// PoolRunning: every active worker is live.
	PoolRunning PoolState = iota
	// PoolDegraded: some active workers are starting, restarting or unhealthy.
	PoolDegraded
	// PoolRestarting: no worker is left; the pool waits for its own restart.
	// Queued tasks wait for it.
	PoolRestarting
	// PoolFailed: the pool was given up. Queued and new tasks fail with
	// ErrWorkerCrashed.
	PoolFailed
	// PoolDraining: Shutdown began; the pool takes no new task and finishes
	// the ones it has.
	PoolDraining
	// PoolHalted: the pool's workers have stopped. Its actor stays to answer
	// task envelopes with ERROR_CODE_SHUTTING_DOWN.
	PoolHalted
)

var poolStateNames = [...]string{"running", "degraded", "restarting", "failed", "draining", "halted"}

// String returns the state's name, as in "running".
func (s PoolState) String() string {
	if int(s) < len(poolStateNames) {
		return poolStateNames[s]
	}
	return fmt.Sprintf("pool-state(%d)", uint8(s))
}

// poolTransitions lists the moves the transition function allows.
var poolTransitions = map[PoolState][]PoolState{
	PoolRunning:    {PoolDegraded, PoolRestarting, PoolDraining},
	PoolDegraded:   {PoolRunning, PoolRestarting, PoolDraining},
	PoolRestarting: {PoolDegraded, PoolRunning, PoolFailed, PoolDraining},
	PoolFailed:     {PoolDraining},
	PoolDraining:   {PoolHalted},
}

func (s PoolState) canMove(to PoolState) bool {
	for _, t := range poolTransitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// accepting reports whether a pool in state s takes new tasks.
func (s PoolState) accepting() bool { return s <= PoolRestarting }

// Messages of the pool actor: the closed set of requests that change a
// pool's lifecycle.
type (
	// workerStarted: a worker's actor started an incarnation (a restart,
	// a Resume, a process worker's start) and its runners run.
	workerStarted struct {
		w   *worker
		inc *incarnation
	}
	// workerDown: a worker incarnation halted (restart or stop).
	workerDown struct {
		w       *worker
		inc     *incarnation
		stop    bool // the actor stops for good
		restart bool // protoactor restarts the actor
	}
	// crashWorker: a worker must crash (runner panic, backend crash,
	// CrashWorker, stuck handler). inc nil means the current incarnation.
	crashWorker struct {
		w   *worker
		inc *incarnation
		err error
	}
	// drainPool: Shutdown began.
	drainPool struct{}
	// haltPool: stop every worker; fail what is left when fail is set.
	haltPool struct{ fail bool }
	// restartPool: the root restarts the pool (after its backoff).
	restartPool struct{}
	// givePool: the root gave the pool up.
	givePool struct{ reason error }
	// refresh: a worker resumed after a crash gets fresh runners.
	refresh struct{ inc *incarnation }
	// deferred: a delayed step of the workers' supervision.Strategy (a
	// restart after its backoff), run on the pool actor so that it sees
	// which workers the pool actor has asked to stop meanwhile.
	deferred struct{ run func() }
)

// poolActor owns one pool's lifecycle: the pool's state and every worker's
// lifecycle state, PID, incarnation and restart count. It supervises the
// worker actors (through the pool's supervision.Strategy), runs health
// probes and the autoscaler, and takes task envelopes.
type poolActor struct {
	p      *pool
	health healthState
	scale  scaleState
	// stopping counts workers asked to stop by a pool restart or halt, whose
	// Terminated has not come yet.
	stopping map[*worker]struct{}
	// restartWanted is set while a pool restart waits for its old workers.
	restartWanted bool
	halting       bool
	// total counts worker restarts against PoolConfig.TotalRestarts; nil
	// without that bound.
	total  *supervision.IntensityTracker
	parent *actor.PID // the root actor
	// downHint is where settleLocked found a worker down last time.
	downHint int
}

func (a *poolActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		a.p.self, a.parent = c.Self(), c.Parent()
		a.stopping = map[*worker]struct{}{}
		if in := a.p.cfg.TotalRestarts; in.MaxRestarts != 0 {
			a.total, _ = supervision.NewIntensityTracker(in, time.Now) // validated with the config
		}
		var ws []*worker
		a.p.mu.Lock()
		for _, w := range a.p.workers {
			if w.active {
				ws = append(ws, w)
			}
		}
		a.p.mu.Unlock()
		a.spawn(c, ws)
		a.scheduleHealth(c)
		a.scheduleScale(c)
	case workerStarted:
		a.workerStarted(m)
	case workerDown:
		a.workerDown(m)
	case *actor.Terminated:
		a.terminated(c, m.Who)
	case crashWorker:
		a.crash(c, m)
	case deferred:
		if !a.halting {
			m.run()
		}
	case scaleTick:
		a.autoscale(c)
	case healthTick:
		a.probe(c)
	case healthDeadline:
		a.judge(c, m.seq)
	case *protos.HealthPong:
		a.pong(m)
	case drainPool:
		a.drain()
	case haltPool:
		a.halt(c, m.fail)
	case restartPool:
		a.restart(c)
	case givePool:
		a.giveUp(m.reason)
	case crashPool:
		a.failPool(c, m.reason)
	case reconfigurePool:
		a.reconfigure(c, m)
	case retireWorker:
		a.retire(c, m.w)
	default:
		a.receiveEnvelope(c, m)
	}
}

// moveLocked is the pool's transition function: every change of the pool's
// state goes through it, on the pool actor, under p.mu.
func (a *poolActor) moveLocked(to PoolState) {
	p := a.p
	from := p.state
	if from == to {
		return
	}
	if !from.canMove(to) {
		p.node.logger.Error("invalid pool transition", "pool", p.cfg.Name, "from", from, "to", to)
		return
	}
	p.state = to
	p.stateA.Store(uint32(to))
	p.node.event(supervision.PoolStateChanged{Pool: p.cfg.Name, From: from.String(), To: to.String(), At: time.Now()})
}

// settleLocked moves a running or degraded pool to the state its workers
// say.
func (a *poolActor) settleLocked() {
	p := a.p
	if p.state != PoolRunning && p.state != PoolDegraded {
		return // restarting, failed, draining and halted move on their own messages
	}
	// The scan starts at the worker that was down last time: while a pool
	// of many workers comes up, that one is usually still down, so each of
	// its workers' starts costs O(1) here, not a scan of the pool.
	n := len(p.workers)
	for i := range n {
		j := (a.downHint + i) % n
		if w := p.workers[j]; w.active && !w.retiring && !w.state.live() {
			a.downHint = j
			a.moveLocked(PoolDegraded)
			return
		}
	}
	a.moveLocked(PoolRunning)
}

// setWorkerLocked moves w to lifecycle state s and tells the router whether
// it may take work. Only the pool actor calls it.
func (a *poolActor) setWorkerLocked(w *worker, s WorkerState) {
	p := a.p
	if s == WorkerIdle && w.inflight > 0 {
		s = WorkerBusy
	}
	if w.state == s {
		return
	}
	p.moveWorkerLocked(w, s)
	live := s.live()
	p.strategy.SetAvailable(w.id, live)
	if live {
		p.dispatchLocked()
	}
}

// spawn spawns an actor for each of ws. An in-process worker's first
// incarnation is made here and goes live at once, its runners with it:
// its actor has nothing left to do on Started, which it takes here, inside
// SpawnNamed (see workerSpawn), so that a worker costs little more than a
// bare actor to start (no goroutine and no stack growth for Started, no
// message back to the pool actor). A process worker's start waits for its
// child: its actor runs it (workerActor.start) and reports back with
// workerStarted. Restarts, of either kind, start on the worker's actor.
func (a *poolActor) spawn(c actor.Context, ws []*worker) {
	p := a.p
	direct := p.cfg.Kind != KindProcess
	// A worker's actor takes a few control messages in its life: the
	// lock-free mailbox (unbounded, like the default) allocates no ring
	// buffer up front, 2 allocations and 200 B less per worker.
	mailbox := actor.WithMailbox(actor.UnboundedLockfree())
	for _, w := range ws {
		s := &workerSpawn{first: workerActor{w: w}}
		props := actor.PropsFromProducerWithActorSystem(s.produce, mailbox)
		if direct {
			s.first.inc = newIncarnation(w, nil, c.Self(), c.ActorSystem())
			props.Configure(actor.WithDispatcher(s))
		}
		inc := s.first.inc
		pid, err := c.SpawnNamed(props, w.name[len(p.cfg.Name)+1:])
		p.mu.Lock()
		if err != nil {
			p.mu.Unlock()
			p.node.logger.Error("spawn worker", "worker", w.name, "error", err)
			continue
		}
		w.pid = pid
		w.inc = nil
		a.setWorkerLocked(w, WorkerStarting)
		run := inc != nil && !a.halting && !p.runnersStopped
		if run {
			inc.self = pid // read by the pool actor alone
			p.runners += p.cfg.Concurrency
			a.upLocked(w, inc)
		}
		p.mu.Unlock()
		if run {
			// After upLocked: a runner that panics at once sends crashWorker
			// for inc, which the pool actor must find current.
			for range p.cfg.Concurrency {
				go inc.run()
			}
		}
	}
	if direct {
		p.mu.Lock()
		a.settleLocked()
		p.mu.Unlock()
	}
}

// workerSpawn is the producer of one worker actor's instances and, for a
// worker whose first incarnation the pool actor starts, its dispatcher.
type workerSpawn struct {
	first  workerActor // the first instance
	handed bool        // produce has handed first over
	ran    bool        // the mailbox has run once
}

var _ actor.Dispatcher = (*workerSpawn)(nil)

// workerThroughput is the messages a worker's mailbox takes in one run
// before it yields: protoactor's default.
const workerThroughput = 300

// produce is the actor's producer: it returns the first instance, in
// SpawnNamed on the pool actor, then a fresh one for each restart, on the
// worker's goroutine (the mailbox orders the calls).
func (s *workerSpawn) produce(*actor.ActorSystem) actor.Actor {
	if !s.handed {
		s.handed = true
		return &s.first
	}
	return &workerActor{w: s.first.w}
}

// Schedule implements actor.Dispatcher. The mailbox's first run, which
// takes the Started that SpawnNamed posts, runs at once on the caller's
// goroutine (the pool actor's), since that Started has nothing to do;
// every later run gets a goroutine of its own, as with protoactor's
// default dispatcher. The mailbox asks for one run at a time.
func (s *workerSpawn) Schedule(run func()) {
	if !s.ran {
		s.ran = true
		run()
		return
	}
	go run()
}

// Throughput implements actor.Dispatcher.
func (s *workerSpawn) Throughput() int { return workerThroughput }

func (a *poolActor) workerStarted(m workerStarted) {
	p, w := a.p, m.w
	p.mu.Lock()
	defer p.mu.Unlock()
	if a.halting || w.pid != m.inc.self || w.state == WorkerStopping || w.state == WorkerDead {
		return // a worker on its way out
	}
	a.upLocked(w, m.inc)
	a.settleLocked()
}

// upLocked puts w's incarnation inc, whose runners are starting, in
// routing.
func (a *poolActor) upLocked(w *worker, inc *incarnation) {
	p := a.p
	w.inc = inc
	w.be = inc.be
	w.started++
	if w.started == 1 && w.id < p.startWorkers {
		p.node.workerUp()
	}
	a.health.forget(w)
	a.setWorkerLocked(w, WorkerIdle)
}

func (a *poolActor) workerDown(m workerDown) {
	p, w := a.p, m.w
	p.mu.Lock()
	defer p.mu.Unlock()
	if m.restart {
		w.restarts++
		p.restarts.Add(1)
	}
	if m.inc == nil || w.inc != m.inc || w.pid != m.inc.self {
		// Already out of routing (a crash went through the pool actor), or
		// an earlier actor of the slot: its Terminated, a system message,
		// may overtake this one.
		return
	}
	w.inc, w.be = nil, nil
	if m.stop {
		a.setWorkerLocked(w, WorkerStopping)
	} else {
		a.setWorkerLocked(w, WorkerStarting)
	}
	a.settleLocked()
}

// crash takes w out of routing at once and makes its actor fail, so that
// the pool's supervision.Strategy decides: restart after the backoff, stop,
// or escalate. A Resume from the Decider gives the worker fresh runners.
func (a *poolActor) crash(c actor.Context, m crashWorker) {
	p, w := a.p, m.w
	p.mu.Lock()
	inc := m.inc
	if inc == nil {
		inc = w.inc
	}
	if a.halting || inc == nil || w.inc != inc || !w.state.live() && w.state != WorkerUnhealthy {
		p.mu.Unlock()
		return // stale: that incarnation is already gone or going
	}
	decider := p.cfg.Decider
	if decider != nil && decider(m.err) == supervision.Resume {
		p.mu.Unlock()
		p.node.event(supervision.WorkerFailed{Pool: p.cfg.Name, Worker: w.name, Reason: m.err, Directive: supervision.Resume, At: time.Now()})
		c.Send(w.pid, refresh{inc: inc})
		return
	}
	w.inc, w.be = nil, nil
	a.health.forget(w)
	a.setWorkerLocked(w, WorkerStarting)
	a.settleLocked()
	pid := w.pid
	p.mu.Unlock()
	c.Send(pid, &crashed{err: m.err, inc: inc})
}

// overBudget counts a worker failure that is not a handler panic against
// PoolConfig.TotalRestarts, and reports whether it exceeds the bound: the
// pool then fails to the root instead of restarting the worker. It runs on
// the pool actor (protoactor calls the supervisor strategy there).
func (a *poolActor) overBudget(reason any) bool {
	if a.total == nil || isContained(reason) {
		return false
	}
	if !a.total.Record() {
		return false
	}
	a.total.Reset()
	p := a.p
	err := fmt.Errorf("%w: the workers of pool %q restarted more than %d times within %s (TotalRestarts): %v",
		ErrWorkerCrashed, p.cfg.Name, p.cfg.TotalRestarts.MaxRestarts, p.cfg.TotalRestarts.Window, reason)
	p.mu.Lock()
	if a.halting || p.state != PoolRunning && p.state != PoolDegraded {
		p.mu.Unlock()
		return true // already failing, restarting or stopping: no restart either
	}
	a.moveLocked(PoolRestarting)
	p.mu.Unlock()
	p.node.event(supervision.PoolFailed{Pool: p.cfg.Name, Reason: err, At: time.Now()})
	p.node.system.Root.Send(a.parent, poolFailure{p: p, reason: err})
	return true
}

// stopAsked reports whether the pool actor has asked the worker actor pid
// to stop.
func (a *poolActor) stopAsked(pid *actor.PID) bool {
	if a.halting {
		return true
	}
	p := a.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := a.workerLocked(pid.Id); w != nil {
		_, asked := a.stopping[w]
		return asked || w.retiring
	}
	return false
}

// workerLocked returns the worker whose actor has the id, or nil when the
// slot's actor is gone (a Terminated names only the PID). A worker's actor
// is named for its slot, "w3" under the pool actor, whichever the actor:
// the slot's current one has the id. The pool actor calls it under p.mu.
func (a *poolActor) workerLocked(id string) *worker {
	k := strings.LastIndex(id, "/w")
	if k < 0 {
		return nil
	}
	i, err := strconv.Atoi(id[k+2:])
	if err != nil || i < 0 || i >= len(a.p.workers) {
		return nil
	}
	if w := a.p.workers[i]; w.pid != nil && w.pid.Id == id {
		return w
	}
	return nil
}

// terminated handles a worker actor that stopped for good: the supervision
// strategy gave it up or stopped it, the autoscaler retired it, or a pool
// restart or halt stopped it.
func (a *poolActor) terminated(c actor.Context, who *actor.PID) {
	p := a.p
	p.mu.Lock()
	w := a.workerLocked(who.Id)
	if w == nil {
		p.mu.Unlock()
		return
	}
	w.pid, w.inc, w.be = nil, nil, nil
	a.health.forget(w)
	p.supervisor.Forget(who)
	a.setWorkerLocked(w, WorkerDead)
	p.requeueInboxLocked(w)
	_, asked := a.stopping[w]
	delete(a.stopping, w)
	retired := w.retiring
	if retired {
		w.retiring, w.active = false, false
	}
	switch {
	case a.halting:
		done := len(a.stopping) == 0
		p.mu.Unlock()
		if done {
			a.halted()
		}
		return
	case a.restartWanted:
		done := len(a.stopping) == 0
		p.mu.Unlock()
		if done {
			a.respawn(c)
		}
		return
	case asked || retired:
		a.settleLocked() // a retired worker no longer counts
		p.dispatchLocked()
		p.mu.Unlock()
		return
	}
	alive := 0
	for _, x := range p.workers {
		if x.active && x.state != WorkerDead {
			alive++
		}
	}
	var failed []*Future
	if alive == 0 && p.state == PoolDraining {
		failed = p.takeQueueLocked()
	} else if alive == 0 && (p.state == PoolRunning || p.state == PoolDegraded) {
		a.moveLocked(PoolRestarting)
	} else {
		a.settleLocked()
		p.dispatchLocked()
	}
	state := p.state
	p.checkIdleLocked()
	p.mu.Unlock()
	p.node.logger.Warn("worker stopped for good", "worker", w.name, "alive", alive)
	for _, f := range failed {
		f.finishOut(Result{Err: fmt.Errorf("%w: pool %q has no worker left to drain its queue", ErrShuttingDown, p.cfg.Name)}, nil)
	}
	if alive == 0 && state == PoolRestarting {
		reason := fmt.Errorf("%w: every worker of pool %q stopped for good", ErrWorkerCrashed, p.cfg.Name)
		p.node.event(supervision.PoolFailed{Pool: p.cfg.Name, Reason: reason, At: time.Now()})
		c.Send(c.Parent(), poolFailure{p: p, reason: reason})
	}
}

// failPool fails the pool as a whole (a worker escalated): the root
// decides, as for a pool with no worker left.
func (a *poolActor) failPool(c actor.Context, reason error) {
	p := a.p
	p.mu.Lock()
	if a.halting || p.state != PoolRunning && p.state != PoolDegraded {
		p.mu.Unlock()
		return
	}
	a.moveLocked(PoolRestarting)
	p.mu.Unlock()
	p.node.event(supervision.PoolFailed{Pool: p.cfg.Name, Reason: reason, At: time.Now()})
	c.Send(c.Parent(), poolFailure{p: p, reason: reason})
}

// restart runs the root's decision to restart the pool: every worker still
// alive is stopped, then every active worker is spawned afresh.
func (a *poolActor) restart(c actor.Context) {
	p := a.p
	p.mu.Lock()
	if a.halting || p.state != PoolRestarting {
		p.mu.Unlock()
		return
	}
	a.restartWanted = true
	var stop []*actor.PID
	for _, w := range p.workers {
		if w.pid != nil {
			a.stopping[w] = struct{}{}
			p.supervisor.Forget(w.pid)
			a.setWorkerLocked(w, WorkerStopping)
			stop = append(stop, w.pid)
		}
	}
	p.mu.Unlock()
	for _, pid := range stop {
		c.Stop(pid)
	}
	if len(stop) == 0 {
		a.respawn(c)
	}
}

func (a *poolActor) respawn(c actor.Context) {
	p := a.p
	p.mu.Lock()
	a.restartWanted = false
	var ws []*worker
	for _, w := range p.workers {
		if w.active {
			ws = append(ws, w)
		}
	}
	// Degraded before the spawn, which settles the pool once its workers
	// are live.
	a.moveLocked(PoolDegraded)
	p.mu.Unlock()
	p.node.logger.Info("restarting pool", "pool", p.cfg.Name, "workers", len(ws))
	a.spawn(c, ws)
}

// giveUp fails the pool for good: queued tasks, waiting Submit calls and
// new tasks get ErrWorkerCrashed.
func (a *poolActor) giveUp(reason error) {
	p := a.p
	p.mu.Lock()
	if p.state != PoolRestarting {
		p.mu.Unlock()
		return
	}
	p.failure = fmt.Errorf("%w: pool %q was given up: %w", ErrWorkerCrashed, p.cfg.Name, reason)
	a.moveLocked(PoolFailed)
	failed := p.takeQueueLocked()
	p.wakeAllLocked()
	err := p.failure
	p.mu.Unlock()
	p.node.logger.Error("pool given up", "pool", p.cfg.Name, "reason", reason)
	for _, f := range failed {
		f.finishOut(Result{Err: err}, nil)
	}
}

// drain starts the pool's part of Shutdown: admission is closed, waiting
// Submit calls return ErrShuttingDown, and a pool that waits for its own
// restart, or has no worker live or on its way back, fails its queue at
// once, since nothing would run it before the drain's deadline.
func (a *poolActor) drain() {
	p := a.p
	p.mu.Lock()
	if p.state == PoolDraining || p.state == PoolHalted {
		p.mu.Unlock()
		return
	}
	restarting := p.state == PoolRestarting
	a.moveLocked(PoolDraining)
	p.wakeAllLocked()
	var failed []*Future
	if restarting || !p.canRunLocked() {
		failed = p.takeQueueLocked()
	}
	p.checkIdleLocked()
	p.mu.Unlock()
	for _, f := range failed {
		f.finishOut(Result{Err: fmt.Errorf("%w: pool %q has no live worker to drain its queue", ErrShuttingDown, p.cfg.Name)}, nil)
	}
}

// halt stops every worker of the pool. With fail, whatever the drain left
// gets ErrShuttingDown first and running handlers see their contexts end.
func (a *poolActor) halt(c actor.Context, fail bool) {
	p := a.p
	if a.halting {
		return
	}
	a.drain()
	a.halting = true
	a.stopHealth()
	a.stopScale()
	p.timers.stopAll()
	p.proc.stopStarts() // a worker still starting must not hold up the stop
	if fail {
		p.failRemaining()
	}
	p.mu.Lock()
	var stop []*actor.PID
	for _, w := range p.workers {
		if w.pid != nil {
			a.stopping[w] = struct{}{}
			a.setWorkerLocked(w, WorkerStopping)
			stop = append(stop, w.pid)
		}
	}
	p.mu.Unlock()
	for _, pid := range stop {
		c.Stop(pid)
	}
	if len(stop) == 0 {
		a.halted()
	}
}

// halted ends the pool's halt once its last worker actor has stopped.
func (a *poolActor) halted() {
	p := a.p
	p.mu.Lock()
	a.moveLocked(PoolHalted)
	p.mu.Unlock()
	p.stopRunners()
	close(p.haltDone)
}

// poolFailure tells the root that a pool has no worker left.
type poolFailure struct {
	p      *pool
	reason error
}

// timerSet holds the timers a pool owns (task deadlines, stuck checks,
// retries, restart delays, probes, scale ticks) so that they all stop when
// the pool halts: nothing fires into a stopped node.
type timerSet struct {
	mu      sync.Mutex
	stopped bool
	m       map[*time.Timer]struct{}
}

// after runs f once, d from now, unless the set is stopped first. It
// returns nil, and never runs f, once the set is stopped.
func (s *timerSet) after(d time.Duration, f func()) *time.Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	if s.m == nil {
		s.m = map[*time.Timer]struct{}{}
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		_, ok := s.m[t]
		delete(s.m, t)
		s.mu.Unlock()
		if ok {
			f()
		}
	})
	s.m[t] = struct{}{}
	return t
}

// stop cancels t (nil is allowed) and reports whether its function will
// not run because of this call: false when it has started (or was stopped
// before).
func (s *timerSet) stop(t *time.Timer) bool {
	if t == nil {
		return false
	}
	s.mu.Lock()
	_, ok := s.m[t]
	delete(s.m, t)
	s.mu.Unlock()
	t.Stop()
	return ok
}

// stopAll cancels every timer and refuses new ones.
func (s *timerSet) stopAll() {
	s.mu.Lock()
	s.stopped = true
	for t := range s.m {
		t.Stop()
	}
	s.m = nil
	s.mu.Unlock()
}
