package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/supervision"
)

// rootActor is the node's root supervisor: it spawns one actor per pool and
// decides, through each pool's root-level supervision.Strategy, what
// happens to a pool that has no worker left or to which a worker's failure
// escalated: restart it (after the pool's backoff, within PoolRestarts),
// give it up, or escalate past the node (a PoolFailed event with
// Escalated set, and the pool given up).
type rootActor struct{ n *Node }

func (r *rootActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		for _, p := range r.n.pools {
			a := &poolActor{p: p}
			props := actor.PropsFromProducer(func() actor.Actor { return a },
				actor.WithSupervisor(workerSupervision{a: a}))
			pid, err := c.SpawnNamed(props, p.cfg.Name)
			if err != nil {
				r.n.logger.Error("spawn pool actor", "pool", p.cfg.Name, "error", err)
				continue
			}
			p.pid = pid
		}
		select {
		case <-r.n.ready:
		default:
			close(r.n.ready)
		}
	case poolFailure:
		m.p.rootStrategy.HandleFailure(c.ActorSystem(), poolSupervisor{p: m.p}, m.p.pid, nil, m.reason, nil)
	}
}

// rootStrategy is the root actor's protoactor supervisor strategy. A
// worker's Escalate reaches the root as a failure of its pool actor:
// protoactor has suspended that actor's mailbox, which the root resumes at
// once (the pool actor must keep answering, Shutdown included), and the
// pool's root-level supervision.Strategy decides as for a pool with no
// worker left.
type rootStrategy struct{ n *Node }

var _ actor.SupervisorStrategy = rootStrategy{}

// HandleFailure implements actor.SupervisorStrategy.
func (s rootStrategy) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	sup.ResumeChildren(child)
	for _, p := range s.n.pools {
		if p.pid != nil && p.pid.Id == child.Id {
			p.mu.Lock()
			escalated := p.state == PoolRunning || p.state == PoolDegraded
			p.mu.Unlock()
			if escalated {
				err := fmt.Errorf("%w: a worker of pool %q escalated: %v", ErrWorkerCrashed, p.cfg.Name, reason)
				// Through the pool actor, the state's owner: it moves to
				// Restarting and reports back to the root.
				sys.Root.Send(p.pid, crashPool{reason: err})
			}
			return
		}
	}
}

// crashPool asks a pool actor to fail as a whole (a worker escalated).
type crashPool struct{ reason error }

// poolSupervisor is the actor.Supervisor that a pool's root-level
// supervision.Strategy drives: its directives become messages to the pool
// actor, the owner of the pool's state, so that a pool restart never waits
// behind a suspended mailbox and Shutdown can always reach the pool.
type poolSupervisor struct{ p *pool }

var _ actor.Supervisor = poolSupervisor{}

// Children implements actor.Supervisor: the pool is the only child its
// strategy sees, so every scope means the pool alone.
func (s poolSupervisor) Children() []*actor.PID { return []*actor.PID{s.p.pid} }

// EscalateFailure implements actor.Supervisor: past the node there is no
// supervisor, so the pool is given up and the event says it escalated.
func (s poolSupervisor) EscalateFailure(reason any, _ any) {
	p := s.p
	err := fmt.Errorf("escalated past node %q: %v", p.node.name, reason)
	p.node.event(supervision.PoolFailed{Pool: p.cfg.Name, Reason: err, Escalated: true, At: time.Now()})
	p.node.system.Root.Send(p.pid, givePool{reason: err})
}

// RestartChildren implements actor.Supervisor.
func (s poolSupervisor) RestartChildren(...*actor.PID) {
	s.p.node.system.Root.Send(s.p.pid, restartPool{})
}

// StopChildren implements actor.Supervisor: the pool is given up.
func (s poolSupervisor) StopChildren(...*actor.PID) {
	s.p.node.system.Root.Send(s.p.pid, givePool{reason: fmt.Errorf("pool %q exceeded PoolRestarts or was stopped by its supervision", s.p.cfg.Name)})
}

// ResumeChildren implements actor.Supervisor: a resumed pool restarts at once.
func (s poolSupervisor) ResumeChildren(...*actor.PID) {
	s.p.node.system.Root.Send(s.p.pid, restartPool{})
}

// workerSupervision is a pool actor's protoactor supervisor strategy, run
// on the pool actor's goroutine when a worker actor fails: the pool's
// supervision.Strategy decides, unless the pool actor has already asked
// that worker to stop (a halt, a pool restart, a retirement), or the
// failure exceeds PoolConfig.TotalRestarts (the pool fails to the root,
// whose restart stops every worker). A stop stands: a restart sent after
// it would reach a stopped actor as a dead letter.
type workerSupervision struct{ a *poolActor }

var _ actor.SupervisorStrategy = workerSupervision{}

// HandleFailure implements actor.SupervisorStrategy.
func (s workerSupervision) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason any, msg any) {
	if s.a.stopAsked(child) || s.a.overBudget(reason) {
		return
	}
	s.a.p.supervisor.HandleFailure(sys, stopAware{Supervisor: sup, a: s.a}, child, rs, reason, msg)
}

// stopAware is the pool actor's actor.Supervisor as the workers'
// supervision.Strategy sees it: restarts and stops leave out the workers
// the pool actor has asked to stop (its directives run on the pool actor,
// at once or as a deferred message).
type stopAware struct {
	actor.Supervisor
	a *poolActor
}

func (s stopAware) keep(pids []*actor.PID) []*actor.PID {
	out := pids[:0:0]
	for _, pid := range pids {
		if !s.a.stopAsked(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// RestartChildren implements actor.Supervisor.
func (s stopAware) RestartChildren(pids ...*actor.PID) {
	if pids = s.keep(pids); len(pids) > 0 {
		s.Supervisor.RestartChildren(pids...)
	}
}

// StopChildren implements actor.Supervisor.
func (s stopAware) StopChildren(pids ...*actor.PID) {
	if pids = s.keep(pids); len(pids) > 0 {
		s.Supervisor.StopChildren(pids...)
	}
}
