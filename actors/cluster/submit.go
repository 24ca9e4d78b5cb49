package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/router"
)

// peer is one incarnation of a member as a routing destination: the
// member itself, or another member from the moment it joined (reachable
// over remote, with a load report) until it is lost. A member that comes
// back after a loss is a new peer.
type peer struct {
	id, name, address string
	self              bool
	routee            int
	inbox             *actor.PID       // remote: the member's inbox
	out               *outbox[outTask] // remote: task batches to the inbox

	lost       atomic.Bool
	inflight   atomic.Int64
	dispatched atomic.Uint64
	saidLeft   bool // the control actor told the hook it left
}

// target is a pool on a peer.
type target struct {
	peer *peer
}

// route is one pool name across the cluster: a router strategy over the
// peers that have the pool. The strategy and targets are read on the
// per-task path; members and dirty belong to the control actor.
type route struct {
	pool     string
	kind     actors.Kind
	strategy router.Strategy
	targets  atomic.Pointer[map[int]*target]

	members map[*peer]int // capacity each peer was added with
	dirty   bool
}

// target returns the target of a routee, or nil.
func (r *route) target(id int) *target {
	if t := r.targets.Load(); t != nil {
		return (*t)[id]
	}
	return nil
}

// routeTable is an immutable snapshot of the routes that have members.
type routeTable struct {
	byPool      map[string]*route
	byKind      map[actors.Kind]string
	defaultPool string
}

// SubmitOption adjusts one Submit. Options are flags: combining them
// costs nothing on the per-task path.
type SubmitOption uint32

const optIdempotent SubmitOption = 1 << iota

// Idempotent marks a task as harmless to run more than once: when the
// member running it is lost, the task is dispatched again to another member
// instead of failing with ErrMemberLost. (It sets the envelope's
// idempotent field.) A Task with Idempotent set is treated the same.
func Idempotent() SubmitOption { return optIdempotent }

// Submit accepts a task for the cluster: it picks a member that has the
// task's pool (this one included) with the member's router strategy and
// sends it there. The Future receives the task's one result, from wherever
// it ran; Result.Node names that member. Contexts mean what they mean for
// actors.Node.Submit: ctx bounds only the wait for room, when every member
// with the pool is at capacity as far as this member sees (its own tasks in
// flight there, and their load reports); Task.Context, when set, binds the
// task, and its end cancels the task here as Future.Cancel does (a remote
// run goes on; its result is dropped).
//
// The task is checked by actors.Task.Validate, as the node checks it, then:
// it needs a Type (a handler registered on the members) unless it has a
// Func, which runs on this member's node alone; its Payload may not exceed
// this member's node limit; Task.Retry is not carried to other members (use
// Idempotent). An empty Pool means the first pool of Kind among the members
// (this member's first), or, without Kind, this member's default pool.
// Task.ID is kept on the Future but not sent.
//
// Errors: actors.ErrShuttingDown once Shutdown began; actors.ErrNoPool
// when no member has the pool; actors.ErrInvalidTask for a malformed task;
// actors.ErrQueueFull wrapping ctx's error when ctx ended while waiting.
func (m *Member) Submit(ctx context.Context, t actors.Task, opts ...SubmitOption) (*actors.Future, error) {
	return m.submit(ctx, t, true, opts)
}

// TrySubmit is Submit that returns actors.ErrQueueFull at once instead of
// waiting for room.
func (m *Member) TrySubmit(t actors.Task, opts ...SubmitOption) (*actors.Future, error) {
	return m.submit(context.Background(), t, false, opts)
}

func (m *Member) submit(ctx context.Context, t actors.Task, wait bool, opts []SubmitOption) (*actors.Future, error) {
	if m.closing.Load() {
		return nil, fmt.Errorf("%w: member %s is leaving the cluster", actors.ErrShuttingDown, m.name)
	}
	var o SubmitOption
	for _, opt := range opts {
		o |= opt
	}
	if t.Func != nil {
		if wait {
			return m.node.Submit(ctx, t)
		}
		return m.node.TrySubmit(t)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	switch {
	case t.Type == "":
		return nil, taskError("Type", "is empty; a task for the cluster needs a Type (a Func runs on this member alone)")
	case len(t.Payload) > m.node.MaxPayload():
		return nil, taskError("Payload", "is %d bytes; allowed: at most %d", len(t.Payload), m.node.MaxPayload())
	case t.Retry.MaxAttempts > 1:
		return nil, taskError("Retry", "is set; retries are not carried to other members (use Idempotent, or the node alone)")
	}
	tbl := m.routes.Load()
	pool := t.Pool
	if pool == "" {
		if t.HasKind {
			if pool = tbl.byKind[t.Kind]; pool == "" {
				m.rejected.Add(1)
				return nil, fmt.Errorf("%w: no member has a pool of kind %s", actors.ErrNoPool, t.Kind)
			}
		} else {
			pool = tbl.defaultPool
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", actors.ErrCanceled, err)
	}
	r := tbl.byPool[pool]
	if r == nil {
		m.rejected.Add(1)
		return nil, fmt.Errorf("%w: no member has pool %q", actors.ErrNoPool, pool)
	}
	f := &call{
		m:          m,
		typ:        t.Type,
		pool:       pool,
		key:        t.Key,
		payload:    t.Payload,
		priority:   t.Priority,
		idempotent: o&optIdempotent != 0 || t.Idempotent,
	}
	f.promise = actors.NewPromise(t.ID, func() bool {
		return m.abortTask(f, fmt.Errorf("%w: by Future.Cancel", actors.ErrCanceled))
	})
	if t.Key != "" {
		f.hkey = router.Key(t.Key)
	}
	tg, err := m.pick(ctx, r, f.hkey, wait)
	if err != nil {
		m.rejected.Add(1)
		return nil, err
	}
	m.submitted.Add(1)
	if tc := t.Context; tc != nil && tc.Done() != nil {
		f.extra().stopCtx = context.AfterFunc(tc, func() {
			m.abortTask(f, fmt.Errorf("%w: Task.Context: %w", actors.ErrCanceled, context.Cause(tc)))
		})
	}
	if timeout := t.Timeout; timeout > 0 {
		x := f.extra()
		x.deadline = time.Now().Add(timeout)
		// The running member enforces the timeout; this timer only ends a
		// task whose result cannot come back.
		x.timer = time.AfterFunc(timeout+m.cfg.deadlineGrace, func() {
			m.abortTask(f, fmt.Errorf("%w: no result from the cluster within %s", actors.ErrTimeout, timeout))
		})
	}
	m.dispatch(f, r, tg)
	return f.promise.Future(), nil
}

// pick reserves a slot on a member of r, waiting for room if wait is set.
func (m *Member) pick(ctx context.Context, r *route, key uint64, wait bool) (*target, error) {
	for {
		if tg, ok := tryPick(r, key, nil); ok {
			return tg, nil
		}
		if !wait {
			return nil, fmt.Errorf("%w: every member with pool %q is at capacity", actors.ErrQueueFull, r.pool)
		}
		ch := m.room.arm()
		if tg, ok := tryPick(r, key, nil); ok {
			m.room.disarm()
			return tg, nil
		}
		select {
		case <-ch:
			m.room.disarm()
		case <-ctx.Done():
			m.room.disarm()
			return nil, fmt.Errorf("%w: waiting for room in pool %q: %w", actors.ErrQueueFull, r.pool, ctx.Err())
		}
		if m.closing.Load() {
			return nil, fmt.Errorf("%w: member %s is leaving the cluster", actors.ErrShuttingDown, m.name)
		}
	}
}

// tryPick reserves a slot on a member of r without waiting, preferring a
// member other than avoid when there is one.
func tryPick(r *route, key uint64, avoid *peer) (*target, bool) {
	id, ok := r.strategy.Pick(key)
	if !ok {
		return nil, false
	}
	tg := r.target(id)
	if tg == nil || tg.peer.lost.Load() {
		// Removed between the pick and now: the control actor signals
		// the room once the routes are settled.
		r.strategy.Done(id)
		return nil, false
	}
	if avoid != nil && tg.peer == avoid {
		if id2, ok := r.strategy.Pick(key); ok {
			if tg2 := r.target(id2); tg2 != nil && tg2.peer != avoid && !tg2.peer.lost.Load() {
				r.strategy.Done(id)
				return tg2, true
			}
			r.strategy.Done(id2)
		}
	}
	return tg, true
}

// dispatch sends f to target tg of route r; a slot is reserved there.
func (m *Member) dispatch(f *call, r *route, tg *target) {
	k := m.seq.Add(1)
	f.route, f.tg = r, tg
	f.dispatches++
	f.cur.Store(k)
	p := tg.peer
	p.inflight.Add(1)
	p.dispatched.Add(1)
	m.pending.put(k, f)
	// An abort, or a loss of the member, may have looked for f before it
	// was in the table: whoever takes the entry owns the task.
	if f.abort.Load() != nil || p.lost.Load() {
		if m.pending.takeIf(k, f) {
			m.release(f)
			m.redispatch(f, memberLost(p, "left", f.maybeRan))
		}
		return
	}
	if p.self {
		m.runLocal(k, f)
		return
	}
	m.sentRemote.Add(1)
	if !p.out.add(outTask{k: k, f: f, attempt: uint32(f.dispatches - 1)}) {
		if m.pending.takeIf(k, f) {
			m.release(f)
			m.redispatch(f, memberLost(p, "left", f.maybeRan))
		}
	}
}

// runLocal hands dispatch k of f to this member's node; its result comes
// to onResult on the goroutine that ends it, as a refusal does at once.
func (m *Member) runLocal(k uint64, f *call) {
	t := actors.Task{
		Type:       f.typ,
		Pool:       f.pool,
		Key:        f.key,
		Payload:    f.payload,
		Priority:   f.priority,
		Idempotent: f.idempotent,
		Timed:      true, // as a task from another member is
		OnResult:   func(r actors.Result) { m.onResult(k, r) },
	}
	if d := f.deadline(); !d.IsZero() {
		t.Timeout = max(time.Until(d), time.Millisecond)
	}
	if _, err := m.node.TrySubmit(t); err != nil {
		m.onResult(k, actors.Result{Err: err})
	}
}

// release gives back the slot of f's current dispatch.
func (m *Member) release(f *call) {
	f.route.strategy.Done(f.tg.peer.routee)
	f.tg.peer.inflight.Add(-1)
	m.room.signal()
}

// onResult takes the result of dispatch k from a member (this one
// included).
func (m *Member) onResult(k uint64, r actors.Result) {
	f := m.pending.take(k)
	if f == nil {
		return // a late result of a task that was failed over, canceled or timed out
	}
	m.release(f)
	if refusedUnrun(r) {
		m.rerouted.Add(1)
		m.redispatch(f, r.Err)
		return
	}
	f.finish(r, f.tg.peer.name)
}

// onResultProto takes a result in the envelope form, whose task id is the
// dispatch key in base 36.
func (m *Member) onResultProto(res *protos.TaskResult) {
	k, err := strconv.ParseUint(res.GetTaskId(), 36, 64)
	if err != nil {
		return
	}
	m.onResult(k, resultOf(res))
}

// refusedUnrun reports whether a result says that the member refused the
// task without running it, so that another member may run it.
func refusedUnrun(r actors.Result) bool {
	if r.Err == nil || r.Worker != "" {
		return false
	}
	switch actors.ErrorCode(r.Err) {
	case protos.ErrorCode_ERROR_CODE_QUEUE_FULL,
		protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN,
		protos.ErrorCode_ERROR_CODE_CIRCUIT_OPEN,
		protos.ErrorCode_ERROR_CODE_NO_POOL,
		protos.ErrorCode_ERROR_CODE_NO_HANDLER:
		return true
	}
	return false
}

// redispatch sends f to a member again, or ends it with cause when it may
// not go again (aborted, out of dispatches or time, no member with room).
// The caller owns f and holds no slot.
func (m *Member) redispatch(f *call, cause error) {
	where := f.tg.peer.name
	if e := f.abort.Load(); e != nil {
		f.finish(actors.Result{Err: *e}, where)
		return
	}
	if f.dispatches >= m.cfg.maxDispatch {
		f.finish(actors.Result{Err: cause}, where)
		return
	}
	if d := f.deadline(); !d.IsZero() && !time.Now().Before(d) {
		f.finish(actors.Result{Err: fmt.Errorf("%w: deadline passed before the task could go to another member: %w", actors.ErrTimeout, cause)}, where)
		return
	}
	r := m.routes.Load().byPool[f.pool]
	if r == nil {
		f.finish(actors.Result{Err: cause}, where)
		return
	}
	tg, ok := tryPick(r, f.hkey, f.tg.peer)
	if !ok {
		f.finish(actors.Result{Err: cause}, where)
		return
	}
	m.dispatch(f, r, tg)
}

// failPeer ends or moves every task in flight on a lost peer: idempotent
// tasks go to another member, the others fail with ErrMemberLost and
// ErrNoAnswer (handed to the peer's connection, they may have run).
func (m *Member) failPeer(p *peer, why string) {
	for _, f := range m.pending.takeWhere(func(f *call) bool { return f.tg.peer == p }) {
		m.release(f)
		f.maybeRan = true
		err := memberLost(p, why, true)
		if f.idempotent {
			m.failedOver.Add(1)
			m.redispatch(f, err)
			continue
		}
		f.finish(actors.Result{Err: err}, p.name)
	}
}

// abortTask ends f with err if it is still pending (Future.Cancel,
// Task.Context ended, or no result by the deadline), and reports whether it
// was: then f ends with err, here or, if another transition holds f, there
// (that one sees the abort), unless a result is being recorded right now.
func (m *Member) abortTask(f *call, err error) bool {
	if !f.abort.CompareAndSwap(nil, &err) {
		return false
	}
	if k := f.cur.Load(); k != 0 && m.pending.takeIf(k, f) {
		m.release(f)
		return f.finish(actors.Result{Err: err}, f.tg.peer.name)
	}
	_, done := f.promise.Future().Result()
	return !done
}

// collector is the process that takes the results of this member's tasks
// from other members (ResultBatches). It is a protoactor process without
// a mailbox, like a future: results are matched to tasks on the delivering
// goroutine.
type collector struct{ m *Member }

var _ actor.Process = (*collector)(nil)

func (c *collector) SendUserMessage(_ *actor.PID, message any) {
	switch msg := actor.UnwrapEnvelopeMessage(message).(type) {
	case *protos.ResultBatch:
		for _, r := range msg.GetResults() {
			c.m.onResultProto(r)
		}
		if cols := msg.GetColumns(); cols != nil {
			if err := readResultColumns(cols, c.m.onResult); err != nil {
				// Its tasks end as their member's loss or their deadline
				// decides; a member of this version never sends one.
				c.m.cfg.logger.Warn("malformed result batch dropped", "error", err)
			}
		}
	case *protos.TaskResult:
		c.m.onResultProto(msg)
	}
}

func (c *collector) SendSystemMessage(*actor.PID, any) {}
func (c *collector) Stop(*actor.PID)                   {}
