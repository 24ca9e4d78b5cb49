package actors

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every terminal error a task can receive wraps exactly one
// of them; compare with errors.Is.
var (
	// ErrQueueFull is returned by TrySubmit when the pool's queue is at capacity.
	ErrQueueFull = errors.New("drover: queue full")
	// ErrTimeout is the result of a task that passed its deadline.
	ErrTimeout = errors.New("drover: task timed out")
	// ErrCanceled is the result of a task whose submit context ended first.
	ErrCanceled = errors.New("drover: task canceled")
	// ErrPanic is wrapped by the result of a task whose handler panicked; the
	// error is a *PanicError carrying the value and the stack.
	ErrPanic = errors.New("drover: handler panicked")
	// ErrWorkerCrashed is the result of a task whose worker died under it.
	ErrWorkerCrashed = errors.New("drover: worker crashed")
	// ErrCircuitOpen is returned at Submit while a pool's breaker is open.
	ErrCircuitOpen = errors.New("drover: circuit open")
	// ErrShuttingDown is returned by Submit once Shutdown has begun, and is
	// the result of tasks still pending when the drain deadline passes.
	ErrShuttingDown = errors.New("drover: shutting down")
	// ErrNoHandler is returned at Submit for a task type with no handler.
	ErrNoHandler = errors.New("drover: no handler for task type")
	// ErrNoPool is returned at Submit for a pool or kind the node does not have.
	ErrNoPool = errors.New("drover: no such pool")
	// ErrInvalidTask is returned at Submit for a malformed task (bad priority,
	// oversized payload, negative timeout).
	ErrInvalidTask = errors.New("drover: invalid task")
	// ErrShed is the result of a queued task displaced by a task of higher
	// priority from a full pool whose PoolConfig.Shed is set.
	ErrShed = errors.New("drover: task shed")
	// ErrWorkerStuck is the crash reason of a worker whose handler ignored
	// its context past PoolConfig.StuckGrace; the worker is replaced.
	ErrWorkerStuck = errors.New("drover: worker stuck")
	// ErrQuarantined is returned at Submit, or as the result of a retry, for
	// a task whose ID has crashed workers PoolConfig.QuarantineAfter times.
	ErrQuarantined = errors.New("drover: task quarantined")
	// ErrTransient marks a handler error as worth retrying: a task with a
	// RetryPolicy runs again when its handler returns an error that wraps
	// it (see Transient).
	ErrTransient = errors.New("drover: transient error")
	// ErrResource is returned at Submit while the node is over a resource
	// limit for the task's priority (see ResourceLimits).
	ErrResource = errors.New("drover: resource limit")
	// ErrInvalidConfig is returned by NewNode for a configuration it cannot run.
	ErrInvalidConfig = errors.New("drover: invalid config")
)

// Transient marks err as transient, so that a task with a RetryPolicy is
// retried; errors.Is(Transient(err), err) still holds.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrTransient, err)
}

// PanicError is the error of a task whose handler panicked. It wraps ErrPanic.
type PanicError struct {
	// Value is what the handler passed to panic.
	Value any
	// Stack is the goroutine's stack at the panic, as runtime/debug.Stack gives it.
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("drover: handler panicked: %v", e.Value) }

// Unwrap returns ErrPanic.
func (e *PanicError) Unwrap() error { return ErrPanic }

func configError(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

func taskError(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidTask, field, fmt.Sprintf(format, args...))
}
