package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// Errors returned by Run and by the baseline pools.
var (
	// ErrUnknownWorkload is wrapped by Run's error for a name in
	// Options.Workloads that is not a workload; the message lists the
	// allowed names.
	ErrUnknownWorkload = errors.New("bench: unknown workload")
	// ErrUnknownImpl is wrapped by Run's error for a name in Options.Impls
	// that is not an impl; the message lists the allowed names.
	ErrUnknownImpl = errors.New("bench: unknown impl")
	// ErrInvalidImpl is wrapped by Run's error for an Impl with an empty or
	// duplicate Name or a nil Start.
	ErrInvalidImpl = errors.New("bench: invalid impl")
	// ErrInvalidConfig is returned by a baseline's Start for a Config whose
	// Workers or MaxInFlight is below 1.
	ErrInvalidConfig = errors.New("bench: invalid config")
	// ErrClosed is returned by a baseline pool's Submit after Close.
	ErrClosed = errors.New("bench: pool closed")
)

// Workload names, in the order Run measures them.
const (
	WorkloadEmpty       = "empty"
	WorkloadCPU10us     = "cpu10us"
	WorkloadSleep1ms    = "sleep1ms"
	WorkloadLatency     = "latency"
	WorkloadQueueMemory = "queue_memory"
	WorkloadSpawn10k    = "spawn10k"
)

// Row is the measurement of one workload on one impl. A field that does not
// apply to the workload is 0. The JSON names are a contract that other tools
// read. A Row is a plain value, safe to copy and share.
type Row struct {
	// Workload is one of the Workload… names.
	Workload string `json:"workload"`
	// Impl is the Impl's Name.
	Impl string `json:"impl"`
	// TasksPerSec is tasks completed (results back with the submitter) per
	// second; for spawn10k, workers started per second.
	TasksPerSec float64 `json:"tasks_per_sec"`
	// P50Nanos and P99Nanos are submit-to-result percentiles (latency only).
	P50Nanos int64 `json:"p50_ns"`
	P99Nanos int64 `json:"p99_ns"`
	// AllocsPerTask and BytesPerTask are heap allocations per task (per
	// worker for spawn10k, per queued task for queue_memory, where bytes are
	// the heap and stack growth held by the queue).
	AllocsPerTask float64 `json:"allocs_per_task"`
	BytesPerTask  float64 `json:"bytes_per_task"`
	// CPUNanosPerTask is the process's CPU time (every goroutine, user and
	// system) per task, for empty, cpu10us and sleep1ms; 0 elsewhere and
	// off unix. Load from other processes changes it far less than tasks/s.
	CPUNanosPerTask float64 `json:"cpu_ns_per_task"`
	// Rounds is the number of rounds measured (Options.Rounds). With more
	// than one, the other figures are those of the median round (by the
	// headline figure: tasks/s, or bytes per task for queue_memory), and
	// VsChan gives the spread of the ratios to chan paired within rounds.
	Rounds int `json:"rounds"`
	// VsChan is the row's headline figure over chan's in the same round:
	// the median, lowest and highest over the rounds; zero when chan was
	// not measured or the figure does not apply.
	VsChan Spread `json:"vs_chan"`
}

// Spread is the median and range of a figure over rounds.
type Spread struct {
	// Median is the middle value (the upper one of an even count).
	Median float64 `json:"median"`
	// Min and Max are the lowest and the highest.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// Config is what a workload asks of a pool; a plain value.
type Config struct {
	// Workers is the number of workers (goroutines, actors) the pool runs
	// tasks on; at least 1.
	Workers int
	// MaxInFlight bounds the tasks the harness has submitted but not yet
	// awaited at any moment; at least 1. A pool sizes its queue and reply
	// paths so that MaxInFlight tasks never make a worker wait on a reply.
	MaxInFlight int
}

// Pool is a started pool of one impl, used by one workload. The harness calls
// Submit and Await from one goroutine, never concurrently (except Submit on a
// Parker, see there), and Close after every submitted task has been awaited;
// a second Close returns nil. A Pool need not be safe for concurrent use
// beyond that.
type Pool interface {
	// Submit hands task to the pool to run once on one of its workers. It
	// must not block while fewer than Config.MaxInFlight tasks are
	// outstanding, unless the pool is a Parker. After Close it returns an
	// error.
	Submit(task func()) error
	// Await blocks until the result of one submitted task is back with the
	// caller and returns that task's error. Results may come back in any
	// order; Await is called once per Submit.
	Await() error
	// Close stops the pool and everything it started. When Close returns,
	// no goroutine of the pool is left.
	Close() error
}

// Parker is implemented by a Pool that has no queue of its own: its Submit
// parks the caller while every worker is busy (ants). The queue_memory
// workload then queues each task from a goroutine of its own and waits until
// Parked counts them all, so the bytes it reports include the parked
// goroutines, which is what queueing costs there. A Parker's Submit and
// Parked are safe to call from many goroutines at once.
type Parker interface {
	Pool
	// Parked returns the number of callers parked in Submit.
	Parked() int
}

// Impl is one contender: a name and a way to start pools. An Impl is a plain
// value. Run calls Start from one goroutine, once or twice per workload, and
// each Pool is closed before the next Start.
type Impl struct {
	// Name is the impl column of the rows: unique in a run.
	Name string
	// Start starts a pool for cfg, ready to take tasks when it returns.
	Start func(cfg Config) (Pool, error)
}

// Options selects what Run measures. The zero value measures every workload
// on every impl of Impls at full size. Run reads Options and does not keep
// it.
type Options struct {
	// Workloads names the workloads to run, in Run's order whatever the
	// order here; empty means all.
	Workloads []string
	// Impls names the impls to run, from Impls and Extra; empty means all.
	Impls []string
	// Quick shrinks every workload so the whole suite takes under 60 s on
	// two cores.
	Quick bool
	// Progress, if not nil, is called on Run's goroutine before each
	// measurement with the number finished, the total and the label
	// ("workload/impl") of the one starting, and once at the end with done
	// equal to total and an empty label.
	Progress func(done, total int, label string)
	// Extra adds contenders beyond Impls, measured after them.
	Extra []Impl
	// Rounds repeats the whole selection this many times, interleaved (each
	// round measures every workload on every impl), so that each row can
	// say the spread of its ratio to chan; 0 means 1. A row reports its
	// median round.
	Rounds int
}

// Workloads returns the workload names in the order Run measures them.
// Safe for concurrent use.
func Workloads() []string {
	return []string{
		WorkloadEmpty, WorkloadCPU10us, WorkloadSleep1ms,
		WorkloadLatency, WorkloadQueueMemory, WorkloadSpawn10k,
	}
}

// Impls returns the contenders of this package, baselines included, in the
// order Run measures them. A contender written in this package adds itself
// here. Each call returns a new slice; safe for concurrent use.
func Impls() []Impl {
	return []Impl{
		droverImpl(),
		droverLeanImpl(),
		chanImpl(),
		antsImpl(),
		pondImpl(),
		protoactorFutureImpl(),
		protoactorCollectorImpl(),
	}
}

// Run measures the selected workloads on the selected impls, one after the
// other, and returns a row per pair, grouped by workload in the order of
// Workloads and then by impl in the order of Impls and Extra. A bad name in
// Options returns an error wrapping ErrUnknownWorkload, ErrUnknownImpl or
// ErrInvalidImpl before anything runs. An impl that fails, or ctx ending,
// stops the run: Run returns the rows measured so far and the error.
//
// Run measures the whole process (allocations, CPU): do not run two at once
// or beside other work if the figures matter.
func Run(ctx context.Context, opts Options) ([]Row, error) {
	sz := fullSizes()
	if opts.Quick {
		sz = quickSizes()
	}
	return run(ctx, opts, sz)
}

func run(ctx context.Context, opts Options, sz sizes) ([]Row, error) {
	workloads, impls, err := selectRun(opts)
	if err != nil {
		return nil, err
	}
	h := &harness{ctx: ctx, sz: sz, procs: runtime.GOMAXPROCS(0)}
	if slices.Contains(workloads, WorkloadCPU10us) {
		h.spinIters = calibrateSpin(cpuTaskDuration)
	}
	rounds := max(opts.Rounds, 1)
	per := len(workloads) * len(impls)
	total := per * rounds
	measured := make([][]Row, rounds) // by round, each in Run's row order
	done := 0
	for r := range rounds {
		for _, w := range workloads {
			// Each round starts a workload with another impl, so that no impl
			// always runs first in its process (cold: about 2x slower on
			// spawn10k) or always after one that left work for the GC.
			rows := make([]Row, len(impls))
			got := make([]bool, len(impls))
			keep := func() {
				for j := range impls {
					if got[j] {
						measured[r] = append(measured[r], rows[j])
					}
				}
			}
			for k := range impls {
				j := (k + r) % len(impls)
				impl := impls[j]
				if err := ctx.Err(); err != nil {
					keep()
					return summarize(measured[:r+1]), err
				}
				if opts.Progress != nil {
					label := w + "/" + impl.Name
					if rounds > 1 {
						label = fmt.Sprintf("%s (round %d of %d)", label, r+1, rounds)
					}
					opts.Progress(done, total, label)
				}
				row, err := h.measure(w, impl)
				if err != nil {
					keep()
					return summarize(measured[:r+1]), fmt.Errorf("bench: %s/%s: %w", w, impl.Name, err)
				}
				rows[j], got[j] = row, true
				done++
			}
			keep()
		}
	}
	if opts.Progress != nil {
		opts.Progress(total, total, "")
	}
	return summarize(measured), nil
}

// headline is the figure a row is ranked and compared by.
func headline(r Row) float64 {
	if r.Workload == WorkloadQueueMemory {
		return r.BytesPerTask
	}
	return r.TasksPerSec
}

// summarize folds the rounds' rows into one row per workload and impl, in
// the order they first appear: the median round's figures, and the spread
// of the ratios to chan paired within each round. Rows of an unfinished
// last round count where they exist.
func summarize(rounds [][]Row) []Row {
	type key struct{ workload, impl string }
	var order []key
	seen := map[key]bool{}
	for _, rs := range rounds {
		for _, r := range rs {
			if k := (key{r.Workload, r.Impl}); !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
	}
	out := make([]Row, 0, len(order))
	for _, k := range order {
		var samples []Row
		var ratios []float64
		for _, rs := range rounds {
			i := slices.IndexFunc(rs, func(r Row) bool { return r.Workload == k.workload && r.Impl == k.impl })
			if i < 0 {
				continue
			}
			samples = append(samples, rs[i])
			for _, b := range rs {
				if b.Workload == k.workload && b.Impl == baselineImpl && headline(b) > 0 && headline(rs[i]) > 0 {
					ratios = append(ratios, headline(rs[i])/headline(b))
				}
			}
		}
		slices.SortFunc(samples, func(a, b Row) int {
			return cmp.Compare(headline(a), headline(b))
		})
		row := samples[len(samples)/2]
		row.Rounds = len(samples)
		if len(ratios) > 0 {
			slices.Sort(ratios)
			row.VsChan = Spread{Median: ratios[len(ratios)/2], Min: ratios[0], Max: ratios[len(ratios)-1]}
		}
		out = append(out, row)
	}
	return out
}

// selectRun validates opts and returns the workloads and impls to run, in
// Run's order.
func selectRun(opts Options) ([]string, []Impl, error) {
	all := append(Impls(), opts.Extra...)
	names := make([]string, 0, len(all))
	for _, impl := range all {
		if impl.Name == "" || impl.Start == nil {
			return nil, nil, fmt.Errorf("%w: %q needs a Name and a Start", ErrInvalidImpl, impl.Name)
		}
		if slices.Contains(names, impl.Name) {
			return nil, nil, fmt.Errorf("%w: Name %q is used twice", ErrInvalidImpl, impl.Name)
		}
		names = append(names, impl.Name)
	}
	allWorkloads := Workloads()
	for _, w := range opts.Workloads {
		if !slices.Contains(allWorkloads, w) {
			return nil, nil, fmt.Errorf("%w %q (allowed: %s)", ErrUnknownWorkload, w, strings.Join(allWorkloads, ", "))
		}
	}
	for _, name := range opts.Impls {
		if !slices.Contains(names, name) {
			return nil, nil, fmt.Errorf("%w %q (allowed: %s)", ErrUnknownImpl, name, strings.Join(names, ", "))
		}
	}
	workloads := allWorkloads
	if len(opts.Workloads) > 0 {
		workloads = workloads[:0:0]
		for _, w := range allWorkloads {
			if slices.Contains(opts.Workloads, w) {
				workloads = append(workloads, w)
			}
		}
	}
	impls := all
	if len(opts.Impls) > 0 {
		impls = impls[:0:0]
		for _, impl := range all {
			if slices.Contains(opts.Impls, impl.Name) {
				impls = append(impls, impl)
			}
		}
	}
	return workloads, impls, nil
}

// validate checks the fields of a Config that every pool needs.
func (c Config) validate() error {
	if c.Workers < 1 {
		return fmt.Errorf("%w: Workers is %d, must be at least 1", ErrInvalidConfig, c.Workers)
	}
	if c.MaxInFlight < 1 {
		return fmt.Errorf("%w: MaxInFlight is %d, must be at least 1", ErrInvalidConfig, c.MaxInFlight)
	}
	return nil
}
