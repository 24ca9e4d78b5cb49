package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
)

// Health checks. The pool actor probes every live worker each
// Health.Interval: it sends the worker actor a *protos.HealthPing, and the
// worker answers with a *protos.HealthPong once PoolConfig.HealthCheck (if
// any) and its backend's ping (a process worker's child) pass. A probe not
// answered within Health.Timeout, or answered unhealthy, is a failure;
// after Health.FailureThreshold failures in a row the worker is unhealthy:
// it leaves routing and restarts (a crash, with backoff).

// healthTick starts a round of probes; healthDeadline ends it.
type (
	healthTick     struct{}
	healthDeadline struct{ seq uint64 }
)

// pinger is implemented by backends that can probe their worker (a child
// process answers a ping frame).
type pinger interface {
	ping(ctx context.Context) error
}

// healthState is the pool actor's probing state; only the pool actor
// touches it.
type healthState struct {
	seq      uint64
	trackers map[int]*supervision.HealthTracker // by worker id
	answered map[int]uint64                     // last healthy pong seq, by worker id
	// probed holds, per round, the incarnation each probe went to: a
	// worker is judged only on the rounds its current incarnation was
	// asked, so a worker that came up after a probe left, or a suspended
	// one, is never judged on a probe it could not answer.
	probed map[uint64]map[int]*incarnation
	timer  *time.Timer
}

// forget drops what the probes knew of w: it left routing.
func (h *healthState) forget(w *worker) {
	delete(h.trackers, w.id)
	delete(h.answered, w.id)
}

func (a *poolActor) scheduleHealth(c actor.Context) {
	h := a.p.cfg.Health
	if h == nil || a.halting {
		return
	}
	self, sys := c.Self(), c.ActorSystem()
	a.health.timer = a.p.timers.after(h.Interval, func() { sys.Root.Send(self, healthTick{}) })
}

func (a *poolActor) stopHealth() {
	a.p.timers.stop(a.health.timer)
}

func (a *poolActor) probe(c actor.Context) {
	p := a.p
	hs := &a.health
	hs.seq++
	if hs.trackers == nil {
		hs.trackers, hs.answered, hs.probed = map[int]*supervision.HealthTracker{}, map[int]uint64{}, map[uint64]map[int]*incarnation{}
	}
	round := map[int]*incarnation{}
	var targets []*actor.PID
	p.mu.Lock()
	for _, w := range p.workers {
		if w.state.live() && w.inc != nil {
			round[w.id] = w.inc
			targets = append(targets, w.pid)
		}
	}
	p.mu.Unlock()
	hs.probed[hs.seq] = round
	ping := &protos.HealthPing{Seq: hs.seq}
	for _, pid := range targets {
		c.Request(pid, ping)
	}
	seq, self, sys := hs.seq, c.Self(), c.ActorSystem()
	p.timers.after(p.cfg.Health.Timeout, func() { sys.Root.Send(self, healthDeadline{seq: seq}) })
	a.scheduleHealth(c)
}

func (a *poolActor) pong(m *protos.HealthPong) {
	if a.health.answered == nil {
		return
	}
	for _, w := range a.p.workers {
		if w.name == m.GetWorker() {
			if m.GetState() != protos.WorkerState_WORKER_STATE_UNHEALTHY {
				a.health.answered[w.id] = m.GetSeq()
			}
			return
		}
	}
}

// judge counts the round seq: workers whose incarnation was probed in it,
// is still live, and did not answer healthy have failed a probe.
func (a *poolActor) judge(c actor.Context, seq uint64) {
	p := a.p
	round := a.health.probed[seq]
	delete(a.health.probed, seq)
	for _, w := range p.workers {
		inc, asked := round[w.id]
		p.mu.Lock()
		current := asked && w.inc == inc && w.state.live()
		p.mu.Unlock()
		if !current {
			continue
		}
		tr := a.health.trackers[w.id]
		if tr == nil {
			tr, _ = supervision.NewHealthTracker(*p.cfg.Health) // validated with the pool
			a.health.trackers[w.id] = tr
		}
		if !tr.Observe(a.health.answered[w.id] >= seq) {
			continue
		}
		failures := tr.Failures()
		p.mu.Lock()
		a.setWorkerLocked(w, WorkerUnhealthy)
		p.mu.Unlock()
		p.unhealthy.Add(1)
		err := fmt.Errorf("%w: %s failed %d health probes in a row", ErrWorkerCrashed, w.name, failures)
		p.node.event(supervision.WorkerUnhealthy{Pool: p.cfg.Name, Worker: w.name, Reason: err, Failures: failures, At: time.Now()})
		// An unhealthy worker is live no more: crash it through the one
		// path every crash takes.
		a.crash(c, crashWorker{w: w, inc: inc, err: err})
	}
}

// answerPing runs a worker's probe off the actor's goroutine and answers
// the pool actor.
func (a *workerActor) answerPing(c actor.Context, m *protos.HealthPing) {
	w, p := a.w, a.w.pool
	check := p.cfg.HealthCheck
	var pg pinger
	if a.inc != nil && a.inc.be != nil {
		pg, _ = a.inc.be.(pinger)
	}
	sender, sys := c.Sender(), c.ActorSystem()
	reply := func(ok bool) {
		st := protos.WorkerState_WORKER_STATE_IDLE
		if !ok {
			st = protos.WorkerState_WORKER_STATE_UNHEALTHY
		}
		sys.Root.Send(sender, &protos.HealthPong{Seq: m.GetSeq(), Worker: w.name, State: st})
	}
	if check == nil && pg == nil {
		reply(true)
		return
	}
	ctx, cancel := context.WithTimeout(p.runCtx, p.cfg.Health.Timeout)
	go func() {
		defer cancel()
		ok := true
		if pg != nil {
			ok = pg.ping(ctx) == nil
		}
		if ok && check != nil {
			ok = check(ctx, w.name) == nil
		}
		reply(ok)
	}()
}
