package cluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// inbox is the process that takes task batches from other members. It
// hands each task to this member's node (Node.TrySubmit) on the delivering
// goroutine, which never waits: a task the node refuses gets its refusal
// as its result. Each task's result goes to the relay of the sending
// member, which sends results back in batches to the sender's collector.
// Like the collector it has no mailbox. It is safe for concurrent use.
type inbox struct {
	m      *Member
	mu     sync.Mutex
	relays map[string]*relay // by the sending member's collector (address/id)
	closed bool
}

var _ actor.Process = (*inbox)(nil)

func newInbox(m *Member) *inbox { return &inbox{m: m, relays: map[string]*relay{}} }

// relay takes the results of one sending member's tasks on this member
// and sends them back in batches.
type relay struct {
	in     *inbox
	key    string
	origin *actor.PID // the sender's collector
	ctl    *actor.PID // the sender's control actor, for the flush barrier
	out    *outbox[outResult]
	// running counts its tasks whose result has not come yet; forgotten
	// is set (under the inbox's lock) once its member left the topology:
	// the relay goes when its last result went.
	running   atomic.Int64
	forgotten bool
}

func (in *inbox) SendUserMessage(_ *actor.PID, message any) {
	_, msg, sender := actor.UnwrapEnvelope(message)
	batch, ok := msg.(*protos.TaskBatch)
	if !ok || sender == nil {
		return
	}
	node := in.m.node
	envs := batch.GetTasks()
	ids := batch.GetColumns().GetIds()
	if len(envs)+len(ids) == 0 {
		return // a token found its tasks gone (see outbox)
	}
	r := in.relayFor(sender, len(envs)+len(ids))
	if r == nil || node.Draining() {
		// Leaving: refuse, so that the sender places the tasks elsewhere.
		err := fmt.Errorf("%w: member %s is leaving the cluster", actors.ErrShuttingDown, in.m.name)
		res := make([]outResult, 0, len(envs)+len(ids))
		for _, env := range envs {
			res = append(res, outResult{sid: env.GetId(), res: actors.Result{Err: err}})
		}
		for _, id := range ids {
			res = append(res, outResult{id: id, res: actors.Result{Err: err}})
		}
		if r == nil {
			in.m.sys.Root.Send(sender, resultBatch(res).Message)
			return
		}
		for _, x := range res {
			r.done(x)
		}
		return
	}
	for _, env := range envs {
		sid := env.GetId()
		t, err := actors.TaskFromEnvelope(env)
		if err == nil {
			t.OnResult = func(res actors.Result) { r.done(outResult{sid: sid, res: res}) }
			_, err = node.TrySubmit(t)
		}
		if err != nil {
			r.done(outResult{sid: sid, res: actors.Result{Err: err}})
		}
	}
	if len(ids) == 0 {
		return
	}
	cols, err := readTaskColumns(batch.GetColumns())
	if err != nil {
		err = fmt.Errorf("%w: %w", actors.ErrInvalidTask, err)
		for _, id := range ids {
			r.done(outResult{id: id, res: actors.Result{Err: err}})
		}
		return
	}
	for i, id := range ids {
		t := cols.task(i)
		t.OnResult = func(res actors.Result) { r.done(outResult{id: id, res: res}) }
		if _, err := node.TrySubmit(t); err != nil {
			r.done(outResult{id: id, res: actors.Result{Err: err}})
		}
	}
}

func (in *inbox) SendSystemMessage(*actor.PID, any) {}
func (in *inbox) Stop(*actor.PID)                   {}

// relayFor returns the relay of the member whose collector is origin,
// made on first use, with n more tasks running; nil once the inbox is
// closed.
func (in *inbox) relayFor(origin *actor.PID, n int) *relay {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil
	}
	key := origin.Address + "/" + origin.Id
	if r := in.relays[key]; r != nil {
		r.forgotten = false
		r.running.Add(int64(n))
		return r
	}
	r := &relay{
		in:     in,
		key:    key,
		origin: actor.NewPID(origin.Address, origin.Id),
		ctl:    actor.NewPID(origin.Address, controlName),
	}
	root := in.m.sys.Root
	r.out = newOutbox(func(tok remote.RootSerializable) { root.Send(r.origin, tok) },
		func(b []outResult) remote.RootSerialized { return resultBatch(b) }, outResultSize)
	r.running.Add(int64(n))
	in.relays[key] = r
	return r
}

// done queues the result of one of the relay's tasks.
func (r *relay) done(x outResult) {
	r.out.add(x)
	if r.running.Add(-1) == 0 {
		r.in.dropIfForgotten(r)
	}
}

// forget drops the relays of the member at addr, which left the
// topology: at once for a relay with no task running, after its last
// result for the others. Results still go back: a member dropped while it
// lived (it was paused) still waits for them, and a dead one's are lost
// in the network, never delivered to another process.
func (in *inbox) forget(addr string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for key, r := range in.relays {
		if r.origin.Address != addr {
			continue
		}
		r.forgotten = true
		if r.running.Load() == 0 {
			delete(in.relays, key)
		}
	}
}

// dropIfForgotten drops r if its member left and its last task ended. A
// result that comes later still goes back through r.
func (in *inbox) dropIfForgotten(r *relay) {
	in.mu.Lock()
	if r.forgotten && r.running.Load() == 0 && in.relays[r.key] == r {
		delete(in.relays, r.key)
	}
	in.mu.Unlock()
}

// repost sends the relays' queued results to the collectors at addr
// again: a connection to addr ended or began, and the batch on its way
// may have been lost with the old one.
func (in *inbox) repost(addr string) {
	in.mu.Lock()
	relays := make([]*relay, 0, len(in.relays))
	for _, r := range in.relays {
		if r.origin.Address == addr {
			relays = append(relays, r)
		}
	}
	in.mu.Unlock()
	for _, r := range relays {
		r.out.repost()
	}
}

// close stops taking tasks, sends the results still queued, and waits
// (until ctx ends) until every sending member has them: a request to its
// control actor after the last batch is answered only once the batch was
// delivered, as one remote connection keeps the order of its messages.
func (in *inbox) close(ctx context.Context) {
	in.mu.Lock()
	in.closed = true
	relays := make([]*relay, 0, len(in.relays))
	for _, r := range in.relays {
		relays = append(relays, r)
	}
	in.mu.Unlock()
	wait := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = max(time.Until(d), time.Millisecond)
	}
	// A relay's queued results are in a batch on its way (see outbox):
	// ahead of the request.
	futures := make([]*actor.Future, 0, len(relays))
	for _, r := range relays {
		futures = append(futures, in.m.sys.Root.RequestFuture(r.ctl, &actor.Touch{}, wait))
	}
	for _, f := range futures {
		_ = f.Wait()
	}
}
