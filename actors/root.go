package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// rootActor is the node's root supervisor: it spawns one supervisor actor
// per pool and supervises them.
type rootActor struct{ n *Node }

func (r *rootActor) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *actor.Started:
		for _, p := range r.n.pools {
			p := p
			props := actor.PropsFromProducer(func() actor.Actor { return &poolActor{p: p} },
				actor.WithSupervisor(p.supervisor))
			pid, err := c.SpawnNamed(props, p.cfg.Name)
			if err != nil {
				r.n.logger.Error("spawn pool supervisor", "pool", p.cfg.Name, "error", err)
				continue
			}
			p.pid = pid
		}
		select {
		case <-r.n.ready:
		default:
			close(r.n.ready)
		}
	}
}

// poolActor supervises one pool's workers (one-for-one) and takes task
// envelopes from other actors.
type poolActor struct{ p *pool }

func (a *poolActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		for _, w := range a.p.workers {
			w := w
			props := actor.PropsFromProducer(func() actor.Actor { return &workerActor{w: w} })
			if _, err := c.SpawnNamed(props, w.name[len(a.p.cfg.Name)+1:]); err != nil {
				a.p.node.logger.Error("spawn worker", "worker", w.name, "error", err)
			}
		}
	case *childPID:
		// Test and admin hook: the PID of worker m.index.
		if kids := c.Children(); m.index < len(kids) {
			c.Respond(&childPIDReply{pid: kids[m.index]})
		}
	default:
		a.receiveEnvelope(c, m)
	}
}

// childPID asks a pool actor for the PID of one of its workers.
type childPID struct{ index int }

type childPIDReply struct{ pid *actor.PID }
