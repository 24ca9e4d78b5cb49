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
}

// PoolStatus is one pool in a Status. Its counters appear at the same
// level as its other fields in JSON.
type PoolStatus struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Strategy string `json:"strategy"`
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
	// Breakers gives each circuit breaker's state ("closed", "open",
	// "half-open"), keyed by task type ("" for the pool's own); omitted when
	// the pool has none.
	Breakers map[string]string `json:"breakers,omitempty"`
	// WorkerList holds one entry per worker.
	WorkerList []WorkerStatus `json:"worker_list"`
}

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
	st := Status{Node: s.Name, Ready: ready, Pools: make([]PoolStatus, 0, len(s.Pools))}
	for _, p := range s.Pools {
		ps := PoolStatus{
			Name:          p.Name,
			Kind:          p.Kind.String(),
			Strategy:      p.Strategy,
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
// then each pool's workers.
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
