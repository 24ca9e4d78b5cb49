package actors

import (
	"math"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/supervision"
)

// ScalePolicy tunes the autoscaler of a dynamic pool (PoolConfig.MaxWorkers
// set). Every Interval the pool looks at its queue and utilization (tasks
// in flight over the slots of its live workers):
//
//   - it grows when tasks wait and utilization has stayed at or above
//     UpUtilization for UpAfter looks in a row, by enough workers for the
//     waiting tasks, up to MaxWorkers;
//   - it shrinks by one worker that has been idle for Cooldown, while
//     utilization is below DownUtilization, down to MinWorkers.
//
// The gap between the two thresholds, the streak and the cooldown keep it
// from flapping. Under resource pressure (WithResourceLimits) it does not
// grow, and it retires idle workers without waiting for Cooldown.
type ScalePolicy struct {
	// Interval between looks; zero means DefaultScaleInterval (250ms).
	Interval time.Duration
	// UpUtilization is the utilization that counts toward growing; zero
	// means DefaultScaleUpUtilization (0.8). Allowed: 0 to 1.
	UpUtilization float64
	// UpAfter is the number of looks in a row that grow the pool; zero
	// means DefaultScaleUpAfter (2).
	UpAfter int
	// DownUtilization is the utilization below which idle workers retire;
	// zero means DefaultScaleDownUtilization (0.3). Allowed: 0 to
	// UpUtilization.
	DownUtilization float64
	// Cooldown is how long a worker must have been idle to retire; zero
	// means DefaultScaleCooldown (5s).
	Cooldown time.Duration
}

func (s ScalePolicy) withDefaults() ScalePolicy {
	if s.Interval == 0 {
		s.Interval = DefaultScaleInterval
	}
	if s.UpUtilization == 0 {
		s.UpUtilization = DefaultScaleUpUtilization
	}
	if s.UpAfter == 0 {
		s.UpAfter = DefaultScaleUpAfter
	}
	if s.DownUtilization == 0 {
		s.DownUtilization = DefaultScaleDownUtilization
	}
	if s.Cooldown == 0 {
		s.Cooldown = DefaultScaleCooldown
	}
	return s
}

func (s ScalePolicy) validate(field func(string) string) error {
	switch {
	case s.Interval < 0:
		return configError(field("Scale.Interval"), "is %s; allowed: 0 (default %s) or more", s.Interval, DefaultScaleInterval)
	case s.UpUtilization < 0 || s.UpUtilization > 1:
		return configError(field("Scale.UpUtilization"), "is %g; allowed: 0 to 1", s.UpUtilization)
	case s.UpAfter < 0:
		return configError(field("Scale.UpAfter"), "is %d; allowed: 0 (default %d) or more", s.UpAfter, DefaultScaleUpAfter)
	case s.DownUtilization < 0 || s.DownUtilization > s.UpUtilization:
		return configError(field("Scale.DownUtilization"), "is %g; allowed: 0 to UpUtilization (%g)", s.DownUtilization, s.UpUtilization)
	case s.Cooldown < 0:
		return configError(field("Scale.Cooldown"), "is %s; allowed: 0 (default %s) or more", s.Cooldown, DefaultScaleCooldown)
	}
	return nil
}

// scaleTick asks a pool actor to look at its load.
type scaleTick struct{}

// scaleState is the pool actor's autoscaling state.
type scaleState struct {
	scheduled bool // a scale tick is on its way
	streak    int
	timer     *time.Timer
}

func (p *pool) dynamic() bool { return p.cfg.MaxWorkers > p.cfg.MinWorkers }

func (a *poolActor) scheduleScale(c actor.Context) {
	a.scale.scheduled = false
	if !a.p.dynamic() || a.halting {
		return
	}
	a.scale.scheduled = true
	self, sys := c.Self(), c.ActorSystem()
	a.scale.timer = a.p.timers.after(a.p.cfg.Scale.Interval, func() { sys.Root.Send(self, scaleTick{}) })
}

func (a *poolActor) stopScale() {
	a.p.timers.stop(a.scale.timer)
}

// autoscale looks at the pool's load once and grows or shrinks it.
func (a *poolActor) autoscale(c actor.Context) {
	defer a.scheduleScale(c)
	p := a.p
	pol := p.cfg.Scale
	pressure := p.node.pressure.Load() > pressureNormal
	now := p.node.clock()

	p.mu.Lock()
	if p.state != PoolRunning && p.state != PoolDegraded {
		p.mu.Unlock()
		return
	}
	live := 0 // workers not dead: live or on their way up
	for _, w := range p.workers {
		if w.active && w.state != WorkerDead {
			live++
		}
	}
	util := 1.0
	if live > 0 {
		util = float64(p.inflight) / float64(live*p.cfg.Concurrency)
	}
	depth := p.queue.len()
	if depth > 0 && util >= pol.UpUtilization && !pressure {
		a.scale.streak++
	} else {
		a.scale.streak = 0
	}
	var grow []*worker
	var retire *worker
	reason := "queue"
	switch {
	case a.scale.streak >= pol.UpAfter && live < p.cfg.MaxWorkers:
		want := min(p.cfg.MaxWorkers-live, int(math.Ceil(float64(depth)/float64(p.cfg.Concurrency))))
		for _, w := range p.workers {
			if len(grow) == want {
				break
			}
			if !w.active && w.state == WorkerDead {
				w.active, w.retiring = true, false
				grow = append(grow, w)
			}
		}
		a.scale.streak = 0
	case live > p.cfg.MinWorkers && (util < pol.DownUtilization || pressure):
		cooldown := int64(pol.Cooldown)
		if pressure {
			cooldown, reason = 0, "pressure"
		} else {
			reason = "idle"
		}
		for i := len(p.workers) - 1; i >= 0; i-- {
			w := p.workers[i]
			if w.active && w.state == WorkerIdle && w.inflight == 0 && w.pid != nil && now-w.idleSince >= cooldown {
				w.retiring = true
				a.setWorkerLocked(w, WorkerStopping)
				retire = w
				break
			}
		}
	}
	to := live + len(grow)
	if retire != nil {
		to--
	}
	p.peak = max(p.peak, to)
	p.mu.Unlock()

	if len(grow) > 0 {
		a.spawn(c, grow)
	}
	if retire != nil {
		c.Stop(retire.pid)
	}
	if to != live {
		p.node.logger.Debug("pool scaled", "pool", p.cfg.Name, "from", live, "to", to, "reason", reason)
		p.node.event(supervision.PoolScaled{Pool: p.cfg.Name, From: live, To: to, Reason: reason, At: time.Now()})
	}
}
