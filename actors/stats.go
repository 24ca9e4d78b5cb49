package actors

import (
	"time"

	"github.com/drover-go/drover/actors/internal/hist"
	"github.com/drover-go/drover/supervision"
)

// NodeStats is a snapshot of a node's counters and state.
type NodeStats struct {
	// Name is the node's name.
	Name string
	// Pools holds one entry per pool, in declaration order.
	Pools []PoolStats
	// DroppedEvents counts events lost because the hook fell behind.
	DroppedEvents uint64
	// Memory and CPUPercent are the last resource sample (zero without
	// WithResourceLimits); Pressure is "normal", "soft" or "hard".
	Memory     uint64
	CPUPercent float64
	Pressure   string
}

// PoolStats is a snapshot of one pool. Counters count since the node started.
type PoolStats struct {
	Name     string
	Kind     Kind
	Strategy string
	// Workers is the number of workers that are not dead.
	Workers int
	// MinWorkers, MaxWorkers and PeakWorkers bound and record the pool's
	// size; a fixed pool has all three equal to its size.
	MinWorkers, MaxWorkers, PeakWorkers int
	// Concurrency is the number of tasks one worker runs at once.
	Concurrency int
	// QueueCapacity is the pool's queue bound; QueueDepth the number of
	// queued tasks per priority, critical first.
	QueueCapacity int
	QueueDepth    [4]int
	// TaskTimeout is the default timeout of the pool's tasks (0: none).
	TaskTimeout time.Duration
	// InFlight counts tasks handed to workers and not yet released.
	InFlight int
	// Submitted counts accepted tasks; Rejected counts tasks refused for
	// want of room. Completed and Failed count terminal results; TimedOut
	// and Canceled are parts of Failed.
	Submitted, Rejected, Completed, Failed, TimedOut, Canceled uint64
	// Restarts counts worker restarts. Shed counts tasks displaced by
	// higher priorities. Stuck counts workers replaced because a handler
	// overran its deadline; Abandoned is the number of such handlers'
	// goroutines still running.
	Restarts, Shed, Stuck uint64
	Abandoned             int64
	// Retries counts reruns of tasks after transient errors; Quarantined
	// counts task IDs quarantined for crashing workers.
	Retries, Quarantined uint64
	// Unhealthy counts workers restarted for failing their health probes.
	Unhealthy uint64
	// StartError is the last error that kept one of the pool's workers
	// from starting (a process worker's command that cannot be run, or a
	// child that failed its handshake); empty once a worker has started
	// since, and for other kinds of pools.
	StartError string
	// State is the pool's lifecycle state (see PoolState).
	State PoolState
	// Breakers gives the state of each circuit breaker: "" is the pool's
	// own, other keys are task types. Nil without PoolConfig.Breaker.
	Breakers map[string]supervision.State
	// QueueWait is the distribution of the time tasks waited in the queue
	// (acceptance to first start); Run the distribution of handler run
	// times. Both are histograms with quantiles (QueueWait.Quantile(0.99)).
	// They hold the timed tasks: those with Task.Timed or a timeout, and a
	// sample of the others (one in TimingSampleEvery), whose path reads no
	// clock: their counts are not task counts (Completed and Failed are).
	QueueWait, Run HistogramSnapshot
	// WorkersByState counts workers per state, indexed by WorkerState.
	WorkersByState [6]int
	// WorkerStats holds one entry per worker.
	WorkerStats []WorkerStats
}

// HistogramSnapshot is a latency histogram: counts per bucket (upper bounds
// in Bounds, an overflow bucket last), with Quantile, Mean and Cumulative
// (Prometheus-style bucket counts). Quantiles are within 1/8 relative error.
type HistogramSnapshot = hist.Snapshot

// WorkerStats is a snapshot of one worker.
type WorkerStats struct {
	Name     string
	State    WorkerState
	InFlight int
	Restarts uint64
	// Weight is the worker's share for the "weighted" strategy.
	Weight int
}

// Stats returns a snapshot of the node. It is safe to call at any time,
// also during and after Shutdown.
func (n *Node) Stats() NodeStats {
	s := NodeStats{
		Name:          n.name,
		Pools:         make([]PoolStats, 0, len(n.pools)),
		DroppedEvents: n.dropped.Load(),
		Memory:        n.memory.Load(),
		CPUPercent:    float64(n.cpuPermille.Load()) / 10,
		Pressure:      pressureNames[n.pressure.Load()],
	}
	for _, p := range n.pools {
		s.Pools = append(s.Pools, p.stats())
	}
	return s
}

func (p *pool) stats() PoolStats {
	ps := PoolStats{
		Name:        p.cfg.Name,
		State:       PoolState(p.stateA.Load()),
		Kind:        p.cfg.Kind,
		Strategy:    p.strategy.Name(),
		Concurrency: p.cfg.Concurrency,
		Rejected:    p.rejected.Load(),
		Completed:   p.completed.Load(),
		Failed:      p.failed.Load(),
		TimedOut:    p.timedOut.Load(),
		Canceled:    p.canceled.Load(),
		Restarts:    p.restarts.Load(),
		Shed:        p.shed.Load(),
		Stuck:       p.stuck.Load(),
		Abandoned:   p.abandoned.Load(),
		Retries:     p.retries.Load(),
		Quarantined: p.quarantines.Load(),
		Unhealthy:   p.unhealthy.Load(),
		StartError:  p.proc.startError(),
		QueueWait:   p.waitHist.Snapshot(),
		Run:         p.runHist.Snapshot(),
	}
	if brs := p.breakers.Load(); brs != nil {
		ps.Breakers = brs.states()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ps.QueueDepth = p.queue.depths()
	ps.InFlight = p.inflight
	ps.Submitted = p.submitted
	ps.PeakWorkers = p.peak
	ps.MinWorkers, ps.MaxWorkers = p.cfg.MinWorkers, p.cfg.MaxWorkers // Reconfigure writes them under mu
	ps.QueueCapacity = p.cfg.QueueCapacity
	ps.TaskTimeout = time.Duration(p.taskTimeout.Load())
	ps.WorkerStats = make([]WorkerStats, 0, len(p.workers))
	for _, w := range p.workers {
		ps.Completed += w.completed.Load()
		if !w.active {
			continue // a parked slot of a dynamic pool
		}
		ps.WorkerStats = append(ps.WorkerStats, WorkerStats{Name: w.name, State: w.state, InFlight: w.inflight, Restarts: w.restarts, Weight: w.weight})
		if int(w.state) < len(ps.WorkersByState) {
			ps.WorkersByState[w.state]++
		}
		if w.state != WorkerDead {
			ps.Workers++
		}
	}
	return ps
}
