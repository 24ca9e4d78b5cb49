package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// MaxSubmitterWindow bounds a Submitter's window.
const MaxSubmitterWindow = 1 << 20

// TimingSampleEvery is how often a task that did not ask for its timings
// (Task.Timed) and has no timeout is timed: about one in TimingSampleEvery,
// drawn at random, records its queue wait and run time in its pool's
// histograms and its Result. The others read no clock; their Result's
// Queued and Run are zero. (In a pool with Aging every task is timed.) It
// is a power of two.
const TimingSampleEvery = 16

// ErrWindowFull is returned by a Submitter's Submit and TrySubmit while the
// Submitter holds its whole window of results that Next has not taken.
var ErrWindowFull = errors.New("drover: submitter window full")

// Completion is the result of a task accepted by a Submitter, with the tag
// given to Submit.
type Completion struct {
	// Tag is the tag the task was submitted with.
	Tag uint64
	// Result is the task's one result, as a Future's would be (Queued and
	// Run are zero unless the task was timed: see TimingSampleEvery).
	Result Result
}

// Submitter is the lean way to run many tasks: it keeps a window of task
// records and reuses them, so that at steady state a task costs no heap
// object of Drover's (a Func's closure is the caller's). Each accepted task
// gets exactly one Completion from Next, in the order the tasks end.
//
// Every field of a Task means what it means for Node.Submit, but retries: a
// task with Retry, or for a pool with a retry policy, is refused with
// ErrInvalidTask naming the field (use Node.Submit for those). A task with
// no Timeout, Context, ID, Key, OnResult or Timed, for a pool without a
// TaskTimeout or breakers, is plain and takes the shortest path; one with a
// Timeout or a Context costs its timer or watcher, as with Node.Submit.
// It reads no clock per task: about one task in TimingSampleEvery is timed,
// for the pool's histograms; the others' Result.Queued and Result.Run are
// zero.
//
// Submit, TrySubmit and Next may be called from different goroutines (one
// submitting, one collecting, say); every method is safe for concurrent use.
type Submitter struct {
	n      *Node
	window int64
	made   atomic.Int64 // records made (tests check that they are reused)

	// The hand-off of ended tasks: a runner appends a record to ended under
	// dmu; Next swaps the whole list out at once (see takeLocked), so that
	// collecting a burst of results takes one lock, not one per result.
	dmu      sync.Mutex
	ended    []*Future
	sleepers atomic.Int32  // Next calls waiting on wake; changed under dmu
	wake     chan struct{} // one token: a result came, or one is left in taken

	mu    sync.Mutex
	held  int64     // accepted tasks whose Completion Next has not taken
	taken []*Future // ended records Next swapped out of ended, from index next
	next  int
	free  []*Future    // records ready for reuse, at most twice the window
	slab  []leanFuture // records made together and not handed out yet
	route leanRoute    // the last route a plain task took
}

// leanRoute is where the last plain task (see plain) of a Submitter went:
// its pool and handler, as resolved from the task's Pool, Kind and Type in
// the node's handler table of the time. A next task with the same fields
// takes the same route without the node's lookups.
type leanRoute struct {
	ok       bool
	pool     string
	hasKind  bool
	kind     Kind
	typ      string
	handlers *map[string]Handler
	p        *pool
	h        Handler
}

// NewSubmitter returns a Submitter for the node with a window of 1 to
// MaxSubmitterWindow tasks accepted and not yet collected by Next.
func (n *Node) NewSubmitter(window int) (*Submitter, error) {
	if window < 1 || window > MaxSubmitterWindow {
		return nil, configError("NewSubmitter window", "is %d; allowed: 1 to %d", window, MaxSubmitterWindow)
	}
	return &Submitter{n: n, window: int64(window), wake: make(chan struct{}, 1)}, nil
}

// Submit accepts t, waiting for room in its pool's queue until ctx ends
// (ctx bounds only that wait), and returns ErrWindowFull at once when the
// window is full. Errors are Node.Submit's otherwise.
func (s *Submitter) Submit(ctx context.Context, t Task, tag uint64) error {
	return s.submit(ctx, &t, tag, true)
}

// TrySubmit is Submit that returns ErrQueueFull at once instead of waiting
// for room in the pool's queue.
func (s *Submitter) TrySubmit(t Task, tag uint64) error {
	return s.submit(context.Background(), &t, tag, false)
}

func (s *Submitter) submit(ctx context.Context, t *Task, tag uint64, wait bool) error {
	f, err := s.fast(t, tag)
	if err != nil {
		return err
	}
	if f != nil {
		if err := f.pool.submit(ctx, f, wait); err != nil {
			s.unused(f)
			s.release(1)
			return err
		}
		return nil
	}
	// The window's place was taken by fast.
	if _, err := s.n.accept(ctx, t, wait, nil, s, tag); err != nil {
		s.release(1)
		return err
	}
	if s.plain(t) {
		s.learn(t)
	}
	return nil
}

// release gives back k places of the window, for tasks that were refused.
// (Next gives back the place of a task whose Completion it returns.)
func (s *Submitter) release(k int64) {
	s.mu.Lock()
	s.held -= k
	s.mu.Unlock()
}

// plain reports whether t asks for nothing but a pool, a handler (or Func),
// a priority and a payload: the tasks the fast path takes.
func (s *Submitter) plain(t *Task) bool {
	return t.Context == nil && t.Timeout == 0 && t.Retry.MaxAttempts <= 1 && t.Retry.MaxAttempts >= 0 &&
		t.ID == "" && t.Key == "" && t.OnResult == nil && !t.Timed && t.Priority <= PriorityLow &&
		(t.Func != nil || t.Type != "") && len(t.Payload) <= s.n.maxPayload
}

// fast takes a place in the window for t, or returns ErrWindowFull. Then it
// returns the record of a plain task that takes the Submitter's last route
// in a node and pool that ask for no more checks (no pressure, no
// breakers, no TaskTimeout), ready for its pool; or nil, and the task
// takes the node's whole admission. It makes the same decisions, with
// fewer lookups.
func (s *Submitter) fast(t *Task, tag uint64) (*Future, error) {
	n := s.n
	s.mu.Lock()
	if s.held >= s.window {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %d results wait for Next", ErrWindowFull, s.window)
	}
	s.held++
	r := &s.route
	if !r.ok || !s.plain(t) || n.closing.Load() || n.pressure.Load() != pressureNormal ||
		t.Pool != r.pool || t.HasKind != r.hasKind || (t.HasKind && t.Kind != r.kind) ||
		(t.Func == nil && (t.Type != r.typ || n.handlers.Load() != r.handlers)) {
		s.mu.Unlock()
		return nil, nil
	}
	p, h := r.p, r.h
	if p.taskTimeout.Load() > 0 || p.breakers.Load() != nil {
		s.mu.Unlock()
		return nil, nil
	}
	rec := s.popLocked()
	s.mu.Unlock()
	f := s.ready(rec, tag)
	if t.Func != nil {
		h = nil
	}
	f.fn, f.handler, f.payload = t.Func, h, t.Payload
	f.pool, f.level = p, int8(t.Priority.level())
	if sampled() || p.aging.Load() > 0 {
		f.accepted = n.clock() // a zero accepted says the task is not timed
	} else {
		f.accepted = 0
	}
	return f, nil
}

// learn keeps the route of a plain task the node has just admitted, so
// that the next with the same fields takes the fast path.
func (s *Submitter) learn(t *Task) {
	n := s.n
	p, err := n.poolFor(t)
	if err != nil || p.cfg.Kind == KindProcess || p.cfg.Retry.MaxAttempts > 1 {
		return
	}
	handlers := n.handlers.Load()
	var h Handler
	if t.Func == nil {
		if h = (*handlers)[t.Type]; h == nil {
			return
		}
	}
	s.mu.Lock()
	s.route = leanRoute{ok: true, pool: t.Pool, hasKind: t.HasKind, kind: t.Kind, typ: t.Type, handlers: handlers, p: p, h: h}
	s.mu.Unlock()
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
	var windowErr error
	s.mu.Lock()
	if room := s.window - s.held; room < k {
		k = max(room, 0)
		windowErr = fmt.Errorf("%w: %d results wait for Next", ErrWindowFull, s.window)
	}
	s.held += k
	s.mu.Unlock()
	accepted, err := s.n.acceptBatch(tasks[:k], tags[:k], s)
	if unused := k - int64(accepted); unused > 0 {
		s.release(unused)
	}
	if err == nil {
		err = windowErr
	}
	return accepted, err
}

// Next returns the Completion of an accepted task, waiting until one ends
// or ctx ends (then it returns ctx's error and takes nothing).
func (s *Submitter) Next(ctx context.Context) (Completion, error) {
	s.mu.Lock()
	f := s.takeLocked()
	for f == nil {
		s.mu.Unlock() // takeLocked counted this call among the sleepers
		select {
		case <-s.wake:
			s.sleepers.Add(-1)
		case <-ctx.Done():
			s.sleepers.Add(-1)
			return Completion{}, ctx.Err()
		}
		s.mu.Lock()
		f = s.takeLocked()
	}
	s.held--
	c := Completion{Tag: f.lean.tag, Result: f.result()}
	// Usually the last hold: a runner lets go before it delivers, and then
	// no other holder is left to take.
	if f.lean.refs.Load() == 1 || f.lean.refs.Add(-1) == 0 {
		s.clear(f)
		s.keepLocked(f)
	}
	left := s.next < len(s.taken)
	s.mu.Unlock()
	if left && s.sleepers.Load() > 0 {
		s.poke() // another Next waits, and a result is here for it
	}
	return c, nil
}

// takeLocked returns the next ended record, swapping the runners' list in
// when the one taken before is used up; or nil, and then it has counted
// the caller among the sleepers before any runner can add to the list, so
// that the next result wakes it. s.mu is held.
func (s *Submitter) takeLocked() *Future {
	if s.next == len(s.taken) {
		s.dmu.Lock()
		if len(s.ended) == 0 {
			s.sleepers.Add(1)
			s.dmu.Unlock()
			return nil
		}
		s.taken, s.ended = s.ended, s.taken[:0]
		s.next = 0
		s.dmu.Unlock()
	}
	f := s.taken[s.next]
	s.taken[s.next] = nil
	s.next++
	return f
}

// poke wakes one waiting Next, unless a token already waits for one.
func (s *Submitter) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Pending returns the number of accepted tasks whose Completion Next has
// not returned yet.
func (s *Submitter) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.held)
}

// sampled reports whether a task of Node.Submit is one of the timed sample:
// a cheap per-thread random draw, so that submitters share no counter.
func sampled() bool { return rand.Uint32()&(TimingSampleEvery-1) == 0 }

// admits checks what the lean path cannot take: retries, whose timers
// would reach a record between its runs.
func (s *Submitter) admits(t *Task) error {
	if t.Retry.MaxAttempts > 1 {
		return taskError("Retry", "is set, by the task or its pool; a Submitter takes tasks without retries (use Node.Submit)")
	}
	return nil
}

// record returns a task record for tag: a reused one, or a new one while
// the window fills.
func (s *Submitter) record(tag uint64) *Future {
	s.mu.Lock()
	rec := s.popLocked()
	s.mu.Unlock()
	return s.ready(rec, tag)
}

// ready readies a record of popLocked for a task with tag.
func (s *Submitter) ready(f *Future, tag uint64) *Future {
	f.lean.tag = tag
	f.lean.refs.Store(2) // the result, not yet taken by Next; the pool, not yet done
	return f
}

// popLocked takes a record from the free list, or a new one while the
// window fills. s.mu is held.
func (s *Submitter) popLocked() *Future {
	k := len(s.free)
	if k == 0 {
		return s.newRecordLocked()
	}
	f := s.free[k-1]
	s.free[k-1] = nil
	s.free = s.free[:k-1]
	return f
}

// leanFuture is a Submitter's task record: a Future and its leanRecord in
// one object, so that Next finds both in the lines it reads anyway.
type leanFuture struct {
	f Future
	l leanRecord
}

// recordSlab is how many records a Submitter makes at once.
const recordSlab = 64

// newRecordLocked makes a task record while the window fills. Records are
// made recordSlab at a time, side by side in memory, whatever the heap
// looks like: the pool's queue then walks a few pages, not one per task.
// s.mu is held.
func (s *Submitter) newRecordLocked() *Future {
	if len(s.slab) == 0 {
		s.slab = make([]leanFuture, min(recordSlab, s.window))
	}
	r := &s.slab[0]
	s.slab = s.slab[1:]
	r.l.sub = s
	r.f.lean = &r.l
	s.made.Add(1)
	return &r.f
}

// unused takes back a record whose task was refused.
func (s *Submitter) unused(f *Future) {
	f.lean.refs.Store(0)
	s.reuse(f)
}

// deliver hands an ended task's record, which holds its result, to Next.
// A Next that counted itself among the sleepers before the append sees
// the count here; one that counts itself after it finds the record.
func (s *Submitter) deliver(f *Future) {
	s.dmu.Lock()
	s.ended = append(s.ended, f)
	s.dmu.Unlock()
	if s.sleepers.Load() > 0 {
		s.poke()
	}
}

// reuse clears a record nobody holds any more and keeps it for a next task.
func (s *Submitter) reuse(f *Future) {
	s.clear(f)
	s.mu.Lock()
	s.keepLocked(f)
	s.mu.Unlock()
}

// clear readies a record nobody holds any more for reuse. Fields that every
// admission sets (fn, handler, payload, pool, level, accepted) or that the
// pool left clear (where, prev, next, and wait, which no caller can ask
// for) stay as they are; the result's references are dropped, so that a
// kept record holds no output.
func (s *Submitter) clear(f *Future) {
	f.state.Store(jobPending)
	f.attempt, f.worker, f.x = 0, nil, nil
	f.startedNs.Store(0)
	f.out, f.value, f.err = nil, nil, nil
	f.queuedNs = 0
}

// keepLocked puts a cleared record on the free list. s.mu is held.
func (s *Submitter) keepLocked(f *Future) {
	// Records in use: the window's undelivered tasks, and a few delivered
	// whose runner has not let go yet; more than twice the window are not
	// kept.
	if int64(len(s.free)) < 2*s.window {
		s.free = append(s.free, f)
	}
}
