package actors

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"

	"github.com/drover-go/drover/supervision"
)

// ResourceLimits bound what a node may use. The node samples its memory
// (the Go heap, plus the resident memory of its process workers) and its
// CPU use every Interval:
//
//   - over MemorySoft, or with CPU over CPUPercent averaged over Window,
//     the node is under soft pressure: Submit refuses new PriorityLow tasks
//     with ErrResource, and dynamic pools stop growing and retire idle
//     workers;
//   - over MemoryHard it is under hard pressure: Submit refuses everything
//     but PriorityCritical with ErrResource.
//
// A zero limit is no limit. Every change of level is a ResourcePressure
// event.
type ResourceLimits struct {
	// MemorySoft and MemoryHard are in bytes; MemoryHard must be at least
	// MemorySoft when both are set.
	MemorySoft, MemoryHard uint64
	// CPUPercent is the share of the machine's cores (100 = all of them)
	// the node may use; allowed: 0 (none) to 100.
	CPUPercent float64
	// Interval between samples; zero means 1s.
	Interval time.Duration
	// Window is the span CPU use is averaged over; zero means 5 intervals.
	Window time.Duration
}

// ResourceSample is one reading of a node's resource use.
type ResourceSample struct {
	// Memory is the memory in use, in bytes.
	Memory uint64
	// CPU is the process's CPU time so far (user plus system).
	CPU time.Duration
	// At is when the sample was taken.
	At time.Time
}

// Pressure levels.
const (
	pressureNormal int32 = iota
	pressureSoft
	pressureHard
)

var pressureNames = [...]string{"normal", "soft", "hard"}

// WithResourceLimits makes the node watch its memory and CPU use.
func WithResourceLimits(l ResourceLimits) Option {
	return func(c *config) error {
		l, err := l.withDefaults()
		if err != nil {
			return err
		}
		c.limits = &l
		return nil
	}
}

// withDefaults checks l and fills in its zero Interval and Window.
func (l ResourceLimits) withDefaults() (ResourceLimits, error) {
	switch {
	case l.MemoryHard != 0 && l.MemorySoft > l.MemoryHard:
		return l, configError("ResourceLimits.MemorySoft", "is %d; allowed: at most MemoryHard (%d)", l.MemorySoft, l.MemoryHard)
	case l.CPUPercent < 0 || l.CPUPercent > 100:
		return l, configError("ResourceLimits.CPUPercent", "is %g; allowed: 0 (no limit) to 100", l.CPUPercent)
	case l.Interval < 0:
		return l, configError("ResourceLimits.Interval", "is %s; allowed: 0 (default %s) or more", l.Interval, DefaultResourceInterval)
	case l.Window < 0:
		return l, configError("ResourceLimits.Window", "is %s; allowed: 0 (default %d intervals) or more", l.Window, DefaultResourceWindowIntervals)
	}
	if l.Interval == 0 {
		l.Interval = DefaultResourceInterval
	}
	if l.Window == 0 {
		l.Window = DefaultResourceWindowIntervals * l.Interval
	}
	return l, nil
}

// SetResourceLimits replaces the node's resource limits while it runs, as
// WithResourceLimits sets them at start (it starts watching if the node
// had no limits). The next sample is judged by the new limits; a changed
// Interval takes effect from the next tick. Safe for concurrent use.
func (n *Node) SetResourceLimits(l ResourceLimits) error {
	l, err := l.withDefaults()
	if err != nil {
		return err
	}
	n.limits.Store(&l)
	n.startMonitor()
	return nil
}

// ResourceLimits returns the limits the node enforces, with defaults
// filled in; the zero value if it has none.
func (n *Node) ResourceLimits() ResourceLimits {
	if l := n.limits.Load(); l != nil {
		return *l
	}
	return ResourceLimits{}
}

// WithResourceSampler replaces the node's resource readings (the Go heap
// from runtime/metrics plus process workers' resident memory, and the CPU
// time from getrusage) with sample; for tests, or to count other memory.
func WithResourceSampler(sample func() ResourceSample) Option {
	return func(c *config) error {
		c.sampler = sample
		return nil
	}
}

// WithResourceTicks drives the resource monitor from ticks instead of a
// ticker of ResourceLimits.Interval: one sample per value received. For tests.
func WithResourceTicks(ticks <-chan time.Time) Option {
	return func(c *config) error {
		c.ticks = ticks
		return nil
	}
}

// sampleResources reads the Go heap and the process's CPU time, and adds
// the resident memory of process workers.
func (n *Node) sampleResources() ResourceSample {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	var mem uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		mem = s[0].Value.Uint64()
	}
	mem += n.childMemory()
	var ru syscall.Rusage
	var cpu time.Duration
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return ResourceSample{Memory: mem, CPU: cpu, At: time.Now()}
}

// rssReporter is implemented by backends that know their child's resident
// memory.
type rssReporter interface {
	rss() uint64
}

// childMemory sums the resident memory of the node's process workers.
func (n *Node) childMemory() uint64 {
	var total uint64
	for _, p := range n.pools {
		if p.cfg.Kind != KindProcess {
			continue
		}
		p.mu.Lock()
		bes := make([]backend, 0, len(p.workers))
		for _, w := range p.workers {
			if w.be != nil {
				bes = append(bes, w.be)
			}
		}
		p.mu.Unlock()
		for _, be := range bes {
			if r, ok := be.(rssReporter); ok {
				total += r.rss()
			}
		}
	}
	return total
}

// monitor samples resources until the node stops and sets its pressure,
// judging each sample by the limits current then.
func (n *Node) monitor(sample func() ResourceSample, ticks <-chan time.Time, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	interval := n.limits.Load().Interval
	var ticker *time.Ticker
	if ticks == nil {
		ticker = time.NewTicker(interval)
		defer ticker.Stop()
		ticks = ticker.C
	}
	var window []ResourceSample
	for {
		select {
		case <-stop:
			return
		case <-ticks:
		}
		l := *n.limits.Load()
		if ticker != nil && l.Interval != interval {
			interval = l.Interval
			ticker.Reset(interval)
		}
		keep := max(int(l.Window/l.Interval), 1) + 1
		s := sample()
		window = append(window, s)
		if len(window) > keep {
			window = window[len(window)-keep:]
		}
		cpu := 0.0
		if first := window[0]; len(window) > 1 && s.At.After(first.At) {
			cpu = 100 * float64(s.CPU-first.CPU) / float64(s.At.Sub(first.At)) / float64(runtime.NumCPU())
			cpu = min(max(cpu, 0), 100) // getrusage's accounting is coarser than short windows
		}
		level := pressureNormal
		switch {
		case l.MemoryHard != 0 && s.Memory > l.MemoryHard:
			level = pressureHard
		case l.MemorySoft != 0 && s.Memory > l.MemorySoft, l.CPUPercent != 0 && cpu > l.CPUPercent:
			level = pressureSoft
		}
		n.memory.Store(s.Memory)
		n.cpuPermille.Store(int64(cpu * 10))
		if old := n.pressure.Swap(level); old != level {
			n.logger.Warn("resource pressure", "from", pressureNames[old], "to", pressureNames[level], "memory", s.Memory, "cpu_percent", cpu)
			n.event(supervision.ResourcePressure{From: pressureNames[old], To: pressureNames[level], Memory: s.Memory, CPUPercent: cpu, At: s.At})
		}
	}
}

// admit refuses a task the node's resource pressure does not allow.
func (n *Node) admit(pr Priority) error {
	switch n.pressure.Load() {
	case pressureHard:
		if pr != PriorityCritical {
			return fmt.Errorf("%w: memory over its hard limit; only critical tasks are taken", ErrResource)
		}
	case pressureSoft:
		if pr == PriorityLow {
			return fmt.Errorf("%w: over a soft limit; low-priority tasks are refused", ErrResource)
		}
	}
	return nil
}
