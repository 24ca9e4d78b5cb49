package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drover-go/drover/actors"
)

// Status is the JSON document served at /status: a snapshot of a node.
// It is a plain value, safe to share once built.
type Status struct {
	// Node is the node's name.
	Node string `json:"node"`
	// Ready is what /readyz says: the node takes tasks.
	Ready bool `json:"ready"`
	// Pools holds one entry per pool, in declaration order.
	Pools []PoolStatus `json:"pools"`
	// Totals adds up the pools' counters.
	Totals Counters `json:"totals"`
	// Pressure is the node's resource level ("normal", "soft", "hard");
	// MemoryBytes and CPUPercent its last resource sample (0 without
	// resource limits).
	Pressure    string  `json:"pressure"`
	MemoryBytes uint64  `json:"memory_bytes"`
	CPUPercent  float64 `json:"cpu_percent"`
	// DroppedEvents counts events the node dropped before delivering them.
	DroppedEvents uint64 `json:"dropped_events"`
	// Cluster is the cluster as the node's member sees it; nil (and
	// omitted) for a node alone (see WithClusterView).
	Cluster *ClusterStatus `json:"cluster,omitempty"`
}

// ClusterStatus is the cluster section of a Status: the members as the
// node's member sees them, and that member's counters.
type ClusterStatus struct {
	// Name is the cluster's name.
	Name string `json:"name"`
	// Members lists the node's own member first, then the others.
	Members []MemberStatus `json:"members"`
	// Counters are the node's member's counters for the cluster.
	Counters ClusterCounters `json:"counters"`
	// NotReady says why the node's member does not take part as it
	// should (shut out, cut off from the coordinator); empty when it does.
	NotReady string `json:"not_ready,omitempty"`
}

// MemberStatus is one member in a ClusterStatus.
type MemberStatus struct {
	// ID is the member's id in the cluster; Name its name for people.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Address is its remote address, host:port.
	Address string `json:"address"`
	// Self is true for the node's own member.
	Self bool `json:"self"`
	// State is "up", "joining", "stale" or "leaving".
	State string `json:"state"`
	// ReportAgeMS is the age of its last load report, in milliseconds (-1
	// before the first).
	ReportAgeMS int64 `json:"report_age_ms"`
	// InFlight counts the viewing member's tasks on it now; Dispatched its
	// dispatches to it since it joined.
	InFlight   int    `json:"in_flight"`
	Dispatched uint64 `json:"dispatched"`
	// Pools are its pools' load as it last reported it.
	Pools []MemberPool `json:"pools"`
}

// MemberPool is a pool's load as a member reported it.
type MemberPool struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Workers  int    `json:"workers"`
	InFlight int    `json:"in_flight"`
	Queue    int    `json:"queue"`
	// Capacity is workers times concurrency plus the queue's capacity.
	Capacity int `json:"capacity"`
}

// ClusterCounters count the tasks a member accepted for the cluster,
// wherever they ran.
type ClusterCounters struct {
	Submitted uint64 `json:"submitted"`
	Rejected  uint64 `json:"rejected"`
	Completed uint64 `json:"completed"`
	Failed    uint64 `json:"failed"`
	// SentRemote counts dispatches to other members.
	SentRemote uint64 `json:"sent_remote"`
	// Rerouted counts dispatches again after a member refused a task
	// unrun; FailedOver idempotent tasks sent again after their member was
	// lost; Lost tasks failed because their member was lost.
	Rerouted   uint64 `json:"rerouted"`
	FailedOver uint64 `json:"failed_over"`
	Lost       uint64 `json:"lost"`
	// InFlight counts dispatches waiting for a result.
	InFlight int `json:"in_flight"`
}

// PoolStatus is one pool in a Status. Its counters appear at the same
// level as its other fields in JSON.
type PoolStatus struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Strategy string `json:"strategy"`
	// State is the pool's lifecycle state ("running", "degraded",
	// "restarting", "failed", "draining", "halted").
	State string `json:"state"`
	// Workers counts workers that are not dead; MinWorkers, MaxWorkers and
	// PeakWorkers bound and record the pool's size.
	Workers     int `json:"workers"`
	MinWorkers  int `json:"min_workers"`
	MaxWorkers  int `json:"max_workers"`
	PeakWorkers int `json:"peak_workers"`
	// Concurrency is the number of tasks one worker runs at once.
	Concurrency int `json:"concurrency"`
	// QueueCapacity bounds the queue; Queue holds its depth by priority.
	QueueCapacity int        `json:"queue_capacity"`
	Queue         QueueDepth `json:"queue"`
	// InFlight counts tasks handed to workers and not yet released.
	InFlight int `json:"in_flight"`
	// Abandoned counts handler goroutines of replaced workers still running.
	Abandoned int64 `json:"abandoned"`
	Counters
	// WorkerStates counts workers per state name ("idle", "busy", ...).
	WorkerStates map[string]int `json:"worker_states"`
	// QueueWait and Run are the quantiles of the time tasks waited in the
	// queue and of handler run times, since the node started.
	QueueWait Latency `json:"queue_wait"`
	Run       Latency `json:"run"`
	// Breakers gives each circuit breaker's state ("closed", "open",
	// "half-open"), keyed by task type ("" for the pool's own); omitted when
	// the pool has none.
	Breakers map[string]string `json:"breakers,omitempty"`
	// WorkerList holds one entry per worker.
	WorkerList []WorkerStatus `json:"worker_list"`
	// StartError is the last error that kept a worker of the pool from
	// starting, until one starts (actors.PoolStats.StartError); omitted
	// when empty.
	StartError string `json:"start_error,omitempty"`
}

// Latency gives quantiles of a latency distribution in milliseconds, and
// the number of durations it holds.
type Latency struct {
	Count uint64  `json:"count"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
}

func newLatency(s actors.HistogramSnapshot) Latency {
	return Latency{Count: s.Count, P50MS: ms(s.Quantile(0.5)), P99MS: ms(s.Quantile(0.99))}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// QueueDepth counts queued tasks by priority.
type QueueDepth struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Normal   int `json:"normal"`
	Low      int `json:"low"`
	Total    int `json:"total"`
}

// Counters count tasks and workers since the node started. TimedOut and
// Canceled are parts of Failed.
type Counters struct {
	Submitted   uint64 `json:"submitted"`
	Completed   uint64 `json:"completed"`
	Failed      uint64 `json:"failed"`
	TimedOut    uint64 `json:"timed_out"`
	Canceled    uint64 `json:"canceled"`
	Rejected    uint64 `json:"rejected"`
	Shed        uint64 `json:"shed"`
	Retries     uint64 `json:"retries"`
	Quarantined uint64 `json:"quarantined"`
	Restarts    uint64 `json:"restarts"`
	Stuck       uint64 `json:"stuck"`
	Unhealthy   uint64 `json:"unhealthy"`
}

func (c *Counters) add(o Counters) {
	c.Submitted += o.Submitted
	c.Completed += o.Completed
	c.Failed += o.Failed
	c.TimedOut += o.TimedOut
	c.Canceled += o.Canceled
	c.Rejected += o.Rejected
	c.Shed += o.Shed
	c.Retries += o.Retries
	c.Quarantined += o.Quarantined
	c.Restarts += o.Restarts
	c.Stuck += o.Stuck
	c.Unhealthy += o.Unhealthy
}

// WorkerStatus is one worker in a PoolStatus.
type WorkerStatus struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	InFlight int    `json:"in_flight"`
	Restarts uint64 `json:"restarts"`
}

// NewStatus builds the Status of a node from its stats and readiness. It
// is safe for concurrent use.
func NewStatus(s actors.NodeStats, ready bool) Status {
	st := Status{Node: s.Name, Ready: ready, Pools: make([]PoolStatus, 0, len(s.Pools)),
		Pressure: s.Pressure, MemoryBytes: s.Memory, CPUPercent: s.CPUPercent, DroppedEvents: s.DroppedEvents}
	for _, p := range s.Pools {
		ps := PoolStatus{
			Name:          p.Name,
			Kind:          p.Kind.String(),
			Strategy:      p.Strategy,
			State:         p.State.String(),
			Workers:       p.Workers,
			MinWorkers:    p.MinWorkers,
			MaxWorkers:    p.MaxWorkers,
			PeakWorkers:   p.PeakWorkers,
			Concurrency:   p.Concurrency,
			QueueCapacity: p.QueueCapacity,
			Queue: QueueDepth{
				Critical: p.QueueDepth[0], High: p.QueueDepth[1], Normal: p.QueueDepth[2], Low: p.QueueDepth[3],
				Total: p.QueueDepth[0] + p.QueueDepth[1] + p.QueueDepth[2] + p.QueueDepth[3],
			},
			InFlight:  p.InFlight,
			Abandoned: p.Abandoned,
			Counters: Counters{
				Submitted: p.Submitted, Completed: p.Completed, Failed: p.Failed, TimedOut: p.TimedOut,
				Canceled: p.Canceled, Rejected: p.Rejected, Shed: p.Shed, Retries: p.Retries,
				Quarantined: p.Quarantined, Restarts: p.Restarts, Stuck: p.Stuck, Unhealthy: p.Unhealthy,
			},
			WorkerStates: map[string]int{},
			WorkerList:   make([]WorkerStatus, 0, len(p.WorkerStats)),
			StartError:   p.StartError,
			QueueWait:    newLatency(p.QueueWait),
			Run:          newLatency(p.Run),
		}
		for state, n := range p.WorkersByState {
			ps.WorkerStates[actors.WorkerState(state).String()] = n
		}
		if len(p.Breakers) > 0 {
			ps.Breakers = make(map[string]string, len(p.Breakers))
			for k, v := range p.Breakers {
				ps.Breakers[k] = v.String()
			}
		}
		for _, w := range p.WorkerStats {
			ps.WorkerList = append(ps.WorkerList, WorkerStatus{Name: w.Name, State: w.State.String(), InFlight: w.InFlight, Restarts: w.Restarts})
		}
		st.Totals.add(ps.Counters)
		st.Pools = append(st.Pools, ps)
	}
	return st
}

// WriteText writes s for a person to read: the node, one line per pool,
// each pool's workers, then, for a cluster member, the cluster's members.
func (s Status) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	ready := "ready"
	if !s.Ready {
		ready = "not ready"
	}
	fmt.Fprintf(tw, "node %s (%s): %d submitted, %d completed, %d failed, %d rejected, %d restarts\n\n",
		s.Node, ready, s.Totals.Submitted, s.Totals.Completed, s.Totals.Failed, s.Totals.Rejected, s.Totals.Restarts)
	fmt.Fprintln(tw, "POOL\tKIND\tSTRATEGY\tWORKERS\tIN FLIGHT\tQUEUED (C/H/N/L)\tCAPACITY\tSUBMITTED\tCOMPLETED\tFAILED\tREJECTED\tRESTARTS")
	for _, p := range s.Pools {
		q := p.Queue
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d (%d/%d/%d/%d)\t%d\t%d\t%d\t%d\t%d\t%d\n",
			p.Name, p.Kind, p.Strategy, p.Workers, p.InFlight, q.Total, q.Critical, q.High, q.Normal, q.Low,
			p.QueueCapacity, p.Submitted, p.Completed, p.Failed, p.Rejected, p.Restarts)
	}
	for _, p := range s.Pools {
		fmt.Fprintf(tw, "\npool %s: %s\n", p.Name, workerSummary(p.WorkerStates))
		fmt.Fprintln(tw, "  WORKER\tSTATE\tIN FLIGHT\tRESTARTS")
		for _, wk := range p.WorkerList {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\n", wk.Name, wk.State, wk.InFlight, wk.Restarts)
		}
	}
	if c := s.Cluster; c != nil {
		k := c.Counters
		members := fmt.Sprintf("%d members", len(c.Members))
		if len(c.Members) == 1 {
			members = "1 member"
		}
		fmt.Fprintf(tw, "\ncluster %s: %s; %d submitted, %d completed, %d failed, %d rejected, %d sent remote, %d rerouted, %d failed over, %d lost, %d in flight\n",
			c.Name, members, k.Submitted, k.Completed, k.Failed, k.Rejected, k.SentRemote, k.Rerouted, k.FailedOver, k.Lost, k.InFlight)
		if c.NotReady != "" {
			fmt.Fprintf(tw, "  not ready: %s\n", c.NotReady)
		}
		fmt.Fprintln(tw, "  MEMBER\tADDRESS\tSTATE\tREPORT AGE\tIN FLIGHT\tDISPATCHED\tPOOLS (IN FLIGHT/QUEUED/CAPACITY)")
		for _, m := range c.Members {
			name := m.Name
			if m.Self {
				name += " (self)"
			}
			age := "-"
			if m.ReportAgeMS >= 0 {
				age = fmt.Sprintf("%dms", m.ReportAgeMS)
			}
			pools := make([]string, 0, len(m.Pools))
			for _, p := range m.Pools {
				pools = append(pools, fmt.Sprintf("%s %d/%d/%d", p.Name, p.InFlight, p.Queue, p.Capacity))
			}
			if len(pools) == 0 {
				pools = append(pools, "-")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%s\n", name, m.Address, m.State, age, m.InFlight, m.Dispatched, strings.Join(pools, ", "))
		}
	}
	return tw.Flush()
}

// workerSummary lists the non-zero worker states, as "2 busy, 1 idle".
func workerSummary(states map[string]int) string {
	var parts []string
	for state, n := range states {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, state))
		}
	}
	if len(parts) == 0 {
		return "no workers"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// FetchStatus reads the Status of the node whose admin endpoint is at addr
// ("127.0.0.1:9090", or a URL such as "http://host:9090"), with client
// (http.DefaultClient if nil). Errors wrap ErrFetch.
func FetchStatus(ctx context.Context, client *http.Client, addr string) (Status, error) {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimSuffix(addr, "/")
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	url += "/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("%w: GET %s: %s", ErrFetch, url, resp.Status)
	}
	var s Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return Status{}, fmt.Errorf("%w: GET %s: decode: %w", ErrFetch, url, err)
	}
	return s, nil
}
