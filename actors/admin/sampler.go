package admin

import (
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/internal/hist"
)

// Defaults of the dashboard's sampler.
const (
	// DefaultSampleInterval is how often the dashboard samples the node.
	DefaultSampleInterval = time.Second
	// historyLen is the number of samples a new page gets for its charts:
	// five minutes at the default interval.
	historyLen = 300
)

// Rates are what a node or a pool did between two samples: tasks per
// second and the latency quantiles of the tasks that waited or ran then.
type Rates struct {
	// T is the sample's time, Unix milliseconds.
	T int64 `json:"t"`
	// Seconds is the time since the previous sample.
	Seconds float64 `json:"seconds"`
	// Tasks per second over the interval.
	Submitted float64 `json:"submitted"`
	Completed float64 `json:"completed"`
	Failed    float64 `json:"failed"`
	Rejected  float64 `json:"rejected"`
	// QueueWait and Run cover the tasks that started or ran in the
	// interval.
	QueueWait Latency `json:"queue_wait"`
	Run       Latency `json:"run"`
}

// Frame is one sample of the node as the dashboard's stream pushes it: the
// node's Status, and its rates since the previous sample, per pool (in the
// order of Status.Pools) and for the whole node.
type Frame struct {
	Status Status  `json:"status"`
	Pools  []Rates `json:"pools"`
	Node   Rates   `json:"node"`
}

// published is what the sampler publishes after each sample: immutable,
// replaced whole. next is closed when a newer one replaces it, so that a
// stream waits on it instead of polling.
type published struct {
	frame   []byte  // the latest Frame as JSON; nil before the first sample
	history []Rates // the node's rates, oldest first, at most historyLen
	next    chan struct{}
	stopped bool // the node has stopped: no newer sample will come
}

// sampler samples one node on a goroutine of its own, the only writer of
// what it publishes, from its start until the node stops.
type sampler struct {
	node     *actors.Node
	ready    func() bool
	cluster  func() ClusterStatus
	interval time.Duration
	cur      atomic.Pointer[published]

	// The sampler goroutine's own: the previous sample's counters.
	prevAt time.Time
	prev   map[string]actors.PoolStats
}

func startSampler(n *actors.Node, ready func() bool, cluster func() ClusterStatus, interval time.Duration) *sampler {
	s := &sampler{node: n, ready: ready, cluster: cluster, interval: interval}
	s.cur.Store(&published{next: make(chan struct{})})
	s.sample(time.Now()) // a first frame at once: a page opened now has numbers
	go s.run()
	return s
}

func (s *sampler) run() {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			s.sample(now)
		case <-s.node.Done():
			s.sample(time.Now())
			old := s.cur.Load()
			s.cur.Store(&published{frame: old.frame, history: old.history, next: make(chan struct{}), stopped: true})
			close(old.next)
			return
		}
	}
}

// sample reads the node once and publishes the frame.
func (s *sampler) sample(now time.Time) {
	stats := s.node.Stats()
	st := NewStatus(stats, s.ready())
	if s.cluster != nil {
		cs := s.cluster()
		st.Cluster = &cs
	}
	f := Frame{Status: st, Pools: make([]Rates, 0, len(stats.Pools))}
	dt := now.Sub(s.prevAt).Seconds()
	if s.prev == nil || dt <= 0 {
		dt = 0
	}
	var wait, run hist.Snapshot
	node := Rates{T: now.UnixMilli(), Seconds: dt}
	for _, p := range stats.Pools {
		old := s.prev[p.Name]
		r := Rates{T: node.T, Seconds: dt}
		w, ru := delta(p.QueueWait, old.QueueWait), delta(p.Run, old.Run)
		if dt > 0 {
			r.Submitted = rate(p.Submitted, old.Submitted, dt)
			r.Completed = rate(p.Completed, old.Completed, dt)
			r.Failed = rate(p.Failed, old.Failed, dt)
			r.Rejected = rate(p.Rejected, old.Rejected, dt)
			r.QueueWait, r.Run = newLatency(w), newLatency(ru)
			wait.Merge(w)
			run.Merge(ru)
		}
		node.Submitted += r.Submitted
		node.Completed += r.Completed
		node.Failed += r.Failed
		node.Rejected += r.Rejected
		f.Pools = append(f.Pools, r)
	}
	node.QueueWait, node.Run = newLatency(wait), newLatency(run)
	f.Node = node
	if s.prev == nil {
		s.prev = make(map[string]actors.PoolStats, len(stats.Pools))
	}
	for _, p := range stats.Pools {
		s.prev[p.Name] = p
	}
	s.prevAt = now

	data, err := json.Marshal(f)
	if err != nil {
		return // plain data: cannot happen
	}
	old := s.cur.Load()
	history := old.history
	if dt > 0 {
		start := max(0, len(history)+1-historyLen)
		history = append(history[start:len(history):len(history)], node)
	}
	s.cur.Store(&published{frame: data, history: history, next: make(chan struct{})})
	close(old.next)
}

// rate is (cur-old)/dt, 0 if the counter went back (it never should).
func rate(cur, old uint64, dt float64) float64 {
	if cur < old {
		return 0
	}
	return float64(cur-old) / dt
}

// delta returns the durations recorded in cur and not in old, an earlier
// snapshot of the same histogram.
func delta(cur, old hist.Snapshot) hist.Snapshot {
	if len(old.Counts) != len(cur.Counts) || old.Count > cur.Count {
		return cur
	}
	d := hist.Snapshot{Count: cur.Count - old.Count, Sum: cur.Sum - old.Sum, Bounds: cur.Bounds, Counts: make([]uint64, len(cur.Counts))}
	for i := range cur.Counts {
		if cur.Counts[i] >= old.Counts[i] {
			d.Counts[i] = cur.Counts[i] - old.Counts[i]
		}
	}
	return d
}
