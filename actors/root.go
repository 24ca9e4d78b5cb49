package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/protos"
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

func (a *poolActor) spawn(c actor.Context, ws []*worker) {
	for _, w := range ws {
		w := w
		props := actor.PropsFromProducer(func() actor.Actor { return &workerActor{w: w} })
		if _, err := c.SpawnNamed(props, w.name[len(a.p.cfg.Name)+1:]); err != nil {
			a.p.node.logger.Error("spawn worker", "worker", w.name, "error", err)
		}
	}
}

// poolActor supervises one pool's workers (one-for-one) and takes task
// envelopes from other actors.
type poolActor struct {
	p      *pool
	health healthState
	scale  scaleState
}

func (a *poolActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		var ws []*worker
		for _, w := range a.p.workers {
			if w.active {
				ws = append(ws, w)
			}
		}
		a.spawn(c, ws)
		a.scheduleHealth(c)
		a.scheduleScale(c)
	case *actor.Stopping:
		a.stopHealth()
		a.stopScale()
	case scaleTick:
		a.autoscale(c)
	case healthTick:
		a.probe(c)
	case healthDeadline:
		a.judge(c, m.seq)
	case *protos.HealthPong:
		a.pong(m)
	case restartPool:
		ws := a.p.respawnable()
		a.p.node.logger.Info("restarting pool", "pool", a.p.cfg.Name, "workers", len(ws))
		a.spawn(c, ws)
	default:
		a.receiveEnvelope(c, m)
	}
}
