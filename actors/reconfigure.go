package actors

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/supervision"
)

// Reconfigured says what Node.Reconfigure did with a pool's new
// configuration.
type Reconfigured struct {
	// Pool is the pool's name.
	Pool string
	// Applied names the fields that changed and now hold their new values,
	// as in "Workers" or "QueueCapacity".
	Applied []string
	// Kept lists the fields that changed but keep their old values while
	// the node runs, each with the reason.
	Kept []KeptField
}

// KeptField is a field of a PoolConfig that Reconfigure did not change.
type KeptField struct {
	// Field is the field's name, as in "Concurrency".
	Field string
	// Reason says why it cannot change while the node runs.
	Reason string
}

// needsRestart is the reason given for the fields a running pool keeps.
const needsRestart = "fixed while the node runs; restart the node to change it"

// Reconfigure changes the running pool named cfg.Name to cfg (zero fields
// meaning their defaults, as in NewNode), without losing a task. These
// change at once:
//
//   - Workers (a fixed pool's size), MinWorkers, MaxWorkers and Scale: the
//     pool starts workers, or retires the surplus once each has finished
//     its tasks (a dynamic pool's size is moved into its new bounds and
//     left to its autoscaler, so Workers is kept for it);
//   - Weights, QueueCapacity (Submit calls waiting for room try again),
//     TaskTimeout (for tasks accepted from then on), Aging and Shed;
//   - Breaker and BreakerScope: the pool gets new breakers, closed; tasks
//     admitted by the old ones count for those.
//
// The other fields keep their values and are listed in the result's Kept
// with the reason; Decider and HealthCheck, being functions, are never
// compared and always keep theirs. A cfg that is not valid is refused with
// an error wrapping ErrInvalidConfig, a pool that does not exist with
// ErrNoPool, and a node that is shutting down (or a pool given up for
// good) with ErrShuttingDown; then nothing changes. Reconfigure waits for the pool actor to take the change,
// or for ctx to end. Safe for concurrent use; calls for one pool apply in
// turn.
func (n *Node) Reconfigure(ctx context.Context, cfg PoolConfig) (Reconfigured, error) {
	p, ok := n.byName[cfg.Name]
	if !ok {
		return Reconfigured{}, fmt.Errorf("%w: %q", ErrNoPool, cfg.Name)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Reconfigured{}, err
	}
	if n.closing.Load() {
		return Reconfigured{}, ErrShuttingDown
	}
	done := make(chan reconfigureDone, 1)
	n.system.Root.Send(p.pid, reconfigurePool{cfg: cfg, done: done})
	select {
	case r := <-done:
		return r.res, r.err
	case <-ctx.Done():
		return Reconfigured{}, fmt.Errorf("%w: reconfigure pool %q: %w", ErrCanceled, cfg.Name, ctx.Err())
	case <-n.stopped:
		return Reconfigured{}, ErrShuttingDown
	}
}

type (
	// reconfigurePool: Reconfigure asks the pool actor to take cfg.
	reconfigurePool struct {
		cfg  PoolConfig // with defaults, valid
		done chan<- reconfigureDone
	}
	reconfigureDone struct {
		res Reconfigured
		err error
	}
	// retireWorker: a worker that Reconfigure retires has finished its
	// last task.
	retireWorker struct{ w *worker }
)

// reconfigure applies m.cfg to the pool: the fields the data plane reads
// under mu are written under mu; TaskTimeout and the breakers through
// their atomics; the rest belongs to this actor.
func (a *poolActor) reconfigure(c actor.Context, m reconfigurePool) {
	p, cfg := a.p, m.cfg
	res := Reconfigured{Pool: cfg.Name}
	old := p.cfg
	if st := PoolState(p.stateA.Load()); a.halting || st >= PoolFailed {
		m.done <- reconfigureDone{err: fmt.Errorf("%w: pool %q is %s", ErrShuttingDown, cfg.Name, st)}
		return
	}
	keep := func(field, reason string) { res.Kept = append(res.Kept, KeptField{Field: field, Reason: reason}) }
	for _, f := range []struct {
		name string
		same bool
	}{
		{"Kind", old.Kind == cfg.Kind},
		{"Concurrency", old.Concurrency == cfg.Concurrency},
		{"Strategy", old.Strategy == cfg.Strategy},
		{"Restarts", old.Restarts == cfg.Restarts},
		{"TotalRestarts", old.TotalRestarts == cfg.TotalRestarts},
		{"Scope", old.Scope == cfg.Scope},
		{"Backoff", old.Backoff == cfg.Backoff},
		{"StablePeriod", old.StablePeriod == cfg.StablePeriod},
		{"PoolRestarts", old.PoolRestarts == cfg.PoolRestarts},
		{"Health", reflect.DeepEqual(old.Health, cfg.Health)},
		{"QuarantineAfter", old.QuarantineAfter == cfg.QuarantineAfter},
		{"StuckGrace", old.StuckGrace == cfg.StuckGrace},
		{"Retry", old.Retry == cfg.Retry},
		{"Process", reflect.DeepEqual(old.Process, cfg.Process)},
	} {
		if !f.same {
			keep(f.name, needsRestart)
		}
	}
	applied := func(field string, changed bool) {
		if changed {
			res.Applied = append(res.Applied, field)
		}
	}
	dynamic := cfg.MaxWorkers > cfg.MinWorkers
	if dynamic && cfg.Workers != old.Workers && cfg.Workers != cfg.MinWorkers {
		keep("Workers", "a dynamic pool's size is its autoscaler's, between MinWorkers and MaxWorkers")
	}

	if time.Duration(p.taskTimeout.Load()) != cfg.TaskTimeout {
		p.taskTimeout.Store(int64(cfg.TaskTimeout))
		applied("TaskTimeout", true)
	}
	if !reflect.DeepEqual(old.Breaker, cfg.Breaker) || old.BreakerScope != cfg.BreakerScope {
		var brs *breakers
		if cfg.Breaker != nil {
			brs, _ = newBreakers(p, *cfg.Breaker, cfg.BreakerScope) // cfg was validated
		}
		p.breakers.Store(brs)
		applied("Breaker", !reflect.DeepEqual(old.Breaker, cfg.Breaker))
		applied("BreakerScope", old.BreakerScope != cfg.BreakerScope)
	}

	p.mu.Lock()
	live := 0
	for _, w := range p.workers {
		if w.active && w.state != WorkerDead && !w.retiring {
			live++
		}
	}
	before := live
	target := cfg.Workers
	if dynamic {
		target = min(max(live, cfg.MinWorkers), cfg.MaxWorkers)
	}
	applied("Workers", !dynamic && target != live)
	// A fixed pool's bounds are its size: named only for dynamic pools.
	wasDynamic := old.MaxWorkers > old.MinWorkers
	applied("MinWorkers", (dynamic || wasDynamic) && cfg.MinWorkers != old.MinWorkers)
	applied("MaxWorkers", (dynamic || wasDynamic) && cfg.MaxWorkers != old.MaxWorkers)
	applied("Scale", cfg.Scale != old.Scale)
	applied("QueueCapacity", cfg.QueueCapacity != old.QueueCapacity)
	applied("Aging", cfg.Aging != old.Aging)
	applied("Shed", cfg.Shed != old.Shed)
	applied("Weights", !slices.Equal(cfg.Weights, old.Weights))
	if !dynamic {
		p.cfg.Workers = cfg.Workers
	}
	p.cfg.MinWorkers, p.cfg.MaxWorkers, p.cfg.Scale = cfg.MinWorkers, cfg.MaxWorkers, cfg.Scale
	p.cfg.QueueCapacity, p.cfg.Aging, p.cfg.Shed = cfg.QueueCapacity, cfg.Aging, cfg.Shed
	p.aging.Store(int64(cfg.Aging))
	p.cfg.TaskTimeout, p.cfg.Breaker, p.cfg.BreakerScope = cfg.TaskTimeout, cfg.Breaker, cfg.BreakerScope
	p.cfg.Weights = slices.Clone(cfg.Weights)
	p.addSlotsLocked(max(cfg.MaxWorkers, target), p.cfg.Concurrency)
	_ = p.setWeightsLocked(p.cfg.Weights) // validated with cfg

	var grow []*worker
	var stop []*actor.PID
	for _, w := range p.workers {
		if live+len(grow) >= target {
			break
		}
		if !w.active && w.state == WorkerDead {
			w.active, w.retiring = true, false
			grow = append(grow, w)
		}
	}
	for i := len(p.workers) - 1; i >= 0 && live > target; i-- {
		w := p.workers[i]
		if !w.active || w.state == WorkerDead || w.retiring {
			continue
		}
		live--
		if w.pid == nil { // no actor to stop: park the slot now
			w.active = false
			a.setWorkerLocked(w, WorkerDead)
			continue
		}
		// Out of routing at once; stopped once its tasks are done (see
		// retire).
		w.retiring = true
		a.setWorkerLocked(w, WorkerStopping)
		if w.inflight == 0 {
			stop = append(stop, w.pid)
		}
	}
	to := live + len(grow)
	p.peak = max(p.peak, to)
	a.settleLocked()  // retiring workers no longer count as missing
	p.wakeAllLocked() // a larger queue has room for waiting Submit calls
	p.dispatchLocked()
	p.mu.Unlock()

	if len(grow) > 0 {
		a.spawn(c, grow)
	}
	for _, pid := range stop {
		c.Stop(pid)
	}
	if !a.scale.scheduled {
		a.scheduleScale(c) // a pool made dynamic starts its autoscaler
	}
	if to != before {
		p.node.logger.Debug("pool resized", "pool", cfg.Name, "from", before, "to", to, "reason", "reconfigure")
		p.node.event(supervision.PoolScaled{Pool: cfg.Name, From: before, To: to, Reason: "reconfigure", At: time.Now()})
	}
	m.done <- reconfigureDone{res: res}
}

// retire stops a worker that Reconfigure took out of routing, now that its
// last task has ended.
func (a *poolActor) retire(c actor.Context, w *worker) {
	p := a.p
	p.mu.Lock()
	var pid *actor.PID
	if !a.halting && w.retiring && w.state == WorkerStopping && w.inflight == 0 {
		pid = w.pid
	}
	p.mu.Unlock()
	if pid != nil {
		c.Stop(pid)
	}
}

// PoolConfigs returns the configuration each pool runs with, in the order
// declared: every default filled in (see PoolConfig.WithDefaults), and the
// changes Reconfigure made. Safe for concurrent use.
func (n *Node) PoolConfigs() []PoolConfig {
	out := make([]PoolConfig, 0, len(n.pools))
	for _, p := range n.pools {
		p.mu.Lock()
		c := p.cfg
		p.mu.Unlock()
		c.Weights = slices.Clone(c.Weights)
		out = append(out, c)
	}
	return out
}
