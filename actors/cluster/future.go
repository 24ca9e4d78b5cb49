package cluster

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// Future states. A result is claimed by one CompareAndSwap, written, then
// published.
const (
	futPending uint32 = iota
	futClaimed
	futDone
)

type waiter struct{ ch chan struct{} }

var closedWaiter = func() *waiter {
	w := &waiter{ch: make(chan struct{})}
	close(w.ch)
	return w
}()

// Future is the handle of a task accepted by a Member. It becomes done
// exactly once, with the task's terminal result, wherever the task ran. All
// its methods are safe for concurrent use.
type Future struct {
	state atomic.Uint32
	wait  atomic.Pointer[waiter]
	local *actors.Future // a Func task run by the member's own node

	// The result, written by the one call that claims it.
	res   actors.Result
	ranOn string

	// The task, read-only after Submit.
	m          *Member
	typ        string
	pool       string
	key        string
	hkey       uint64
	payload    []byte
	priority   actors.Priority
	idempotent bool
	x          *futureExtra // nil for a plain task

	// Dispatch state: cur is the pending key of the current dispatch; the
	// rest is written by whoever holds the pending entry (or the
	// submitter before the first dispatch) and read under the pending
	// shard's lock.
	cur        atomic.Uint64
	route      *route
	tg         *target
	dispatches int
	abort      atomic.Pointer[error] // set by ctx cancel or the deadline
}

// futureExtra holds what only some tasks need, so that a plain task stays
// small. It is written before the first dispatch and read by finish.
type futureExtra struct {
	id       string
	deadline time.Time
	stopCtx  func() bool
	timer    *time.Timer
}

func (f *Future) extra() *futureExtra {
	if f.x == nil {
		f.x = &futureExtra{}
	}
	return f.x
}

// deadline returns the task's deadline, zero if none.
func (f *Future) deadline() time.Time {
	if f.x == nil {
		return time.Time{}
	}
	return f.x.deadline
}

// Done returns a channel that is closed when the result is ready.
func (f *Future) Done() <-chan struct{} {
	if f.local != nil {
		return f.local.Done()
	}
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
func (f *Future) Wait(ctx context.Context) (actors.Result, error) {
	if f.local != nil {
		return f.local.Wait(ctx)
	}
	if f.state.Load() != futDone {
		select {
		case <-f.Done():
		case <-ctx.Done():
			return actors.Result{}, ctx.Err()
		}
	}
	return f.res, f.res.Err
}

// Result returns the result and true once the task is done, or false before.
func (f *Future) Result() (actors.Result, bool) {
	if f.local != nil {
		return f.local.Result()
	}
	if f.state.Load() != futDone {
		return actors.Result{}, false
	}
	return f.res, true
}

// Member returns the name of the member that ran the task, or that last
// had it when it failed; it is complete once the Future is done.
func (f *Future) Member() string {
	if f.local != nil {
		return f.m.name
	}
	if f.state.Load() != futDone {
		return ""
	}
	return f.ranOn
}

// ID returns the task's ID as given in actors.Task.ID ("" if none).
func (f *Future) ID() string {
	if f.x == nil {
		return ""
	}
	return f.x.id
}

// finish records the terminal result if none was recorded yet and reports
// whether this call recorded it.
func (f *Future) finish(res actors.Result, member string) bool {
	if !f.state.CompareAndSwap(futPending, futClaimed) {
		return false
	}
	f.res, f.ranOn = res, member
	if x := f.x; x != nil {
		if x.stopCtx != nil {
			x.stopCtx()
		}
		if x.timer != nil {
			x.timer.Stop()
		}
	}
	f.state.Store(futDone)
	if old := f.wait.Swap(closedWaiter); old != nil && old != closedWaiter {
		close(old.ch)
	}
	f.m.count(res.Err)
	return true
}

// resultOf converts a wire result.
func resultOf(r *protos.TaskResult) actors.Result {
	return actors.Result{
		Output: r.GetOutput(),
		Err:    actors.ResultError(r.GetError()),
		Worker: r.GetWorker(),
		Queued: r.GetQueued().AsDuration(),
		Run:    r.GetRun().AsDuration(),
	}
}
