package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drover-go/drover/actors"
)

// demoReport is the demo's final report; its JSON form is the command's
// contract with other tools (see the field tags).
type demoReport struct {
	Seed uint64 `json:"seed"`
	// Tasks is the --tasks limit (0: none).
	Tasks int `json:"tasks"`
	// Submitted counts accepted tasks; Rejected counts Submit errors.
	Submitted uint64 `json:"submitted"`
	Rejected  uint64 `json:"rejected"`
	// Completed and Failed count results received; FailedBy splits Failed.
	Completed uint64         `json:"completed"`
	Failed    uint64         `json:"failed"`
	FailedBy  failureReasons `json:"failed_by_reason"`
	// TimedOut counts results that wrap actors.ErrTimeout (FailedBy.Timeout).
	TimedOut uint64 `json:"timed_out"`
	// Lost counts accepted tasks that had no result once Shutdown returned.
	Lost     uint64         `json:"lost"`
	Restarts uint64         `json:"restarts"`
	Injected injectedFaults `json:"injected"`
	Latency  latencyReport  `json:"latency_ms"`
	// DurationS runs from the first submission to the last result.
	DurationS   float64        `json:"duration_s"`
	TasksPerSec float64        `json:"tasks_per_sec"`
	Pools       []poolReport   `json:"pools"`
	Shutdown    shutdownReport `json:"shutdown"`
}

type failureReasons struct {
	Panic    uint64 `json:"panic"`
	Timeout  uint64 `json:"timeout"`
	Canceled uint64 `json:"canceled"`
	Other    uint64 `json:"other"`
}

// injectedFaults counts the faults the generator put in accepted tasks.
type injectedFaults struct {
	Panic uint64 `json:"panic"`
	Hang  uint64 `json:"hang"`
}

// latencyReport holds latencies from submission to result, in milliseconds.
type latencyReport struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type poolReport struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Strategy string `json:"strategy"`
	// Workers and WorkersByState are as the workload ended, before shutdown.
	Workers        int            `json:"workers"`
	MinWorkers     int            `json:"min_workers"`
	MaxWorkers     int            `json:"max_workers"`
	PeakWorkers    int            `json:"peak_workers"`
	Concurrency    int            `json:"concurrency"`
	WorkersByState map[string]int `json:"workers_by_state"`
	Submitted      uint64         `json:"submitted"`
	Completed      uint64         `json:"completed"`
	Failed         uint64         `json:"failed"`
	TimedOut       uint64         `json:"timed_out"`
	Restarts       uint64         `json:"restarts"`
}

type shutdownReport struct {
	Drained    uint64  `json:"drained"`
	Failed     uint64  `json:"failed"`
	Abandoned  int     `json:"abandoned"`
	DurationMS float64 `json:"duration_ms"`
	// WorkerProcessesLeft counts the process pool's children still present
	// after Shutdown (zombies included); it must be 0. -1 where /proc cannot
	// be read.
	WorkerProcessesLeft int `json:"worker_processes_left"`
	// Error is set when the drain did not finish within --drain-timeout.
	Error string `json:"error,omitempty"`
}

// millis converts d to milliseconds, rounded to the microsecond.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// poolReports merges two snapshots of the node: sizes and worker states
// from before (the end of the workload), counters from after (the end of
// the shutdown, when every worker has stopped).
func poolReports(before, after actors.NodeStats) []poolReport {
	out := make([]poolReport, 0, len(before.Pools))
	for i, b := range before.Pools {
		a := b
		if i < len(after.Pools) {
			a = after.Pools[i]
		}
		states := make(map[string]int, len(b.WorkersByState))
		for s, n := range b.WorkersByState {
			states[actors.WorkerState(s).String()] = n
		}
		out = append(out, poolReport{
			Name:           b.Name,
			Kind:           b.Kind.String(),
			Strategy:       b.Strategy,
			Workers:        b.Workers,
			MinWorkers:     b.MinWorkers,
			MaxWorkers:     b.MaxWorkers,
			PeakWorkers:    max(b.PeakWorkers, a.PeakWorkers),
			Concurrency:    b.Concurrency,
			WorkersByState: states,
			Submitted:      a.Submitted,
			Completed:      a.Completed,
			Failed:         a.Failed,
			TimedOut:       a.TimedOut,
			Restarts:       a.Restarts,
		})
	}
	return out
}

// writeJSON writes r as one JSON object on one line.
func (r *demoReport) writeJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(r)
}

// writeText writes r for a person to read.
func (r *demoReport) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "drover demo: %d results in %.2f s, %.0f tasks/s (seed %d)\n\n",
		r.Completed+r.Failed, r.DurationS, r.TasksPerSec, r.Seed)
	fmt.Fprintf(&b, "%-10s submitted %d, completed %d, failed %d, rejected %d, lost %d\n",
		"tasks", r.Submitted, r.Completed, r.Failed, r.Rejected, r.Lost)
	fmt.Fprintf(&b, "%-10s panic %d, timeout %d, canceled %d, other %d\n",
		"failures", r.FailedBy.Panic, r.FailedBy.Timeout, r.FailedBy.Canceled, r.FailedBy.Other)
	fmt.Fprintf(&b, "%-10s panic %d, hang %d\n", "injected", r.Injected.Panic, r.Injected.Hang)
	fmt.Fprintf(&b, "%-10s p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		"latency", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(&b, "%-10s %d\n", "restarts", r.Restarts)
	fmt.Fprintf(&b, "%-10s drained %d, failed %d, abandoned %d, in %.1f ms\n",
		"shutdown", r.Shutdown.Drained, r.Shutdown.Failed, r.Shutdown.Abandoned, r.Shutdown.DurationMS)
	if r.Shutdown.Error != "" {
		fmt.Fprintf(&b, "%-10s %s\n", "", r.Shutdown.Error)
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL\tKIND\tSTRATEGY\tWORKERS\tBY STATE\tCOMPLETED\tFAILED\tTIMED OUT\tRESTARTS")
	for _, p := range r.Pools {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n",
			p.Name, p.Kind, p.Strategy, workersText(p), statesText(p.WorkersByState),
			p.Completed, p.Failed, p.TimedOut, p.Restarts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// workersText is "2 x1" for a fixed pool of 2 workers running 1 task each,
// or "3 (2-8, peak 5) x4" for a pool that scales.
func workersText(p poolReport) string {
	if p.MinWorkers == p.MaxWorkers && p.PeakWorkers == p.MaxWorkers {
		return fmt.Sprintf("%d x%d", p.Workers, p.Concurrency)
	}
	return fmt.Sprintf("%d (%d-%d, peak %d) x%d", p.Workers, p.MinWorkers, p.MaxWorkers, p.PeakWorkers, p.Concurrency)
}

// statesText lists the states with workers, in state order: "idle 2, busy 1".
func statesText(byState map[string]int) string {
	var parts []string
	for s := actors.WorkerStarting; s <= actors.WorkerDead; s++ {
		if n := byState[s.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
