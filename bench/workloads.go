package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

const (
	// window is the number of tasks in flight in the throughput workloads.
	window = 1000
	// sleepWorkers is the pool size of the sleep1ms workload.
	sleepWorkers = 64
	// cpuTaskDuration is what one cpu10us task spins for.
	cpuTaskDuration = 10 * time.Microsecond
	// ctxCheckMask sets how often the drive loops look at ctx: every 4096 tasks.
	ctxCheckMask = 4095
	// parkTimeout bounds the wait for a Parker's callers to park.
	parkTimeout = time.Minute
)

// sizes are the task counts of one run.
type sizes struct {
	empty, cpu, sleep int // tasks of the throughput workloads
	latency           int // samples of the latency workload
	queue             int // tasks queued by queue_memory
	spawn             int // workers started by spawn10k
	window            int // tasks in flight in the throughput workloads
}

// fullSizes are Run's default: about 40 s for the suite on two cores.
func fullSizes() sizes {
	return sizes{empty: 2_000_000, cpu: 200_000, sleep: 128_000, latency: 200_000, queue: 100_000, spawn: 10_000, window: window}
}

// quickSizes keep the whole suite under 60 s on two cores.
func quickSizes() sizes {
	return sizes{empty: 500_000, cpu: 50_000, sleep: 32_000, latency: 50_000, queue: 50_000, spawn: 10_000, window: window}
}

// harness runs the workloads of one Run.
type harness struct {
	ctx       context.Context
	sz        sizes
	procs     int // workers of the CPU-bound workloads: GOMAXPROCS
	spinIters int // spin iterations of one cpu10us task
}

func (h *harness) measure(workload string, impl Impl) (Row, error) {
	var row Row
	var err error
	switch workload {
	case WorkloadEmpty:
		row, err = h.throughput(impl, h.procs, h.sz.empty, emptyTask)
	case WorkloadCPU10us:
		row, err = h.throughput(impl, h.procs, h.sz.cpu, cpuTask(h.spinIters))
	case WorkloadSleep1ms:
		row, err = h.throughput(impl, sleepWorkers, h.sz.sleep, sleepTask)
	case WorkloadLatency:
		row, err = h.latency(impl)
	case WorkloadQueueMemory:
		row, err = h.queueMemory(impl)
	case WorkloadSpawn10k:
		row, err = h.spawn(impl)
	default:
		err = fmt.Errorf("%w %q", ErrUnknownWorkload, workload)
	}
	row.Workload, row.Impl = workload, impl.Name
	return row, err
}

// emptyTask is the task of empty, latency and queue_memory.
func emptyTask() {}

// sleepTask is the task of sleep1ms.
func sleepTask() { time.Sleep(time.Millisecond) }

// throughput runs n tasks with the harness's window in flight, after a
// warm-up of a tenth as many.
func (h *harness) throughput(impl Impl, workers, n int, task func()) (row Row, err error) {
	win := min(h.sz.window, n)
	p, err := impl.Start(Config{Workers: workers, MaxInFlight: win})
	if err != nil {
		return row, fmt.Errorf("start: %w", err)
	}
	defer closePool(p, &err)
	if err := drive(h.ctx, p, max(n/10, 1), win, task); err != nil {
		return row, err
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start, cpu0 := time.Now(), processCPU()
	err = drive(h.ctx, p, n, win, task)
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	runtime.ReadMemStats(&after)
	if err != nil {
		return row, err
	}
	row.TasksPerSec = perSecond(n, elapsed)
	row.CPUNanosPerTask = float64(cpu.Nanoseconds()) / float64(n)
	row.AllocsPerTask, row.BytesPerTask = perTask(&before, &after, n)
	return row, nil
}

// drive submits n tasks to p with at most win outstanding, and awaits every
// result it submitted, even after an error.
func drive(ctx context.Context, p Pool, n, win int, task func()) error {
	var first error
	out := 0
	for i := 0; i < n && first == nil; i++ {
		if i&ctxCheckMask == 0 {
			if first = ctx.Err(); first != nil {
				break
			}
		}
		if out == win {
			out--
			if first = p.Await(); first != nil {
				break
			}
		}
		if first = p.Submit(task); first != nil {
			break
		}
		out++
	}
	for ; out > 0; out-- {
		if err := p.Await(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// latency times one task at a time from Submit to the return of Await.
func (h *harness) latency(impl Impl) (row Row, err error) {
	n := h.sz.latency
	p, err := impl.Start(Config{Workers: h.procs, MaxInFlight: 1})
	if err != nil {
		return row, fmt.Errorf("start: %w", err)
	}
	defer closePool(p, &err)
	if err := drive(h.ctx, p, max(n/10, 1), 1, emptyTask); err != nil {
		return row, err
	}
	samples := make([]int64, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range samples {
		if i&ctxCheckMask == 0 {
			if err := h.ctx.Err(); err != nil {
				return row, err
			}
		}
		t0 := time.Now()
		if err := p.Submit(emptyTask); err != nil {
			return row, err
		}
		if err := p.Await(); err != nil {
			return row, err
		}
		samples[i] = int64(time.Since(t0))
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	slices.Sort(samples)
	row.TasksPerSec = perSecond(n, elapsed)
	row.P50Nanos = percentile(samples, 50)
	row.P99Nanos = percentile(samples, 99)
	row.AllocsPerTask, row.BytesPerTask = perTask(&before, &after, n)
	return row, nil
}

// gate blocks tasks until it is opened, and counts the ones that started.
type gate struct {
	started chan struct{}
	open    chan struct{}
	opened  bool
}

func newGate(n int) *gate {
	return &gate{started: make(chan struct{}, n), open: make(chan struct{})}
}

// task is a task that reports it started, then waits for the gate to open.
func (g *gate) task() {
	g.started <- struct{}{}
	<-g.open
}

// waitStarted waits until n gated tasks have started.
func (g *gate) waitStarted(ctx context.Context, n int) error {
	for range n {
		select {
		case <-g.started:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (g *gate) release() {
	if !g.opened {
		g.opened = true
		close(g.open)
	}
}

// queueMemory measures what a queued empty task costs: it fills the queue
// of a pool with n/2 tasks, then of a fresh pool with n, and divides the
// difference in what the process holds by n/2. Fixed costs (an actor
// system, the workers) cancel out; a queue sized up front to MaxInFlight
// (a buffered channel) does not, since it grows with n.
func (h *harness) queueMemory(impl Impl) (Row, error) {
	n := max(h.sz.queue, 2)
	half := n / 2
	heldHalf, allocsHalf, err := h.queueHeld(impl, half)
	if err != nil {
		return Row{}, err
	}
	heldFull, allocsFull, err := h.queueHeld(impl, n)
	if err != nil {
		return Row{}, err
	}
	d := float64(n - half)
	return Row{
		BytesPerTask:  max(float64(heldFull-heldHalf)/d, 0),
		AllocsPerTask: max(float64(allocsFull-allocsHalf)/d, 0),
	}, nil
}

// queueHeld starts a pool, blocks every worker, queues n empty tasks and
// returns what the process then holds beyond what it held before Start
// (heap plus goroutine stacks, after a GC) and the allocations made.
func (h *harness) queueHeld(impl Impl, n int) (held, allocs int64, err error) {
	workers := h.procs
	g := newGate(workers)
	gated := g.task // one method value, not one allocation per Submit
	submitted := 0  // results still to await
	var base, after runtime.MemStats
	settleHeap()
	runtime.ReadMemStats(&base)
	p, err := impl.Start(Config{Workers: workers, MaxInFlight: n + workers})
	if err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	defer func() {
		g.release()
		err = errors.Join(err, awaitN(p, submitted))
		closePool(p, &err)
	}()
	for range workers {
		if err := p.Submit(gated); err != nil {
			return 0, 0, err
		}
		submitted++
	}
	if err := g.waitStarted(h.ctx, workers); err != nil {
		return 0, 0, err
	}
	if pk, ok := p.(Parker); ok {
		// Unbuffered: each caller reports after it got through, which is
		// after the measurement, and holds nothing of the harness's before.
		parkErrs := make(chan error)
		for range n {
			go func() { parkErrs <- pk.Submit(emptyTask) }()
		}
		parkErr := waitParked(h.ctx, pk, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		g.release()
		for range n {
			if err := <-parkErrs; err != nil {
				parkErr = errors.Join(parkErr, err)
			} else {
				submitted++
			}
		}
		if parkErr != nil {
			return 0, 0, parkErr
		}
	} else {
		for range n {
			if err := p.Submit(emptyTask); err != nil {
				return 0, 0, err
			}
			submitted++
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	held = int64(after.HeapAlloc+after.StackInuse) - int64(base.HeapAlloc+base.StackInuse)
	return held, int64(after.Mallocs - base.Mallocs), nil
}

// settleHeap collects garbage until the live heap stops shrinking, so that
// what earlier pools left behind is not in a baseline and then freed during
// the measurement. One GC is not enough: sync.Pool contents survive one, and
// a stopped timer (protoactor's future timeouts) stays in its P's timer
// heap, keeping what it references alive, until that P schedules again; the
// sleep between collections lets the Ps run.
func settleHeap() {
	const (
		rounds = 20
		stable = 3 // rounds in a row that shrink the heap by less than 1%
	)
	var m runtime.MemStats
	prev, still := uint64(math.MaxUint64), 0
	for range rounds {
		runtime.GC()
		runtime.ReadMemStats(&m)
		if m.HeapAlloc+m.HeapAlloc/100 >= prev {
			if still++; still == stable {
				return
			}
		} else {
			still = 0
		}
		prev = m.HeapAlloc
		time.Sleep(time.Millisecond)
	}
}

// waitParked polls pk until n callers are parked in its Submit: a Parker
// offers no signal to wait on, and this is a measurement, not a data path.
func waitParked(ctx context.Context, pk Parker, n int) error {
	deadline := time.Now().Add(parkTimeout)
	for pk.Parked() < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d of %d callers parked after %v", pk.Parked(), n, parkTimeout)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

// spawn starts a pool of sz.spawn workers and has each run one gated task,
// timing Start until every worker has started its task.
func (h *harness) spawn(impl Impl) (row Row, err error) {
	w := h.sz.spawn
	g := newGate(w)
	gated := g.task // one method value, not one allocation per Submit
	submitted := 0
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	p, err := impl.Start(Config{Workers: w, MaxInFlight: w})
	if err != nil {
		return row, fmt.Errorf("start: %w", err)
	}
	defer func() {
		g.release()
		err = errors.Join(err, awaitN(p, submitted))
		closePool(p, &err)
	}()
	for range w {
		if err := p.Submit(gated); err != nil {
			return row, err
		}
		submitted++
	}
	if err := g.waitStarted(h.ctx, w); err != nil {
		return row, err
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	row.TasksPerSec = perSecond(w, elapsed)
	row.AllocsPerTask, row.BytesPerTask = perTask(&before, &after, w)
	return row, nil
}

// awaitN awaits n results and returns the first error.
func awaitN(p Pool, n int) error {
	var first error
	for range n {
		if err := p.Await(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// closePool closes p and joins its error into *err.
func closePool(p Pool, err *error) {
	if cerr := p.Close(); cerr != nil {
		*err = errors.Join(*err, fmt.Errorf("close: %w", cerr))
	}
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		d = 1
	}
	return float64(n) / d.Seconds()
}

func perTask(before, after *runtime.MemStats, n int) (allocs, bytes float64) {
	return float64(after.Mallocs-before.Mallocs) / float64(n),
		float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// percentile returns the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p+99)/100 - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
