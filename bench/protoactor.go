package bench

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/router"
)

// futureTimeout is far beyond any task here: a future that times out is a
// lost result, reported by Await.
const futureTimeout = time.Minute

// protoactorFutureImpl runs tasks on protoactor's round-robin pool router of
// Workers worker actors; each Submit is a RequestFuture and Await waits on
// the oldest future.
func protoactorFutureImpl() Impl {
	return Impl{Name: "protoactor_future", Start: startProtoactorFuture}
}

// protoactorCollectorImpl runs tasks on the same router, sent one way; each
// worker replies to one collector actor, which hands each result to the
// submitter on a channel sized to MaxInFlight.
func protoactorCollectorImpl() Impl {
	return Impl{Name: "protoactor_collector", Start: startProtoactorCollector}
}

// paTask carries a task to a worker actor. A struct of one func is pointer
// shaped, so boxing it in an interface does not allocate.
type paTask struct{ fn func() }

// paDone is a worker's reply.
type paDone struct{}

// paWorker runs tasks; it replies to the sender, or to collector if set.
type paWorker struct{ collector *actor.PID }

func (w *paWorker) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(paTask); ok {
		m.fn()
		if w.collector != nil {
			ctx.Send(w.collector, paDone{})
		} else {
			ctx.Respond(paDone{})
		}
	}
}

// paCollector receives every worker's reply and hands each to the
// submitter; the channel never fills, since it holds MaxInFlight.
type paCollector struct {
	results chan<- struct{}
}

func (c *paCollector) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(paDone); ok {
		c.results <- struct{}{}
	}
}

// newSilentSystem returns an actor system that logs nothing.
func newSilentSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// paPool is the state both protoactor impls share: a system, the router,
// and the actors to stop on Close.
type paPool struct {
	system *actor.ActorSystem
	root   *actor.RootContext
	router *actor.PID
	stop   []*actor.PID // stopped in order on Close
	closed bool
}

func (p *paPool) close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	var err error
	for _, pid := range p.stop {
		if werr := p.root.StopFuture(pid).Wait(); werr != nil {
			err = errors.Join(err, fmt.Errorf("stop %s: %w", pid.Id, werr))
		}
	}
	p.system.Shutdown()
	return err
}

var (
	_ Pool = (*paFuturePool)(nil)
	_ Pool = (*paCollectorPool)(nil)
)

type paFuturePool struct {
	paPool
	futures fifo[*actor.Future]
}

func startProtoactorFuture(cfg Config) (Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	system := newSilentSystem()
	root := system.Root
	pid := root.Spawn(router.NewRoundRobinPool(cfg.Workers,
		actor.WithProducer(func() actor.Actor { return &paWorker{} })))
	return &paFuturePool{
		paPool:  paPool{system: system, root: root, router: pid, stop: []*actor.PID{pid}},
		futures: newFIFO[*actor.Future](cfg.MaxInFlight),
	}, nil
}

func (p *paFuturePool) Submit(task func()) error {
	if p.closed {
		return ErrClosed
	}
	p.futures.push(p.root.RequestFuture(p.router, paTask{fn: task}, futureTimeout))
	return nil
}

func (p *paFuturePool) Await() error {
	_, err := p.futures.pop().Result()
	return err
}

func (p *paFuturePool) Close() error { return p.close() }

type paCollectorPool struct {
	paPool
	results chan struct{}
}

func startProtoactorCollector(cfg Config) (Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	system := newSilentSystem()
	root := system.Root
	results := make(chan struct{}, cfg.MaxInFlight)
	collector := root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &paCollector{results: results}
	}))
	pid := root.Spawn(router.NewRoundRobinPool(cfg.Workers,
		actor.WithProducer(func() actor.Actor { return &paWorker{collector: collector} })))
	return &paCollectorPool{
		paPool:  paPool{system: system, root: root, router: pid, stop: []*actor.PID{pid, collector}},
		results: results,
	}, nil
}

func (p *paCollectorPool) Submit(task func()) error {
	if p.closed {
		return ErrClosed
	}
	p.root.Send(p.router, paTask{fn: task})
	return nil
}

func (p *paCollectorPool) Await() error {
	<-p.results
	return nil
}

func (p *paCollectorPool) Close() error { return p.close() }
