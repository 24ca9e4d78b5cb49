package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-go/drover/bench"
)

// benchOptions are the settings of `drover bench`, as the flags give them.
type benchOptions struct {
	Quick     bool     // the quick suite: under 60 s on two cores
	JSON      bool     // print {"rows": [...]}
	Workloads []string // workloads to run; none: all
	Impls     []string // impls to run; none: all
	Rounds    int      // interleaved rounds, for the spread of the ratios
	LogLevel  string   // hclog level
}

func newBenchCmd(g *globalOptions) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench [--quick] [--json] [--rounds N] [--workloads a,b] [--impls x,y]",
		Short: "Benchmark Drover beside baseline pools, in the same run",
		Long: `Bench runs the benchmark suite: each workload on Drover and on the baselines,
one after the other in this process, and prints a table (or, with --json,
{"rows": [...]}) with per row: workload, impl, tasks_per_sec, p50_ns, p99_ns,
allocs_per_task, bytes_per_task. A figure that does not apply is "-" in the
table and 0 in JSON; the "vs chan" column compares each row with the plain
channel pool. With --rounds N the whole selection runs N times, interleaved;
each row reports its median round, and "vs chan" the median of the ratios
paired within rounds with their range (JSON: rounds, vs_chan {median, min,
max}). A ratio from one round on a shared machine is noise; use 5 or more.

Workloads: ` + strings.Join(bench.Workloads(), ", ") + `
Impls:     ` + strings.Join(benchImplNames(), ", ") + `

  empty         empty tasks, 1,000 in flight: the cost of dispatch
  cpu10us       tasks spinning about 10 µs, 1,000 in flight
  sleep1ms      64 workers, tasks sleeping 1 ms, 1,000 in flight
  latency       one task in flight: submit-to-result p50 and p99
  queue_memory  workers blocked, tasks queued: bytes and allocations per queued task
  spawn10k      start 10,000 workers, each runs a task: workers started per second

The full suite takes a few minutes; --quick shrinks every workload so that it
takes under a minute on two cores. The figures measure the whole process:
run nothing else beside it. A progress bar goes to stderr (one line per
measurement when stderr is not a terminal), the results to stdout.

Exit status: 0 when every measurement ran; 1 when one failed or the run was
interrupted (the rows measured so far are still printed); 2 for a bad flag
or an unknown workload or impl name.`,
		Example: `  drover bench --quick
  drover bench --quick --rounds 5 --workloads empty,cpu10us --impls drover,drover_lean,chan
  drover bench --quick --json --workloads empty,latency --impls drover,chan`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.LogLevel = g.logLevel
			_, err := runBench(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Quick, "quick", false, "run the quick suite: under a minute on two cores")
	f.BoolVar(&o.JSON, "json", false, `print the rows as one JSON object, {"rows": [...]}`)
	f.StringSliceVar(&o.Workloads, "workloads", nil, "workloads to run, comma separated (default all): "+strings.Join(bench.Workloads(), ", "))
	f.IntVar(&o.Rounds, "rounds", 1, "run the selection this many times, interleaved, and report the median and range of each ratio (1 to 100)")
	f.StringSliceVar(&o.Impls, "impls", nil, "impls to run, comma separated (default all): "+strings.Join(benchImplNames(), ", "))
	return cmd
}

// benchImplNames lists the names of bench.Impls.
func benchImplNames() []string {
	impls := bench.Impls()
	names := make([]string, len(impls))
	for i, impl := range impls {
		names[i] = impl.Name
	}
	return names
}

// validate returns a usage error naming the first unknown name.
func (o benchOptions) validate() error {
	for _, sel := range []struct {
		flag         string
		names, valid []string
	}{
		{"--workloads", o.Workloads, bench.Workloads()},
		{"--impls", o.Impls, benchImplNames()},
	} {
		for _, name := range sel.names {
			if !slices.Contains(sel.valid, name) {
				return usageErrorf("%s has %q; allowed: %s", sel.flag, name, strings.Join(sel.valid, ", "))
			}
		}
	}
	if o.Rounds < 1 || o.Rounds > 100 {
		return usageErrorf("--rounds is %d; allowed: 1 to 100", o.Rounds)
	}
	if _, err := newLogger(o.LogLevel, io.Discard); err != nil {
		return err
	}
	return nil
}

// runBench runs the suite o selects and writes the rows to stdout, as a
// table or as JSON; progress and logs go to stderr. Ending ctx stops the
// run after the measurement in progress; the rows measured so far are
// still written, and the error says the run was interrupted.
func runBench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) ([]bench.Row, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	con := newConsole(stderr, isTerminal(stderr))
	logger, err := newLogger(o.LogLevel, con)
	if err != nil {
		return nil, err
	}
	suite := "full"
	if o.Quick {
		suite = "quick"
	}
	logger.Info("bench started", "suite", suite, "gomaxprocs", runtime.GOMAXPROCS(0), "num_cpu", runtime.NumCPU(),
		"go", runtime.Version(), "os", runtime.GOOS+"/"+runtime.GOARCH)

	p := newBenchProgress(con, time.Now())
	stop := p.start(progressTTYEvery)
	rows, runErr := bench.Run(ctx, bench.Options{
		Workloads: o.Workloads,
		Impls:     o.Impls,
		Quick:     o.Quick,
		Rounds:    o.Rounds,
		Progress:  p.update,
	})
	stop()
	logger.Info("bench finished", "rows", len(rows), "duration", time.Since(p.began).Round(time.Millisecond))

	if o.JSON {
		err = bench.WriteJSON(stdout, rows)
	} else if len(rows) > 0 {
		err = bench.WriteTable(stdout, rows)
		if err == nil && len(bench.Targets(rows)) > 0 {
			if _, err = io.WriteString(stdout, "\n"); err == nil {
				err = bench.WriteTargets(stdout, rows)
			}
		}
	}
	if err != nil {
		return rows, fmt.Errorf("write results: %w", err)
	}
	switch {
	case runErr == nil:
		return rows, nil
	case errors.Is(runErr, bench.ErrUnknownWorkload), errors.Is(runErr, bench.ErrUnknownImpl):
		return rows, usageErrorf("%w", runErr)
	case ctx.Err() != nil && errors.Is(runErr, ctx.Err()):
		return rows, failuref("interrupted after %d measurements", len(rows))
	default:
		return rows, failuref("%w", runErr)
	}
}

// benchProgress shows the suite's progress on a console: a bar redrawn in
// place on a terminal, one line per measurement otherwise. Its methods are
// safe for concurrent use.
type benchProgress struct {
	con   *console
	began time.Time

	mu          sync.Mutex
	done, total int
	label       string // the measurement running; "" once finished
	shown       bool   // a line has been shown
}

func newBenchProgress(con *console, began time.Time) *benchProgress {
	return &benchProgress{con: con, began: began}
}

// benchBarWidth is the number of cells of the progress bar.
const benchBarWidth = 24

// line renders the progress at elapsed.
func (p *benchProgress) line(elapsed time.Duration) string {
	p.mu.Lock()
	done, total, label := p.done, p.total, p.label
	p.mu.Unlock()
	bar := ""
	if p.con.tty && total > 0 {
		filled := benchBarWidth * done / total
		bar = "[" + strings.Repeat("#", filled) + strings.Repeat(".", benchBarWidth-filled) + "] "
	}
	s := fmt.Sprintf("bench: %s%d/%d", bar, done, total)
	if label != "" {
		s += " " + label
	} else {
		s += " done"
	}
	return s + ", " + elapsed.Round(100*time.Millisecond).String()
}

// update is bench.Options.Progress.
func (p *benchProgress) update(done, total int, label string) {
	p.mu.Lock()
	p.done, p.total, p.label = done, total, label
	p.shown = true
	p.mu.Unlock()
	if label == "" {
		return // the final line is drawn by stop
	}
	p.con.progress(p.line(time.Since(p.began)), false)
}

// start redraws the line every interval on a terminal, so that its clock
// runs during a long measurement, and returns the function that stops the
// redraws and shows the final line.
func (p *benchProgress) start(every time.Duration) (stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		if !p.con.tty {
			<-quit
			return
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.mu.Lock()
				shown := p.shown
				p.mu.Unlock()
				if shown {
					p.con.progress(p.line(time.Since(p.began)), false)
				}
			case <-quit:
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
		p.mu.Lock()
		shown := p.shown
		p.mu.Unlock()
		if shown {
			p.con.progress(p.line(time.Since(p.began)), true)
		}
	}
}
