package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// TargetResult is one of the goals Drover's data plane is held to, with what
// a run measured for it.
type TargetResult struct {
	// Target names the figure, as in "empty: drover_lean vs chan".
	Target string `json:"target"`
	// Goal is the bound, as in ">= 0.65x" or "<= 96 B".
	Goal string `json:"goal"`
	// Measured is the run's figure: a ratio with its range over rounds when
	// it has one, a latency pair, or bytes.
	Measured string `json:"measured"`
	// Met says whether Measured (its median, for a ratio over rounds) is
	// within Goal.
	Met bool `json:"met"`
}

// target is a goal on one row: a ratio of tasks/s to another impl's in the
// same workload (min), latency bounds (p50, p99), or bytes per queued task
// (maxBytes).
type target struct {
	workload, impl string
	vs             string  // the impl of the ratio's denominator
	min            float64 // lowest ratio
	p50, p99       time.Duration
	maxBytes       float64
}

// targets are the data plane's goals: lean and Future paths against the
// channel pool and protoactor, latency, queued bytes and worker spawn.
var targets = []target{
	{workload: WorkloadEmpty, impl: "drover_lean", vs: baselineImpl, min: 0.65},
	{workload: WorkloadEmpty, impl: "drover", vs: baselineImpl, min: 0.40},
	{workload: WorkloadEmpty, impl: "drover_lean", vs: "protoactor_future", min: 9},
	{workload: WorkloadCPU10us, impl: "drover", vs: baselineImpl, min: 0.97},
	{workload: WorkloadCPU10us, impl: "drover_lean", vs: baselineImpl, min: 0.97},
	{workload: WorkloadSleep1ms, impl: "drover", vs: baselineImpl, min: 0.99},
	{workload: WorkloadSleep1ms, impl: "drover_lean", vs: baselineImpl, min: 0.99},
	{workload: WorkloadLatency, impl: "drover", p50: 2 * time.Microsecond, p99: 10 * time.Microsecond},
	{workload: WorkloadLatency, impl: "drover_lean", p50: 2 * time.Microsecond, p99: 10 * time.Microsecond},
	{workload: WorkloadQueueMemory, impl: "drover", maxBytes: 96},
	{workload: WorkloadQueueMemory, impl: "drover_lean", maxBytes: 96},
	{workload: WorkloadSpawn10k, impl: "drover", vs: "protoactor_future", min: 1 / 1.2},
}

// Targets checks rows against the data plane's goals and returns one result
// per goal whose rows were measured, in a fixed order. A ratio to chan is
// the median (and range) of the ratios paired within rounds; a ratio to
// another impl is that of the two median rows.
func Targets(rows []Row) []TargetResult {
	find := func(workload, impl string) (Row, bool) {
		for _, r := range rows {
			if r.Workload == workload && r.Impl == impl {
				return r, true
			}
		}
		return Row{}, false
	}
	var out []TargetResult
	for _, t := range targets {
		r, ok := find(t.workload, t.impl)
		if !ok {
			continue
		}
		res := TargetResult{Target: t.workload + ": " + t.impl}
		switch {
		case t.vs != "":
			res.Target += " vs " + t.vs
			res.Goal = fmt.Sprintf(">= %.2fx", t.min)
			var ratio float64
			if t.vs == baselineImpl && r.VsChan.Median > 0 {
				ratio = r.VsChan.Median
				res.Measured = fmt.Sprintf("%.2fx", ratio)
				if r.Rounds > 1 {
					res.Measured += fmt.Sprintf(" (%.2f-%.2f)", r.VsChan.Min, r.VsChan.Max)
				}
			} else if b, ok := find(t.workload, t.vs); ok && b.TasksPerSec > 0 && r.TasksPerSec > 0 {
				ratio = r.TasksPerSec / b.TasksPerSec
				res.Measured = fmt.Sprintf("%.2fx", ratio)
			} else {
				continue
			}
			res.Met = ratio >= t.min
		case t.p50 > 0:
			res.Target += " p50 / p99"
			res.Goal = fmt.Sprintf("<= %s / %s", t.p50, t.p99)
			res.Measured = fmt.Sprintf("%s / %s", formatNanos(r.P50Nanos), formatNanos(r.P99Nanos))
			res.Met = r.P50Nanos > 0 && time.Duration(r.P50Nanos) <= t.p50 && time.Duration(r.P99Nanos) <= t.p99
		default:
			res.Target += " bytes per queued task"
			res.Goal = fmt.Sprintf("<= %.0f B", t.maxBytes)
			res.Measured = fmt.Sprintf("%.0f B", r.BytesPerTask)
			res.Met = r.BytesPerTask <= t.maxBytes
		}
		out = append(out, res)
	}
	return out
}

// WriteTargets writes the results of Targets(rows) to w as an aligned text
// table, or nothing when no goal's rows were measured.
func WriteTargets(w io.Writer, rows []Row) error {
	res := Targets(rows)
	if len(res) == 0 {
		return nil
	}
	cells := [][]string{{"target", "goal", "measured", "met"}}
	for _, r := range res {
		met := "no"
		if r.Met {
			met = "yes"
		}
		cells = append(cells, []string{r.Target, r.Goal, r.Measured, met})
	}
	widths := make([]int, len(cells[0]))
	for _, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, line := range cells {
		for i, c := range line {
			b.WriteString(c)
			if i < len(line)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
