package admin

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/internal/hist"
	"github.com/drover-go/drover/supervision"
)

// poolMetric is one series per pool taken from a field of PoolStats.
type poolMetric struct {
	name, help string
	kind       prometheus.ValueType
	value      func(*actors.PoolStats) float64
}

func counter(name, help string, v func(*actors.PoolStats) uint64) poolMetric {
	return poolMetric{name, help, prometheus.CounterValue, func(p *actors.PoolStats) float64 { return float64(v(p)) }}
}

func gauge(name, help string, v func(*actors.PoolStats) float64) poolMetric {
	return poolMetric{name, help, prometheus.GaugeValue, v}
}

// poolMetrics lists the plain per-pool series. A new PoolStats counter
// becomes a metric by adding a line here.
var poolMetrics = []poolMetric{
	counter("drover_tasks_submitted_total", "Tasks accepted by Submit.", func(p *actors.PoolStats) uint64 { return p.Submitted }),
	counter("drover_tasks_completed_total", "Tasks that ended in success.", func(p *actors.PoolStats) uint64 { return p.Completed }),
	counter("drover_tasks_timed_out_total", "Tasks that ended past their deadline (also counted as failed).", func(p *actors.PoolStats) uint64 { return p.TimedOut }),
	counter("drover_tasks_canceled_total", "Tasks canceled by their submitter (also counted as failed).", func(p *actors.PoolStats) uint64 { return p.Canceled }),
	counter("drover_tasks_rejected_total", "Tasks refused at Submit for want of room in the queue.", func(p *actors.PoolStats) uint64 { return p.Rejected }),
	counter("drover_tasks_shed_total", "Queued tasks displaced by tasks of a higher priority.", func(p *actors.PoolStats) uint64 { return p.Shed }),
	counter("drover_tasks_retried_total", "Reruns of tasks after transient errors.", func(p *actors.PoolStats) uint64 { return p.Retries }),
	counter("drover_tasks_quarantined_total", "Task IDs quarantined for crashing workers.", func(p *actors.PoolStats) uint64 { return p.Quarantined }),
	counter("drover_worker_restarts_total", "Worker restarts.", func(p *actors.PoolStats) uint64 { return p.Restarts }),
	counter("drover_worker_stuck_total", "Workers replaced because a handler overran its deadline.", func(p *actors.PoolStats) uint64 { return p.Stuck }),
	counter("drover_worker_unhealthy_total", "Workers restarted for failing their health probes.", func(p *actors.PoolStats) uint64 { return p.Unhealthy }),
	gauge("drover_tasks_in_flight", "Tasks handed to workers and not yet released.", func(p *actors.PoolStats) float64 { return float64(p.InFlight) }),
	gauge("drover_queue_capacity", "Bound of the pool's queue.", func(p *actors.PoolStats) float64 { return float64(p.QueueCapacity) }),
	gauge("drover_pool_min_workers", "Lower bound of the pool's size.", func(p *actors.PoolStats) float64 { return float64(p.MinWorkers) }),
	gauge("drover_pool_max_workers", "Upper bound of the pool's size.", func(p *actors.PoolStats) float64 { return float64(p.MaxWorkers) }),
	gauge("drover_pool_peak_workers", "Largest size the pool has had.", func(p *actors.PoolStats) float64 { return float64(p.PeakWorkers) }),
	gauge("drover_pool_concurrency", "Tasks one worker runs at once.", func(p *actors.PoolStats) float64 { return float64(p.Concurrency) }),
	gauge("drover_handlers_abandoned", "Handler goroutines of replaced workers still running.", func(p *actors.PoolStats) float64 { return float64(p.Abandoned) }),
}

// poolHistogram is one latency histogram per pool, exported in seconds
// with buckets at exportBounds.
type poolHistogram struct {
	name, help string
	snapshot   func(*actors.PoolStats) hist.Snapshot
}

// poolHistograms lists the per-pool latency histograms. A hist.Snapshot
// added to PoolStats becomes a Prometheus histogram by adding a line here,
// such as
//
//	{"drover_task_queue_wait_seconds", "Time tasks spent queued.", func(p *actors.PoolStats) hist.Snapshot { return p.QueueWait }},
var poolHistograms = []poolHistogram{
	{"drover_task_queue_wait_seconds", "Time tasks waited in their pool's queue, from acceptance to first start.", func(p *actors.PoolStats) hist.Snapshot { return p.QueueWait }},
	{"drover_task_run_seconds", "Time handlers ran, per attempt.", func(p *actors.PoolStats) hist.Snapshot { return p.Run }},
}

// exportBounds are the `le` bounds of exported histograms: every power of
// two from 1.024µs to 137s, which are bounds of hist's buckets, so that the
// exported counts are exact.
var exportBounds = func() []time.Duration {
	var b []time.Duration
	for d := time.Duration(1) << 10; d <= hist.MaxBound; d <<= 1 {
		b = append(b, d)
	}
	return b
}()

var (
	priorityNames = [...]string{"critical", "high", "normal", "low"}
	failReasons   = [...]string{"timeout", "canceled", "other"}
	breakerStates = []supervision.State{supervision.Closed, supervision.Open, supervision.HalfOpen}
)

// collector reads Node.Stats on each scrape and turns it into constant
// metrics. It is safe for concurrent scrapes.
type collector struct {
	node  *actors.Node
	ready func() bool

	nodeReady  *prometheus.Desc
	plain      []*prometheus.Desc // parallel to poolMetrics
	histograms []*prometheus.Desc // parallel to poolHistograms
	dropped    *prometheus.Desc
	memory     *prometheus.Desc
	cpu        *prometheus.Desc
	pressure   *prometheus.Desc
	failed     *prometheus.Desc
	queueDepth *prometheus.Desc
	workers    *prometheus.Desc
	breaker    *prometheus.Desc
	info       *prometheus.Desc
}

var _ prometheus.Collector = (*collector)(nil)

func newCollector(n *actors.Node, ready func() bool) *collector {
	pool := []string{"pool"}
	c := &collector{
		node:       n,
		ready:      ready,
		nodeReady:  prometheus.NewDesc("drover_node_ready", "1 while the node takes tasks, 0 once it drains.", nil, nil),
		dropped:    prometheus.NewDesc("drover_events_dropped_total", "Events lost because the event hook fell behind.", nil, nil),
		memory:     prometheus.NewDesc("drover_node_memory_bytes", "Memory in use at the last resource sample (0 without resource limits).", nil, nil),
		cpu:        prometheus.NewDesc("drover_node_cpu_percent", "CPU use over the resource window, percent of the machine (0 without resource limits).", nil, nil),
		pressure:   prometheus.NewDesc("drover_node_resource_pressure", "Resource pressure: 0 normal, 1 soft, 2 hard.", nil, nil),
		failed:     prometheus.NewDesc("drover_tasks_failed_total", "Tasks that ended in an error, by reason.", []string{"pool", "reason"}, nil),
		queueDepth: prometheus.NewDesc("drover_queue_depth", "Queued tasks by priority.", []string{"pool", "priority"}, nil),
		workers:    prometheus.NewDesc("drover_workers", "Workers by state.", []string{"pool", "state"}, nil),
		breaker: prometheus.NewDesc("drover_circuit_breaker_state",
			"1 for the state each circuit breaker is in (task_type is empty for the pool's own breaker).",
			[]string{"pool", "task_type", "state"}, nil),
		info: prometheus.NewDesc("drover_pool_info", "Constant 1, labelled with the pool's kind and strategy.",
			[]string{"pool", "kind", "strategy"}, nil),
	}
	for _, m := range poolMetrics {
		c.plain = append(c.plain, prometheus.NewDesc(m.name, m.help, pool, nil))
	}
	for _, h := range poolHistograms {
		c.histograms = append(c.histograms, prometheus.NewDesc(h.name, h.help, pool, nil))
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.nodeReady
	ch <- c.dropped
	ch <- c.memory
	ch <- c.cpu
	ch <- c.pressure
	for _, d := range c.plain {
		ch <- d
	}
	for _, d := range c.histograms {
		ch <- d
	}
	ch <- c.failed
	ch <- c.queueDepth
	ch <- c.workers
	ch <- c.breaker
	ch <- c.info
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.nodeReady, prometheus.GaugeValue, boolValue(c.ready()))
	st := c.node.Stats()
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st.DroppedEvents))
	ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(st.Memory))
	ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.GaugeValue, st.CPUPercent)
	ch <- prometheus.MustNewConstMetric(c.pressure, prometheus.GaugeValue, float64(map[string]int{"soft": 1, "hard": 2}[st.Pressure]))
	for i := range st.Pools {
		p := &st.Pools[i]
		for j, m := range poolMetrics {
			ch <- prometheus.MustNewConstMetric(c.plain[j], m.kind, m.value(p), p.Name)
		}
		for j, h := range poolHistograms {
			ch <- histogramMetric(c.histograms[j], h.snapshot(p), p.Name)
		}
		failed := failedBy(p)
		for j, n := range failReasons {
			ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(failed[j]), p.Name, n)
		}
		for j, n := range priorityNames {
			ch <- prometheus.MustNewConstMetric(c.queueDepth, prometheus.GaugeValue, float64(p.QueueDepth[j]), p.Name, n)
		}
		for s, n := range p.WorkersByState {
			ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, float64(n), p.Name, actors.WorkerState(s).String())
		}
		for taskType, state := range p.Breakers {
			for _, s := range breakerStates {
				ch <- prometheus.MustNewConstMetric(c.breaker, prometheus.GaugeValue, boolValue(s == state), p.Name, taskType, s.String())
			}
		}
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, p.Name, p.Kind.String(), p.Strategy)
	}
}

// failedBy splits Failed by reason, in the order of failReasons. The
// counters are read one by one, so "other" is clamped at 0.
func failedBy(p *actors.PoolStats) [3]uint64 {
	other := uint64(0)
	if known := p.TimedOut + p.Canceled; p.Failed > known {
		other = p.Failed - known
	}
	return [3]uint64{p.TimedOut, p.Canceled, other}
}

// histogramMetric turns a hist.Snapshot into a Prometheus histogram in
// seconds, with cumulative counts at exportBounds.
func histogramMetric(desc *prometheus.Desc, s hist.Snapshot, labels ...string) prometheus.Metric {
	counts := s.Cumulative(exportBounds)
	buckets := make(map[float64]uint64, len(exportBounds))
	for i, b := range exportBounds {
		buckets[b.Seconds()] = counts[i]
	}
	return prometheus.MustNewConstHistogram(desc, s.Count, s.Sum.Seconds(), buckets, labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
