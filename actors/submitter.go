package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// MaxSubmitterWindow bounds a Submitter's window.
const MaxSubmitterWindow = 1 << 20

// LeanSampleEvery is how often a Submitter's task is timed: one in
// LeanSampleEvery records its queue wait and run time in its pool's
// histograms and its Result. The others read no clock; their Result's
// Queued and Run are zero. (In a pool with Aging every task is timed.)
const LeanSampleEvery = 16

// ErrWindowFull is returned by a Submitter's Submit and TrySubmit while the
// Submitter holds its whole window of results that Next has not taken.
var ErrWindowFull = errors.New("drover: submitter window full")

// Completion is the result of a task accepted by a Submitter, with the tag
// given to Submit.
type Completion struct {
	// Tag is the tag the task was submitted with.
	Tag uint64
	// Result is the task's one result, as a Future's would be (Queued and
	// Run are zero unless the task was timed: see LeanSampleEvery).
	Result Result
}

// Submitter is the lean way to run many tasks: it keeps a window of task
// records and reuses them, so that at steady state a task costs no heap
// object of Drover's (a Func's closure is the caller's). Each accepted task
// gets exactly one Completion from Next, in the order the tasks end.
//
// The lean path takes tasks without timers of their own: a task with a
// Timeout, a Context or retries, or for a pool with a TaskTimeout or a
// retry policy, is refused with ErrInvalidTask naming the field (use
// Node.Submit for those). Other fields mean what they mean for Node.Submit.
// It reads no clock per task: one task in LeanSampleEvery is timed, for the
// pool's histograms; the others' Result.Queued and Result.Run are zero.
//
// Submit, TrySubmit and Next may be called from different goroutines (one
// submitting, one collecting, say); every method is safe for concurrent use.
type Submitter struct {
	n       *Node
	window  int64
	held    atomic.Int64  // accepted tasks whose Completion Next has not taken
	results chan *Future  // ended tasks' records; never blocks: it holds at most window items
	made    atomic.Int64  // records made (tests check that they are reused)
	seq     atomic.Uint64 // tasks prepared, for the timing sample

	mu   sync.Mutex
	free []*Future // records ready for reuse, at most twice the window
}

// NewSubmitter returns a Submitter for the node with a window of 1 to
// MaxSubmitterWindow tasks accepted and not yet collected by Next.
func (n *Node) NewSubmitter(window int) (*Submitter, error) {
	if window < 1 || window > MaxSubmitterWindow {
		return nil, configError("NewSubmitter window", "is %d; allowed: 1 to %d", window, MaxSubmitterWindow)
	}
	return &Submitter{
		n:       n,
		window:  int64(window),
		results: make(chan *Future, window),
	}, nil
}

// Submit accepts t, waiting for room in its pool's queue until ctx ends
// (ctx bounds only that wait), and returns ErrWindowFull at once when the
// window is full. Errors are Node.Submit's otherwise.
func (s *Submitter) Submit(ctx context.Context, t Task, tag uint64) error {
	return s.submit(ctx, t, tag, true)
}

// TrySubmit is Submit that returns ErrQueueFull at once instead of waiting
// for room in the pool's queue.
func (s *Submitter) TrySubmit(t Task, tag uint64) error {
	return s.submit(context.Background(), t, tag, false)
}

func (s *Submitter) submit(ctx context.Context, t Task, tag uint64, wait bool) error {
	if s.held.Add(1) > s.window {
		s.held.Add(-1)
		return fmt.Errorf("%w: %d results wait for Next", ErrWindowFull, s.window)
	}
	if _, err := s.n.accept(ctx, t, wait, nil, s, tag); err != nil {
		s.held.Add(-1)
		return err
	}
	return nil
}

// TrySubmitBatch accepts tasks in order, each with the tag of the same
// index, without waiting for room, and returns how many it accepted: all,
// or those before the first it refused, with the refusal's error
// (ErrWindowFull when the window ends the batch). Consecutive tasks for one
// pool go in under one lock of the pool, with one wake-up of its workers,
// so the room in the pool's queue when the run arrives bounds it (Shed
// does not apply); each task is checked as TrySubmit checks it.
func (s *Submitter) TrySubmitBatch(tasks []Task, tags []uint64) (int, error) {
	if len(tags) != len(tasks) {
		return 0, taskError("tags", "has %d entries; allowed: one per task (%d)", len(tags), len(tasks))
	}
	k := int64(len(tasks))
	if k == 0 {
		return 0, nil
	}
	room := s.window - (s.held.Add(k) - k)
	var windowErr error
	if room < k {
		room = max(room, 0)
		s.held.Add(room - k)
		k = room
		windowErr = fmt.Errorf("%w: %d results wait for Next", ErrWindowFull, s.window)
	}
	accepted, err := s.n.acceptBatch(tasks[:k], tags[:k], s)
	if unused := k - int64(accepted); unused > 0 {
		s.held.Add(-unused)
	}
	if err == nil {
		err = windowErr
	}
	return accepted, err
}

// Next returns the Completion of an accepted task, waiting until one ends
// or ctx ends (then it returns ctx's error and takes nothing).
func (s *Submitter) Next(ctx context.Context) (Completion, error) {
	var f *Future
	select {
	case f = <-s.results:
	default:
		select {
		case f = <-s.results:
		case <-ctx.Done():
			return Completion{}, ctx.Err()
		}
	}
	s.held.Add(-1)
	c := Completion{Tag: f.lean.tag, Result: f.result()}
	f.drop() // usually the last hold: the runner let go when it delivered
	return c, nil
}

// Pending returns the number of accepted tasks whose Completion Next has
// not returned yet.
func (s *Submitter) Pending() int { return int(s.held.Load()) }

// sample reports whether the next task is one of the timed sample.
func (s *Submitter) sample() bool { return s.seq.Add(1)%LeanSampleEvery == 1 }

// admits checks what the lean path cannot take.
func (s *Submitter) admits(t *Task, p *pool) error {
	switch {
	case t.Timeout > 0:
		return taskError("Timeout", "is %s; a Submitter takes tasks without timers (use Node.Submit)", t.Timeout)
	case t.Context != nil:
		return taskError("Context", "is set; a Submitter takes tasks without contexts (use Node.Submit)")
	case t.Retry.MaxAttempts > 1:
		return taskError("Retry", "is set, by the task or its pool; a Submitter takes tasks without retries (use Node.Submit)")
	case p.taskTimeout.Load() > 0:
		return taskError("Pool", "%q has a TaskTimeout; a Submitter takes tasks without timers (use Node.Submit)", p.cfg.Name)
	}
	return nil
}

// record returns a task record for tag: a reused one, or a new one while
// the window fills.
func (s *Submitter) record(tag uint64) *Future {
	var f *Future
	s.mu.Lock()
	if k := len(s.free); k > 0 {
		f = s.free[k-1]
		s.free[k-1] = nil
		s.free = s.free[:k-1]
	}
	s.mu.Unlock()
	if f == nil {
		f = &Future{lean: &leanRecord{sub: s}}
		s.made.Add(1)
	}
	f.lean.tag = tag
	f.lean.refs.Store(2) // the result, not yet taken by Next; the pool, not yet done
	return f
}

// unused takes back a record whose task was refused.
func (s *Submitter) unused(f *Future) {
	f.lean.refs.Store(0)
	s.reuse(f)
}

// deliver hands an ended task's record, which holds its result, to Next.
func (s *Submitter) deliver(f *Future) { s.results <- f }

// reuse clears a record nobody holds any more and keeps it for a next task.
func (s *Submitter) reuse(f *Future) {
	f.state.Store(jobPending)
	f.where, f.level, f.attempt = nowhere, 0, 0
	f.wait.Store(nil)
	f.pool, f.worker, f.prev, f.next = nil, nil, nil, nil
	f.fn, f.handler, f.typ, f.payload, f.key, f.accepted, f.x = nil, nil, "", nil, 0, 0, nil
	f.startedNs.Store(0)
	f.out, f.value, f.err = nil, nil, nil
	f.queuedNs, f.runNs, f.cpuNs = 0, 0, 0
	f.lean.tag = 0
	s.mu.Lock()
	// Records in use: the window's undelivered tasks, and a few delivered
	// whose runner has not let go yet; more than twice the window are not
	// kept.
	if int64(len(s.free)) < 2*s.window {
		s.free = append(s.free, f)
	}
	s.mu.Unlock()
}
