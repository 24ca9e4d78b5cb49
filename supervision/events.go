package supervision

import (
	"fmt"
	"strconv"
	"time"
)

// EventKind tells the concrete type of an Event without a type switch.
type EventKind int

const (
	// KindWorkerStarted is the kind of WorkerStarted.
	KindWorkerStarted EventKind = iota + 1
	// KindWorkerFailed is the kind of WorkerFailed.
	KindWorkerFailed
	// KindWorkerRestarted is the kind of WorkerRestarted.
	KindWorkerRestarted
	// KindWorkerGaveUp is the kind of WorkerGaveUp.
	KindWorkerGaveUp
	// KindWorkerStuck is the kind of WorkerStuck.
	KindWorkerStuck
	// KindWorkerUnhealthy is the kind of WorkerUnhealthy.
	KindWorkerUnhealthy
	// KindPoolFailed is the kind of PoolFailed.
	KindPoolFailed
	// KindBreakerStateChanged is the kind of BreakerStateChanged.
	KindBreakerStateChanged
	// KindTaskQuarantined is the kind of TaskQuarantined.
	KindTaskQuarantined
	// KindWorkerStateChanged is the kind of WorkerStateChanged.
	KindWorkerStateChanged
	// KindPoolScaled is the kind of PoolScaled.
	KindPoolScaled
	// KindResourcePressure is the kind of ResourcePressure.
	KindResourcePressure
	// KindPoolStateChanged is the kind of PoolStateChanged.
	KindPoolStateChanged
)

var kindNames = [...]string{
	KindWorkerStarted:       "worker-started",
	KindWorkerFailed:        "worker-failed",
	KindWorkerRestarted:     "worker-restarted",
	KindWorkerGaveUp:        "worker-gave-up",
	KindWorkerStuck:         "worker-stuck",
	KindWorkerUnhealthy:     "worker-unhealthy",
	KindPoolFailed:          "pool-failed",
	KindBreakerStateChanged: "breaker-state-changed",
	KindTaskQuarantined:     "task-quarantined",
	KindWorkerStateChanged:  "worker-state-changed",
	KindPoolScaled:          "pool-scaled",
	KindResourcePressure:    "resource-pressure",
	KindPoolStateChanged:    "pool-state-changed",
}

// String returns the kind's name in kebab case ("worker-failed"), or
// "EventKind(n)" for a value outside the set.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something a supervisor did or saw that a user may want to react
// to. Events are plain, immutable data, safe to share between goroutines;
// the concrete types are the Worker* and Pool* structs of this package and
// BreakerStateChanged.
type Event interface {
	// Kind tells the concrete type.
	Kind() EventKind
	// Time is when the event happened, by the clock of whoever emitted it.
	Time() time.Time
	// String describes the event on one line, for logs.
	String() string
}

// EventHook receives events. Supervisors may call it from several
// goroutines at once, so it must be safe for concurrent use, and it should
// return quickly: hand slow work to a goroutine or a channel of your own.
type EventHook func(Event)

// WorkerStarted reports that a worker has started, the first time or after
// a restart.
type WorkerStarted struct {
	Pool, Worker string
	At           time.Time
}

// WorkerFailed reports that a worker failed and what its supervisor's
// Decider chose. For Restart, Attempt counts the worker's consecutive
// failures, 1 for the first since it was last stable, and the event is
// followed by WorkerRestarted, or by WorkerGaveUp if the restart intensity
// refuses the restart; for other directives Attempt is 0.
type WorkerFailed struct {
	Pool, Worker string
	Reason       error
	Directive    Directive
	Attempt      int
	At           time.Time
}

// WorkerRestarted reports that a worker was restarted, Delay after the
// failure that caused it. Attempt is that failure's Attempt, or 0 for a
// worker restarted with a failed sibling (AllForOne, RestForOne) or for a
// restart that followed no failure. Reason is empty for a restart after a
// failure; otherwise it says why, as in "recycled: it was given MaxTasks
// (100) tasks" for a process worker whose child was replaced.
type WorkerRestarted struct {
	Pool, Worker string
	Attempt      int
	Delay        time.Duration
	Reason       string
	At           time.Time
}

// WorkerGaveUp reports that a worker failed more often than its restart
// intensity allows and was stopped for good. Restarts is the number of
// restarts within the intensity's window, this last refused one included.
type WorkerGaveUp struct {
	Pool, Worker string
	Reason       error
	Restarts     int
	At           time.Time
}

// WorkerStuck reports that a worker has been busy with one task for longer
// than allowed. Elapsed is how long, so far.
type WorkerStuck struct {
	Pool, Worker string
	Elapsed      time.Duration
	At           time.Time
}

// WorkerUnhealthy reports that a worker failed Failures health probes in a
// row; Reason is the last probe's error.
type WorkerUnhealthy struct {
	Pool, Worker string
	Reason       error
	Failures     int
	At           time.Time
}

// PoolFailed reports that a pool as a whole failed: no worker of it is
// left, or a worker's failure escalated to it. Escalated is set when the
// failure went past the node's root supervisor: nothing above the node
// restarts the pool, so the embedding service may want to react.
type PoolFailed struct {
	Pool      string
	Reason    error
	Escalated bool
	At        time.Time
}

// PoolStateChanged reports a pool's move from one lifecycle state to
// another ("running", "degraded", "restarting", "failed", "draining",
// "halted").
type PoolStateChanged struct {
	Pool     string
	From, To string
	At       time.Time
}

// Kind returns KindPoolStateChanged.
func (PoolStateChanged) Kind() EventKind { return KindPoolStateChanged }

// Time returns e.At.
func (e PoolStateChanged) Time() time.Time { return e.At }

// String describes the event.
func (e PoolStateChanged) String() string {
	return fmt.Sprintf("%s pool=%s from=%s to=%s", e.Kind(), e.Pool, e.From, e.To)
}

// BreakerStateChanged reports a circuit breaker's transition. TaskType is
// empty for a pool's own breaker and names the type for a per-type one.
type BreakerStateChanged struct {
	Pool     string
	TaskType string
	From, To State
	At       time.Time
}

// WorkerStateChanged reports a worker's move from one state to another
// ("starting", "idle", "busy", "stopping", "unhealthy", "dead").
type WorkerStateChanged struct {
	Pool, Worker string
	From, To     string
	At           time.Time
}

// Kind returns KindWorkerStateChanged.
func (WorkerStateChanged) Kind() EventKind { return KindWorkerStateChanged }

// Time returns when the event happened.
func (e WorkerStateChanged) Time() time.Time { return e.At }

// String describes the event.
func (e WorkerStateChanged) String() string {
	return fmt.Sprintf("%s pool=%s worker=%s from=%s to=%s", e.Kind(), e.Pool, e.Worker, e.From, e.To)
}

// PoolScaled reports that a dynamic pool changed its number of workers.
type PoolScaled struct {
	Pool     string
	From, To int
	Reason   string // "queue", "idle", "pressure"
	At       time.Time
}

// Kind returns KindPoolScaled.
func (PoolScaled) Kind() EventKind { return KindPoolScaled }

// Time returns when the event happened.
func (e PoolScaled) Time() time.Time { return e.At }

// String describes the event.
func (e PoolScaled) String() string {
	return fmt.Sprintf("%s pool=%s from=%d to=%d reason=%s", e.Kind(), e.Pool, e.From, e.To, e.Reason)
}

// ResourcePressure reports that a node's resource level changed: "normal",
// "soft" (memory over its soft limit, or CPU over its limit) or "hard"
// (memory over its hard limit).
type ResourcePressure struct {
	From, To   string
	Memory     uint64  // bytes, as sampled
	CPUPercent float64 // of one core, as sampled
	At         time.Time
}

// Kind returns KindResourcePressure.
func (ResourcePressure) Kind() EventKind { return KindResourcePressure }

// Time returns when the event happened.
func (e ResourcePressure) Time() time.Time { return e.At }

// String describes the event.
func (e ResourcePressure) String() string {
	return fmt.Sprintf("%s from=%s to=%s memory=%d cpu=%.1f%%", e.Kind(), e.From, e.To, e.Memory, e.CPUPercent)
}

// TaskQuarantined reports that a task, known by its ID, crashed workers
// Crashes times and will not run again.
type TaskQuarantined struct {
	Pool    string
	TaskID  string
	Crashes int
	At      time.Time
}

// Kind returns KindTaskQuarantined.
func (TaskQuarantined) Kind() EventKind { return KindTaskQuarantined }

// Time returns when the event happened.
func (e TaskQuarantined) Time() time.Time { return e.At }

// String describes the event.
func (e TaskQuarantined) String() string {
	return fmt.Sprintf("%s pool=%s task=%s crashes=%d", e.Kind(), e.Pool, e.TaskID, e.Crashes)
}

// Kind returns KindWorkerStarted.
func (WorkerStarted) Kind() EventKind { return KindWorkerStarted }

// Kind returns KindWorkerFailed.
func (WorkerFailed) Kind() EventKind { return KindWorkerFailed }

// Kind returns KindWorkerRestarted.
func (WorkerRestarted) Kind() EventKind { return KindWorkerRestarted }

// Kind returns KindWorkerGaveUp.
func (WorkerGaveUp) Kind() EventKind { return KindWorkerGaveUp }

// Kind returns KindWorkerStuck.
func (WorkerStuck) Kind() EventKind { return KindWorkerStuck }

// Kind returns KindWorkerUnhealthy.
func (WorkerUnhealthy) Kind() EventKind { return KindWorkerUnhealthy }

// Kind returns KindPoolFailed.
func (PoolFailed) Kind() EventKind { return KindPoolFailed }

// Kind returns KindBreakerStateChanged.
func (BreakerStateChanged) Kind() EventKind { return KindBreakerStateChanged }

// Time returns e.At.
func (e WorkerStarted) Time() time.Time { return e.At }

// Time returns e.At.
func (e WorkerFailed) Time() time.Time { return e.At }

// Time returns e.At.
func (e WorkerRestarted) Time() time.Time { return e.At }

// Time returns e.At.
func (e WorkerGaveUp) Time() time.Time { return e.At }

// Time returns e.At.
func (e WorkerStuck) Time() time.Time { return e.At }

// Time returns e.At.
func (e WorkerUnhealthy) Time() time.Time { return e.At }

// Time returns e.At.
func (e PoolFailed) Time() time.Time { return e.At }

// Time returns e.At.
func (e BreakerStateChanged) Time() time.Time { return e.At }

// String describes the event.
func (e WorkerStarted) String() string {
	return fmt.Sprintf("%s pool=%s worker=%s", e.Kind(), e.Pool, e.Worker)
}

// String describes the event.
func (e WorkerFailed) String() string {
	return fmt.Sprintf("%s pool=%s worker=%s directive=%s attempt=%d reason=%v", e.Kind(), e.Pool, e.Worker, e.Directive, e.Attempt, e.Reason)
}

// String describes the event.
func (e WorkerRestarted) String() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s pool=%s worker=%s attempt=%d delay=%s reason=%q", e.Kind(), e.Pool, e.Worker, e.Attempt, e.Delay, e.Reason)
	}
	return fmt.Sprintf("%s pool=%s worker=%s attempt=%d delay=%s", e.Kind(), e.Pool, e.Worker, e.Attempt, e.Delay)
}

// String describes the event.
func (e WorkerGaveUp) String() string {
	return fmt.Sprintf("%s pool=%s worker=%s restarts=%d reason=%v", e.Kind(), e.Pool, e.Worker, e.Restarts, e.Reason)
}

// String describes the event.
func (e WorkerStuck) String() string {
	return fmt.Sprintf("%s pool=%s worker=%s elapsed=%s", e.Kind(), e.Pool, e.Worker, e.Elapsed)
}

// String describes the event.
func (e WorkerUnhealthy) String() string {
	return fmt.Sprintf("%s pool=%s worker=%s failures=%d reason=%v", e.Kind(), e.Pool, e.Worker, e.Failures, e.Reason)
}

// String describes the event.
func (e PoolFailed) String() string {
	return fmt.Sprintf("%s pool=%s reason=%v", e.Kind(), e.Pool, e.Reason)
}

// String describes the event.
func (e BreakerStateChanged) String() string {
	if e.TaskType != "" {
		return fmt.Sprintf("%s pool=%s type=%s from=%s to=%s", e.Kind(), e.Pool, e.TaskType, e.From, e.To)
	}
	return fmt.Sprintf("%s pool=%s from=%s to=%s", e.Kind(), e.Pool, e.From, e.To)
}

var (
	_ Event = TaskQuarantined{}
	_ Event = PoolScaled{}
	_ Event = ResourcePressure{}
	_ Event = WorkerStateChanged{}
	_ Event = WorkerStarted{}
	_ Event = WorkerFailed{}
	_ Event = WorkerRestarted{}
	_ Event = WorkerGaveUp{}
	_ Event = WorkerStuck{}
	_ Event = WorkerUnhealthy{}
	_ Event = PoolFailed{}
	_ Event = BreakerStateChanged{}
)
