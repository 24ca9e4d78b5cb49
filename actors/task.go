package actors

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/drover-go/drover/supervision"
)

// Kind is the kind of worker a pool runs.
type Kind uint8

// Worker kinds. The zero value is KindCPU.
const (
	// KindCPU workers run one task at a time; a pool defaults to GOMAXPROCS of them.
	KindCPU Kind = iota
	// KindIO workers run many tasks at once (tasks that mostly wait).
	KindIO
	// KindMixed workers run a few tasks at once.
	KindMixed
	// KindProcess workers are OS processes started from a command; tasks
	// reach them as frames over stdin and stdout (see ProcessConfig).
	KindProcess
)

var kindNames = [...]string{KindCPU: "cpu", KindIO: "io", KindMixed: "mixed", KindProcess: "process"}

// String returns "cpu", "io", "mixed" or "process".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the Kind named s ("cpu", "io", "mixed", "process").
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if strings.EqualFold(s, name) {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: kind %q; allowed: %s", ErrInvalidConfig, s, strings.Join(kindNames[:], ", "))
}

func (k Kind) valid() bool { return int(k) < len(kindNames) }

// Priority orders queued tasks within a pool: a task never starts while a
// task of a higher priority waits in the same pool. The zero value means
// PriorityNormal.
type Priority uint8

// Priorities, highest first.
const (
	PriorityCritical Priority = iota + 1
	PriorityHigh
	PriorityNormal
	PriorityLow
)

// numPriorities is the number of priority levels.
const numPriorities = 4

var priorityNames = [...]string{"normal", "critical", "high", "normal", "low"}

// String returns "critical", "high", "normal" or "low".
func (p Priority) String() string {
	if int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return fmt.Sprintf("priority(%d)", uint8(p))
}

// ParsePriority returns the Priority named s.
func ParsePriority(s string) (Priority, error) {
	for p := PriorityCritical; p <= PriorityLow; p++ {
		if strings.EqualFold(s, p.String()) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: priority %q; allowed: critical, high, normal, low", ErrInvalidTask, s)
}

// level maps a priority to its queue index, 0 (critical) to 3 (low).
func (p Priority) level() int {
	if p == 0 {
		return int(PriorityNormal) - 1
	}
	return int(p) - 1
}

// Handler runs one task of a registered type. It receives the task's payload
// and returns the output. Its contract:
//
//   - ctx ends when the task's timeout passes, when the submitter's context
//     ends, or when the node is forced to stop; a handler that waits must
//     honour it.
//   - A returned error becomes the task's result error as is.
//   - A panic becomes a *PanicError result (wrapping ErrPanic, with the
//     stack) and the worker that ran it is restarted; other tasks are not
//     affected.
//   - A handler may run on any worker of its pool, concurrently with itself.
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// MaxRetryAttempts is the largest RetryPolicy.MaxAttempts a task or a pool
// may ask for.
const MaxRetryAttempts = 1<<16 - 1

// RetryPolicy lets a task run again when its handler returns an error
// marked with Transient. Other errors, panics and timeouts are final.
type RetryPolicy struct {
	// MaxAttempts bounds the runs, the first included; 0 and 1 mean no
	// retry. At most MaxRetryAttempts.
	MaxAttempts int
	// Backoff delays each retry; zero fields take supervision's defaults.
	Backoff supervision.Backoff
}

// Task is one unit of work. Only Type (or Func) is required.
type Task struct {
	// ID identifies the task across submissions, for quarantine and in
	// results; optional.
	ID string
	// Type names the registered Handler that runs the task. Ignored when Func is set.
	Type string
	// Pool names the pool that runs the task. When empty, the first pool of
	// Kind runs it; when both are empty, the node's first pool.
	Pool string
	// Kind selects a pool by worker kind when Pool is empty. It only counts
	// when HasKind is true, since the zero Kind is KindCPU.
	Kind Kind
	// HasKind says that Kind was set.
	HasKind bool
	// Priority orders the task in its pool's queue; zero means PriorityNormal.
	Priority Priority
	// Timeout bounds the task from submission to result; zero means the
	// pool's default (none unless configured).
	Timeout time.Duration
	// Key is the routing key for key-aware strategies.
	Key string
	// Payload is passed to the handler. It is bytes so that the task can
	// cross a process or node boundary; marshal protobuf messages into it.
	Payload []byte
	// Retry retries transient failures; the zero value never retries.
	Retry RetryPolicy
	// Idempotent says the task may run more than once: when the node or
	// cluster member running it dies, a cluster re-dispatches it elsewhere
	// (at least once) instead of failing it with ErrWorkerCrashed.
	Idempotent bool
	// Func, when set, runs instead of a registered handler. It is a local
	// convenience: it cannot cross a process or node boundary.
	Func func(ctx context.Context) (any, error)
	// Context, when set, is bound to the task for its whole life: when it
	// ends, a queued task leaves the queue and a running task's handler
	// sees its context end; either way the result is ErrCanceled. Submit's
	// own context only bounds the wait for room. A Context already ended
	// at submission refuses the task with ErrCanceled.
	Context context.Context
	// Timed asks for the task's exact Result.Queued and Result.Run. Other
	// tasks read no clock, but those with a timeout and about one in
	// TimingSampleEvery, which feed the pool's histograms.
	Timed bool
	// OnResult, when set, is called once with the task's result, right
	// after Future.Done closes, on the goroutine that ended the task:
	// possibly before Submit returns. It must return quickly and
	// must not wait on the node (to stop the node from it, see
	// Node.Shutdown); it saves a goroutine per task for callers
	// that collect many results, such as a network server.
	OnResult func(Result)
}

// Validate checks the fields of t that do not depend on where it runs: a
// Type or a Func is set, Priority is one of the four levels, Timeout and
// Retry.MaxAttempts are not negative (and the latter at most
// MaxRetryAttempts), Retry.Backoff is valid when retries
// are asked for, and Context has not ended. Node.Submit and a cluster
// member's Submit call it first, then check what depends on the pool (a
// registered handler, a process pool's need for a Type, the payload
// limit). Its error wraps ErrInvalidTask and names the field, or wraps
// ErrCanceled for an ended Context.
func (t *Task) Validate() error {
	switch {
	case t.Func == nil && t.Type == "":
		return taskError("Type", "is empty; a task needs a Type or a Func")
	case t.Priority > PriorityLow:
		return taskError("Priority", "is %d; allowed: critical, high, normal, low (1 to 4, 0 for normal)", t.Priority)
	case t.Timeout < 0:
		return taskError("Timeout", "is %s; allowed: 0 (pool default) or more", t.Timeout)
	case t.Retry.MaxAttempts < 0 || t.Retry.MaxAttempts > MaxRetryAttempts:
		return taskError("Retry.MaxAttempts", "is %d; allowed: 0 to %d", t.Retry.MaxAttempts, MaxRetryAttempts)
	}
	if t.Retry.MaxAttempts > 1 {
		if err := t.Retry.Backoff.Validate(); err != nil {
			return fmt.Errorf("%w: Retry: %w", ErrInvalidTask, err)
		}
	}
	if t.Context != nil {
		if err := t.Context.Err(); err != nil {
			return fmt.Errorf("%w: Task.Context: %w", ErrCanceled, err)
		}
	}
	return nil
}

// Result is the one terminal outcome of an accepted task.
type Result struct {
	// Output is what a registered Handler returned.
	Output []byte
	// Value is what a Func returned.
	Value any
	// Err is nil on success; otherwise the handler's error, or an error
	// wrapping one of the package's sentinels.
	Err error
	// Worker names the worker that ran the task ("" if it never ran).
	Worker string
	// Node names the node that had the task last: the one that ran it, or
	// that failed it ("" for a Future of a Promise completed without one).
	// In a cluster it is the member's name.
	Node string
	// Queued is the time from acceptance to start (or to the result, if it
	// never ran). Like Run, it is measured for timed tasks only: those with
	// Task.Timed or a timeout, and about one in TimingSampleEvery of the
	// others (the sample behind the pool's histograms); zero otherwise.
	Queued time.Duration
	// Run is the time the handler ran, for a timed task (see Queued).
	Run time.Duration
	// CPU is the CPU time the handler used, where the worker measures it
	// (process workers on Linux); zero otherwise.
	CPU time.Duration
}

// job states. A result is claimed by one CompareAndSwap to jobClaimed,
// written, then published with jobDone.
const (
	jobPending uint32 = iota // queued or dispatched, not started
	jobRunning               // a worker runs it
	jobClaimed               // a terminal result is being written
	jobDone                  // the terminal result is published
)

// waiter is a Future's lazily made done channel.
type waiter struct{ ch chan struct{} }

// closedWaiter stands for "done" once a Future has its result, so that a
// Future nobody waits on never makes a channel.
var closedWaiter = func() *waiter {
	w := &waiter{ch: make(chan struct{})}
	close(w.ch)
	return w
}()

// Future is the handle of an accepted task. It becomes done exactly once,
// with the task's terminal result. All its methods are safe for concurrent
// use.
type Future struct {
	// Its fields are laid out in three cache lines by who writes them per
	// task: the state and the result (the runner; the caller reads them),
	// the task (the submitter; the runner reads it), and the links and
	// timings (under pool.mu, and the runner).

	state   atomic.Uint32
	attempt uint16 // runs started, at most MaxRetryAttempts; owned by the runner, then by the retry timer
	where   int8   // under pool.mu: nowhere, inQueue, inFlight, inRetry
	level   int8   // queue level, 0 (critical) to 3 (low)
	// The result, written by the one call that claims it.
	out   []byte
	value any
	err   error

	// The task, read-only after submission.
	fn       func(ctx context.Context) (any, error)
	handler  Handler
	payload  []byte
	accepted int64 // node clock; 0 for a task that is not timed
	pool     *pool
	x        *futureExtra // nil for a plain task

	wait       atomic.Pointer[waiter]
	worker     *worker      // under pool.mu: the worker it was dispatched to
	prev, next *Future      // under pool.mu: queue or list links
	startedNs  atomic.Int64 // node clock at the first start; 0 before
	queuedNs   int64        // the result's timings
	runNs      int64
	lean       *leanRecord // a Submitter's record; nil for a Future of Submit
}

// leanRecord is what a Submitter's task record holds besides a Future's
// fields, kept with the record across reuses: its result goes to sub's
// completions, with tag. refs counts who still holds the record (the
// result, until Next takes it; the pool, until it is done with it; each
// armed watcher, and a forced shutdown that will end it: see
// Future.hold); at zero it is reused.
type leanRecord struct {
	sub  *Submitter
	tag  uint64
	refs atomic.Int32
}

// futureExtra holds what only some tasks need, so that a plain task stays
// small. Set under pool.mu before the task is published (timer, stopCtx)
// or at submission (the rest).
type futureExtra struct {
	ctx        context.Context // the submit context, when it can end
	deadline   int64           // node clock; 0: none
	timer      *time.Timer
	stuckTimer *time.Timer                        // under pool.mu
	inc        *incarnation                       // the incarnation that runs it, for a stuck check
	runCancel  atomic.Pointer[context.CancelFunc] // ends the running handler's context
	running    atomic.Bool                        // its handler runs: a stuck check applies
	stopCtx    func() bool                        // unregisters the submit-context watcher
	onDone     func(Result)
	promise    *promise // a Future made by NewPromise
	id         string
	routeKey   string
	key        uint64 // routeKey's hash, for the router
	typ        string // the task type, for a process pool's child
	cpuNs      int64  // CPU time a process worker reported
	retry      RetryPolicy
	breaker    breakerTicket // when the pool has breakers
}

func (f *Future) extra() *futureExtra {
	if f.x == nil {
		f.x = &futureExtra{}
	}
	return f.x
}

// ended reports whether the task has (or is getting) its terminal result.
func (f *Future) ended() bool { return f.state.Load() >= jobClaimed }

// submitCtx returns the submit context when it can end, else nil.
func (f *Future) submitCtx() context.Context {
	if f.x == nil {
		return nil
	}
	return f.x.ctx
}

func (f *Future) deadline() int64 {
	if f.x == nil {
		return 0
	}
	return f.x.deadline
}

// keyHash returns the hash of the task's routing key, 0 if it has none.
func (f *Future) keyHash() uint64 {
	if f.x == nil {
		return 0
	}
	return f.x.key
}

// routeKey returns the task's routing key as given ("" if none).
func (f *Future) routeKey() string {
	if f.x == nil {
		return ""
	}
	return f.x.routeKey
}

// ID returns the task's ID ("" if it has none).
func (f *Future) ID() string {
	if f.x == nil {
		return ""
	}
	return f.x.id
}

// Done returns a channel that is closed when the result is ready.
func (f *Future) Done() <-chan struct{} {
	if w := f.wait.Load(); w != nil {
		return w.ch
	}
	w := &waiter{ch: make(chan struct{})}
	if f.wait.CompareAndSwap(nil, w) {
		return w.ch
	}
	return f.wait.Load().ch
}

// Wait blocks until the task's result is ready or ctx ends. It returns the
// result and its Err; when ctx ends first it returns ctx's error and the
// task goes on.
func (f *Future) Wait(ctx context.Context) (Result, error) {
	if f.state.Load() != jobDone {
		if ctx.Done() == nil {
			<-f.Done()
		} else {
			select {
			case <-f.Done():
			case <-ctx.Done():
				return Result{}, ctx.Err()
			}
		}
	}
	r := f.result()
	return r, r.Err
}

// Cancel ends the task with ErrCanceled unless it already has its result,
// and reports whether this call ended it. A queued task leaves the queue at
// once. A running task's result is ErrCanceled from then on; its handler's
// context ends too when the task has a Context or a timeout (otherwise the
// handler runs on and what it returns is dropped). Cancel is safe to call
// at any time, from any goroutine, any number of times.
func (f *Future) Cancel() bool {
	if f.ended() {
		return false
	}
	if f.pool == nil {
		return f.x.promise.cancel(f)
	}
	return f.pool.abort(f, fmt.Errorf("%w: by Future.Cancel", ErrCanceled))
}

// Result returns the result and true once the task is done, or false before.
func (f *Future) Result() (Result, bool) {
	if f.state.Load() != jobDone {
		return Result{}, false
	}
	return f.result(), true
}

func (f *Future) result() Result {
	r := Result{Output: f.out, Value: f.value, Err: f.err, Queued: time.Duration(f.queuedNs), Run: time.Duration(f.runNs)}
	if f.x != nil {
		r.CPU = time.Duration(f.x.cpuNs)
	}
	if f.pool == nil {
		r.Worker, r.Node = f.x.promise.worker, f.x.promise.node
		return r
	}
	if f.startedNs.Load() > 0 && f.worker != nil {
		r.Worker = f.worker.name // it started there (and ran there, unless it was requeued)
	}
	r.Node = f.pool.node.name
	return r
}

// finish records the terminal result if none was recorded yet, counts it in
// the pool's stats before anyone can see it, publishes it, and reports
// whether this call recorded it. w is the worker that ran the task, or nil.
func (f *Future) finish(res Result, w *worker) bool {
	if !f.claim(res, w) {
		return false
	}
	f.publish()
	return true
}

// claim records the terminal result if none was recorded yet and counts it
// in the pool's stats, without making it visible: publish does that. It
// reports whether this call recorded it. A runner claims, lets go of the
// task in the pool's lists, then publishes, so that a caller who sees the
// result also sees the slot free and the task out of the pool's lists.
func (f *Future) claim(res Result, w *worker) bool {
	for {
		s := f.state.Load()
		if s >= jobClaimed {
			return false
		}
		if f.state.CompareAndSwap(s, jobClaimed) {
			break
		}
	}
	p := f.pool
	f.out, f.value, f.err = res.Output, res.Value, res.Err
	f.runNs = int64(res.Run)
	if res.CPU != 0 && f.x != nil { // only process workers report it; their tasks have x
		f.x.cpuNs = int64(res.CPU)
	}
	if f.accepted == 0 {
		// A Submitter's task out of the timing sample.
	} else if st := f.startedNs.Load(); st > 0 {
		f.queuedNs = st - f.accepted
	} else {
		f.queuedNs = p.node.clock() - f.accepted
	}
	p.count(f, w, res.Err)
	if x := f.x; x != nil {
		// A watcher stopped before it ran lets go of the record here; the
		// caller's own hold remains, so this is never the last one.
		if x.timer != nil && p.timers.stop(x.timer) {
			f.unhold()
		}
		if x.stopCtx != nil && x.stopCtx() {
			f.unhold()
		}
	}
	return true
}

// publish makes a claimed result visible: Done closes, OnResult runs, and a
// Submitter's record goes to its Next, which is the last touch of it.
func (f *Future) publish() {
	// A Submitter's record has no Done or Wait: no handle of it reaches a
	// caller. Its state stays claimed, which is ended, until reuse.
	if f.lean == nil {
		f.state.Store(jobDone)
		if old := f.wait.Swap(closedWaiter); old != nil && old != closedWaiter {
			close(old.ch)
		}
	}
	if x := f.x; x != nil && x.onDone != nil {
		x.onDone(f.result())
	}
	if l := f.lean; l != nil {
		l.sub.deliver(f) // Next takes the result and drops its hold
	}
}

// finishOut is finish for a task the pool no longer holds in any list or
// inbox: a Submitter's record is then free to be reused once its result
// is delivered.
func (f *Future) finishOut(res Result, w *worker) bool {
	ok := f.finish(res, w)
	f.poolDone()
	return ok
}

// poolDone says that the pool holds f no more: it is in no list and no
// inbox, and no runner will touch it again.
func (f *Future) poolDone() { f.unhold() }

// hold takes a hold on a Submitter's record for a watcher (a deadline
// timer, a context watcher, a stuck check) that may reach it later: the
// record is not reused until every hold is released. Nothing for a Future
// of Submit, which is never reused.
func (f *Future) hold() {
	if f.lean != nil {
		f.lean.refs.Add(1)
	}
}

// unhold releases a hold of hold or of the pool (poolDone).
func (f *Future) unhold() {
	if f.lean != nil {
		f.drop()
	}
}

// drop releases one hold on a Submitter's record; the last one reuses it.
func (f *Future) drop() {
	if f.lean.refs.Add(-1) == 0 {
		f.lean.sub.reuse(f)
	}
}
