package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// baselineImpl is the impl the ratio column of WriteTable compares with.
const baselineImpl = "chan"

// WriteTable writes rows to w as an aligned text table, one line per row,
// with a column "vs chan" giving the row's headline figure over chan's for
// the same workload: tasks/s for every workload but queue_memory, bytes per
// task for queue_memory. With several rounds it is the median of the ratios
// paired within rounds, and their range in brackets; "cpu/task" is the
// process's CPU time per task. A figure that does not apply shows as "-". Safe for concurrent use with distinct writers.
func WriteTable(w io.Writer, rows []Row) error {
	base := make(map[string]Row)
	for _, r := range rows {
		if r.Impl == baselineImpl {
			base[r.Workload] = r
		}
	}
	cells := [][]string{{"workload", "impl", "tasks/s", "vs " + baselineImpl, "p50", "p99", "cpu/task", "allocs/task", "B/task"}}
	for _, r := range rows {
		cells = append(cells, []string{
			r.Workload,
			r.Impl,
			formatRate(r.TasksPerSec),
			formatRatio(r, base),
			formatNanos(r.P50Nanos),
			formatNanos(r.P99Nanos),
			formatNanos(int64(r.CPUNanosPerTask)),
			formatFloat(r.AllocsPerTask, 2),
			formatFloat(r.BytesPerTask, 0),
		})
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
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			switch {
			case i < 2: // names: left aligned
				b.WriteString(c)
				if i < len(line)-1 {
					b.WriteString(pad)
				}
			default: // figures: right aligned
				b.WriteString(pad)
				b.WriteString(c)
			}
			if i < len(line)-1 {
				b.WriteString("  ")
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Report is the JSON form of a run: {"rows": [...], "targets": [...]}.
type Report struct {
	Rows []Row `json:"rows"`
	// Targets is Targets(Rows), left out when no goal's rows were measured.
	Targets []TargetResult `json:"targets,omitempty"`
}

// WriteJSON writes rows to w as one JSON object (a Report: the rows and
// the targets they were checked against) and a newline. Safe for
// concurrent use with distinct writers.
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	return json.NewEncoder(w).Encode(Report{Rows: rows, Targets: Targets(rows)})
}

func formatRatio(r Row, base map[string]Row) string {
	if r.Rounds > 1 && r.VsChan.Median > 0 {
		return fmt.Sprintf("%.2fx (%.2f-%.2f)", r.VsChan.Median, r.VsChan.Min, r.VsChan.Max)
	}
	b, ok := base[r.Workload]
	if !ok {
		return "-"
	}
	num, den := r.TasksPerSec, b.TasksPerSec
	if r.Workload == WorkloadQueueMemory {
		num, den = r.BytesPerTask, b.BytesPerTask
	}
	if num <= 0 || den <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", num/den)
}

func formatRate(v float64) string {
	switch {
	case v <= 0:
		return "-"
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func formatNanos(ns int64) string {
	switch {
	case ns <= 0:
		return "-"
	case ns >= 1e6:
		return fmt.Sprintf("%.2fms", float64(ns)/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2fµs", float64(ns)/1e3)
	default:
		return fmt.Sprintf("%dns", ns)
	}
}

func formatFloat(v float64, prec int) string {
	return fmt.Sprintf("%.*f", prec, v)
}
