package cluster

import (
	"sync/atomic"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// call is a task this member accepted for the cluster: the Promise its
// caller's *actors.Future waits on, the task as sent, and its dispatch
// state. It gets its result exactly once (Promise.Complete decides),
// wherever the task ran.
type call struct {
	promise *actors.Promise

	// The task, read-only after Submit.
	m          *Member
	typ        string
	pool       string
	key        string
	hkey       uint64
	payload    []byte
	priority   actors.Priority
	idempotent bool
	x          *callExtra // nil for a plain task

	// Dispatch state: cur is the pending key of the current dispatch; the
	// rest is written by whoever holds the pending entry (or the
	// submitter before the first dispatch) and read under the pending
	// shard's lock.
	cur        atomic.Uint64
	route      *route
	tg         *target
	dispatches int
	// maybeRan: an earlier dispatch went to a member that was lost with
	// it, so the task may have run there.
	maybeRan bool
	abort    atomic.Pointer[error] // set by Cancel, Task.Context or the deadline
}

// callExtra holds what only some tasks need, so that a plain task stays
// small. It is written before the first dispatch and read by finish.
type callExtra struct {
	deadline time.Time
	stopCtx  func() bool
	timer    *time.Timer
}

func (f *call) extra() *callExtra {
	if f.x == nil {
		f.x = &callExtra{}
	}
	return f.x
}

// deadline returns the task's deadline, zero if none.
func (f *call) deadline() time.Time {
	if f.x == nil {
		return time.Time{}
	}
	return f.x.deadline
}

// finish records the terminal result, from member, if none was recorded
// yet, and reports whether this call recorded it.
func (f *call) finish(res actors.Result, member string) bool {
	res.Node = member
	if !f.promise.Complete(res) {
		return false
	}
	if x := f.x; x != nil {
		if x.stopCtx != nil {
			x.stopCtx()
		}
		if x.timer != nil {
			x.timer.Stop()
		}
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
