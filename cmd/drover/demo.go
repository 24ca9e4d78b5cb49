package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
)

// demoOptions are the settings of one demo run, as the flags give them.
type demoOptions struct {
	Tasks        int           // tasks to submit; 0: no limit (needs Duration)
	Concurrency  int           // tasks in flight at once
	FaultRate    float64       // share of tasks that panic; a tenth as many hang
	Seed         uint64        // workload seed
	Duration     time.Duration // stop submitting after this long; 0: no limit
	TaskTimeout  time.Duration // each task's timeout
	DrainTimeout time.Duration // how long the final shutdown may drain
	JSON         bool          // print the report as JSON
	LogLevel     string        // hclog level
	Admin        string        // serve the admin endpoint and dashboard here; "" for none
}

// defaultDemoOptions returns the flags' defaults.
func defaultDemoOptions() demoOptions {
	return demoOptions{
		Tasks:        20000,
		Concurrency:  64,
		FaultRate:    0.01,
		Seed:         1,
		TaskTimeout:  200 * time.Millisecond,
		DrainTimeout: 10 * time.Second,
		LogLevel:     "info",
	}
}

// maxDemoConcurrency bounds --concurrency.
const maxDemoConcurrency = 1 << 16

// validate returns a usage error naming the first flag out of its range.
func (o demoOptions) validate() error {
	switch {
	case o.Tasks < 0:
		return usageErrorf("--tasks is %d; allowed: 0 or more (0 means no limit and needs --duration)", o.Tasks)
	case o.Tasks == 0 && o.Duration == 0:
		return usageErrorf("--tasks is 0 and --duration is 0; allowed: --tasks 1 or more, or --tasks 0 with a --duration")
	case o.Concurrency < 1 || o.Concurrency > maxDemoConcurrency:
		return usageErrorf("--concurrency is %d; allowed: 1 to %d", o.Concurrency, maxDemoConcurrency)
	case !(o.FaultRate >= 0 && o.FaultRate <= 1):
		return usageErrorf("--fault-rate is %v; allowed: 0 to 1", o.FaultRate)
	case o.Duration < 0:
		return usageErrorf("--duration is %s; allowed: 0 (until --tasks are submitted) or more", o.Duration)
	case o.TaskTimeout <= 0:
		return usageErrorf("--task-timeout is %s; allowed: more than 0", o.TaskTimeout)
	case o.DrainTimeout <= 0:
		return usageErrorf("--drain-timeout is %s; allowed: more than 0", o.DrainTimeout)
	}
	if _, err := newLogger(o.LogLevel, io.Discard); err != nil {
		return err
	}
	return nil
}

func newDemoCmd(g *globalOptions) *cobra.Command {
	o := defaultDemoOptions()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a seeded workload with injected faults on an in-process node",
		Long: `Demo starts one in-process node with five pools and runs a mixed workload on it:

  cpu    cpu workers, round-robin router     "hash" tasks: iterated SHA-256
  io     io workers, least-busy router       "fetch" tasks: a 0.5-5 ms wait
  mixed  mixed workers, p2c router           "resize" tasks: hashing, then a wait
  burst  dynamic pool of 1 to 8 io workers   "fetch" tasks; it grows with its
         (least-busy), scaled with its load  queue and shrinks when idle
  proc   2 process workers, 8 tasks each,    "hash" tasks, run in child
         round-robin router                  processes: this executable, started
                                             as 'drover worker'

Tasks go to the pools in equal shares with random priorities. A share
--fault-rate of them panic in their handler, and a tenth as many more hang
until their --task-timeout: in-process workers restart, a worker process
reports the panic and goes on serving, and every accepted task still gets
exactly one result. At most --concurrency tasks are in flight; Submit
waits for room in a pool's queue, so no task is dropped. The same --seed gives
the same workload.

A progress line goes to stderr (redrawn in place on a terminal, one line a
second otherwise), then the report to stdout: totals, latency from submission
to result, and per pool its workers, their states, results and restarts.
With --json the report is one JSON object.

With --admin ADDR the node also serves its admin endpoint there, the live
dashboard at / included (the log line "dashboard" gives its URL), until the
report is written: a way to watch the pools, restarts and charts while the
workload runs, say with --tasks 0 --duration 2m.

The node's shutdown stops and reaps the worker processes; the demo checks
that none is left (on Linux, from /proc).

The exit status is 1 if an accepted task never got a result (lost is not 0)
or a worker process outlived the node, 2 if a flag is out of range.`,
		Example: `  drover demo
  drover demo --tasks 100000 --concurrency 256 --fault-rate 0.05 --json
  drover demo --tasks 0 --duration 30s
  drover demo --tasks 0 --duration 2m --admin 127.0.0.1:9090`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.LogLevel = g.logLevel
			_, err := runDemo(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Tasks, "tasks", o.Tasks, "tasks to submit (0: no limit, with --duration)")
	f.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "tasks in flight at once, from submission to result")
	f.Float64Var(&o.FaultRate, "fault-rate", o.FaultRate, "share of tasks that panic in their handler (0 to 1); a tenth as many more hang until their timeout")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the workload generator: the same seed gives the same workload")
	f.DurationVar(&o.Duration, "duration", o.Duration, "stop submitting after this long (0: once --tasks are submitted)")
	f.DurationVar(&o.TaskTimeout, "task-timeout", o.TaskTimeout, "timeout of each task, from submission to result")
	f.DurationVar(&o.DrainTimeout, "drain-timeout", o.DrainTimeout, "how long the final shutdown lets queued and running tasks finish")
	f.BoolVar(&o.JSON, "json", o.JSON, "print the report as one JSON object")
	f.StringVar(&o.Admin, "admin", o.Admin, `serve the node's admin endpoint and live dashboard on this host:port ("127.0.0.1:0" picks a free port)`)
	return cmd
}

// demoTally counts the demo's submissions and results. Its counters are
// safe for concurrent use.
type demoTally struct {
	start time.Time

	submitted, rejected         atomic.Uint64
	injectedPanic, injectedHang atomic.Uint64
	// results counts results recorded: completed plus failed, which splits
	// into panics, timeouts, canceled and other.
	results, completed, failed atomic.Uint64
	panics, timeouts           atomic.Uint64
	canceled, other            atomic.Uint64
	lastResult                 atomic.Int64 // ns after start
	latency                    latencyHistogram
}

// record counts the result of a task submitted at began.
func (t *demoTally) record(res actors.Result, began time.Time) {
	now := time.Now()
	t.latency.Record(now.Sub(began))
	if res.Err == nil {
		t.completed.Add(1)
	} else {
		t.failed.Add(1)
	}
	switch err := res.Err; {
	case err == nil:
	case errors.Is(err, actors.ErrPanic):
		t.panics.Add(1)
	case errors.Is(err, actors.ErrTimeout):
		t.timeouts.Add(1)
	case errors.Is(err, actors.ErrCanceled):
		t.canceled.Add(1)
	default:
		t.other.Add(1)
	}
	t.results.Add(1) // last, so that results never runs ahead of the parts
	at := int64(now.Sub(t.start))
	for {
		m := t.lastResult.Load()
		if at <= m || t.lastResult.CompareAndSwap(m, at) {
			return
		}
	}
}

// accepted is a task the node accepted, waiting for its result.
type accepted struct {
	f     *actors.Future
	began time.Time
}

// runDemo runs the demo: it starts the node, submits the workload, shuts
// the node down, and writes the report to stdout (JSON with o.JSON).
// Progress and logs go to stderr. Ending ctx stops the submissions and
// cancels the tasks in flight; the node still shuts down and the report is
// still written. The error is a usage error for bad options, a failure if
// a task was lost, or the error of starting the node or writing the report.
func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) (*demoReport, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	con := newConsole(stderr, isTerminal(stderr))
	logger, err := newLogger(o.LogLevel, con)
	if err != nil {
		return nil, err
	}

	worker, err := demoWorker()
	if err != nil {
		return nil, fmt.Errorf("locate the worker command: %w", err)
	}
	opts := []actors.Option{actors.WithName("drover-demo"), actors.WithLogger(logger)}
	for _, pc := range []actors.PoolConfig{
		{Name: poolCPU, Kind: actors.KindCPU, Strategy: "round-robin"},
		{Name: poolIO, Kind: actors.KindIO, Strategy: "least-busy"},
		{Name: poolMixed, Kind: actors.KindMixed, Strategy: "p2c"},
		{Name: poolBurst, Kind: actors.KindIO, Strategy: "least-busy", Concurrency: 8, MinWorkers: 1, MaxWorkers: 8,
			Scale: actors.ScalePolicy{Interval: 50 * time.Millisecond, Cooldown: 250 * time.Millisecond}},
		{Name: poolProc, Kind: actors.KindProcess, Strategy: "round-robin", Workers: 2, Concurrency: 8, Process: &worker},
	} {
		opts = append(opts, actors.WithPool(pc))
	}
	for name, h := range demoHandlers() {
		opts = append(opts, actors.WithHandler(name, h))
	}
	node, err := actors.NewNode(opts...)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	if o.Admin != "" {
		srv, err := admin.Start(o.Admin, admin.NewHandler(node), admin.WithLogger(logger))
		if err != nil {
			_, _ = node.Shutdown(context.Background())
			return nil, failuref("--admin: %w", err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}()
		logger.Info("dashboard", "url", "http://"+srv.Addr().String()+"/")
	}
	logger.Info("demo started", "tasks", o.Tasks, "concurrency", o.Concurrency,
		"fault_rate", o.FaultRate, "seed", o.Seed, "duration", o.Duration, "pools", len(node.Stats().Pools))

	t := &demoTally{start: time.Now()}

	// Progress.
	every := progressPlainEvery
	if con.tty {
		every = progressTTYEvery
	}
	stopProgress, progressDone := make(chan struct{}), make(chan struct{})
	go runProgress(con, every, func() progressSnapshot {
		var restarts uint64
		for _, p := range node.Stats().Pools {
			restarts += p.Restarts
		}
		done := t.results.Load()
		return progressSnapshot{
			done:     done,
			total:    uint64(o.Tasks),
			inFlight: t.submitted.Load() - min(done, t.submitted.Load()),
			failed:   t.failed.Load(),
			restarts: restarts,
			elapsed:  time.Since(t.start),
		}
	}, stopProgress, progressDone)

	// Waiters: one per task that may be in flight, so that every accepted
	// task has one waiting on it at once. A slot in tokens is a task in flight.
	tokens := make(chan struct{}, o.Concurrency)
	pending := make(chan accepted, o.Concurrency)
	abandon := make(chan struct{}) // closed once Shutdown has returned
	var waiters sync.WaitGroup
	for range o.Concurrency {
		waiters.Go(func() {
			for a := range pending {
				select {
				case <-a.f.Done():
				case <-abandon:
				}
				if res, ok := a.f.Result(); ok {
					t.record(res, a.began)
				} // else lost: counted as submitted minus results
				<-tokens
			}
		})
	}

	// The generator: one goroutine, so that the same seed submits the same
	// tasks in the same order.
	genCtx, cancelGen := ctx, context.CancelFunc(func() {})
	if o.Duration > 0 {
		genCtx, cancelGen = context.WithTimeout(ctx, o.Duration)
	}
	wl := newWorkload(o.Seed, o.FaultRate, o.TaskTimeout)
	warned := false
generate:
	for i := 0; o.Tasks == 0 || i < o.Tasks; i++ {
		if genCtx.Err() != nil {
			break
		}
		select {
		case tokens <- struct{}{}:
		case <-genCtx.Done():
			break generate
		}
		spec := wl.next()
		began := time.Now()
		f, err := node.Submit(ctx, spec.task)
		if err != nil {
			<-tokens
			t.rejected.Add(1)
			if ctx.Err() != nil {
				break generate // interrupted: not worth a warning
			}
			if !warned {
				warned = true
				logger.Warn("task refused; the report counts refusals as rejected", "pool", spec.task.Pool, "error", err)
			}
			continue
		}
		t.submitted.Add(1)
		switch spec.fault {
		case faultPanic:
			t.injectedPanic.Add(1)
		case faultHang:
			t.injectedHang.Add(1)
		}
		pending <- accepted{f: f, began: began}
	}
	cancelGen()
	close(pending)

	// Every Submit has returned: drain and stop the node.
	before := node.Stats()
	shutStart := time.Now()
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), o.DrainTimeout)
	shut, shutErr := node.Shutdown(drainCtx)
	cancelDrain()
	shutTook := time.Since(shutStart)
	close(abandon)
	waiters.Wait()
	close(stopProgress)
	<-progressDone
	after := node.Stats()
	if shutErr != nil {
		logger.Warn("shutdown did not drain in time", "drain_timeout", o.DrainTimeout, "error", shutErr)
	}
	// Shutdown has reaped the worker processes: none may be left, not even
	// a zombie.
	procsLeft, procsCounted := childProcesses(worker.Command)

	rep := buildReport(o, t, before, after)
	rep.Shutdown = shutdownReport{
		Drained:             shut.Drained,
		Failed:              shut.Failed,
		Abandoned:           shut.Abandoned,
		DurationMS:          millis(shutTook),
		WorkerProcessesLeft: -1,
	}
	if procsCounted {
		rep.Shutdown.WorkerProcessesLeft = procsLeft
	}
	if shutErr != nil {
		rep.Shutdown.Error = shutErr.Error()
	}
	fields := []any{"submitted", rep.Submitted, "completed", rep.Completed,
		"failed", rep.Failed, "lost", rep.Lost, "restarts", rep.Restarts, "duration", time.Since(t.start).Round(time.Millisecond)}
	if procsCounted {
		fields = append(fields, "worker_processes_left", procsLeft)
	}
	logger.Info("demo finished", fields...)

	if o.JSON {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		return rep, fmt.Errorf("write report: %w", err)
	}
	if rep.Lost != 0 {
		return rep, failuref("%d accepted tasks never got a result (submitted %d, results %d)",
			rep.Lost, rep.Submitted, rep.Completed+rep.Failed)
	}
	if procsLeft != 0 {
		return rep, failuref("%d worker processes (%s) outlived the node's shutdown", procsLeft, worker.Command)
	}
	return rep, nil
}

// buildReport puts the tally and the node's snapshots together.
func buildReport(o demoOptions, t *demoTally, before, after actors.NodeStats) *demoReport {
	results := t.results.Load()
	submitted := t.submitted.Load()
	rep := &demoReport{
		Seed:      o.Seed,
		Tasks:     o.Tasks,
		Submitted: submitted,
		Rejected:  t.rejected.Load(),
		Completed: t.completed.Load(),
		Failed:    t.failed.Load(),
		FailedBy: failureReasons{
			Panic:    t.panics.Load(),
			Timeout:  t.timeouts.Load(),
			Canceled: t.canceled.Load(),
			Other:    t.other.Load(),
		},
		TimedOut: t.timeouts.Load(),
		Injected: injectedFaults{Panic: t.injectedPanic.Load(), Hang: t.injectedHang.Load()},
		Latency: latencyReport{
			P50: millis(t.latency.Quantile(0.50)),
			P90: millis(t.latency.Quantile(0.90)),
			P99: millis(t.latency.Quantile(0.99)),
			Max: millis(t.latency.Max()),
		},
		Pools: poolReports(before, after),
	}
	if submitted > results {
		rep.Lost = submitted - results
	}
	for _, p := range after.Pools {
		rep.Restarts += p.Restarts
	}
	if d := time.Duration(t.lastResult.Load()); d > 0 {
		rep.DurationS = math.Round(d.Seconds()*1000) / 1000
		rep.TasksPerSec = math.Round(float64(results) / d.Seconds())
	}
	return rep
}
