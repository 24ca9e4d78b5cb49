package cluster

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/protos"
)

// inbox is the process that takes task batches from other members. It
// hands each task to its pool's actor on this member's node, with the
// relay of the sending member as sender; the relay gathers the results
// into batches back to the sender's collector. Like the collector it has
// no mailbox: a batch is handed out on the delivering goroutine, which
// only posts to the pools' mailboxes. It is safe for concurrent use.
type inbox struct {
	m      *Member
	mu     sync.Mutex
	relays map[string]*relay // by the sending member's collector (address/id)
	closed bool
	next   int
}

var _ actor.Process = (*inbox)(nil)

func newInbox(m *Member) *inbox { return &inbox{m: m, relays: map[string]*relay{}} }

// relay takes the results of one sending member's tasks on this member
// and sends them back in batches.
type relay struct {
	m      *Member
	in     *inbox
	key    string
	origin *actor.PID // the sender's collector
	ctl    *actor.PID // the sender's control actor, for the flush barrier
	pid    *actor.PID // this relay
	out    *batcher[*protos.TaskResult]
	// running counts its tasks whose result has not come yet; forgotten
	// is set (under the inbox's lock) once its member left the topology:
	// the relay goes when its last result went.
	running   atomic.Int64
	forgotten bool
}

var _ actor.Process = (*relay)(nil)

func (in *inbox) SendUserMessage(_ *actor.PID, message any) {
	_, msg, sender := actor.UnwrapEnvelope(message)
	batch, ok := msg.(*protos.TaskBatch)
	if !ok || sender == nil {
		return
	}
	node := in.m.node
	tasks := batch.GetTasks()
	r := in.relayFor(sender, len(tasks))
	if r == nil || node.Draining() {
		// Leaving: refuse, so that the sender places the tasks elsewhere.
		res := make([]*protos.TaskResult, len(tasks))
		for i, env := range tasks {
			res[i] = refusal(env.GetId(), protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "member "+in.m.name+" is leaving the cluster")
		}
		in.m.sys.Root.Send(sender, &protos.ResultBatch{Results: res})
		if r != nil {
			r.finished(int64(len(tasks)))
		}
		return
	}
	for _, env := range tasks {
		pid, ok := node.PoolPID(env.GetPool())
		if !ok {
			r.out.add(refusal(env.GetId(), protos.ErrorCode_ERROR_CODE_NO_POOL, "member "+in.m.name+" has no pool "+strconv.Quote(env.GetPool())))
			r.finished(1)
			continue
		}
		in.m.sys.Root.RequestWithCustomSender(pid, env, r.pid)
	}
}

func (in *inbox) SendSystemMessage(*actor.PID, any) {}
func (in *inbox) Stop(*actor.PID)                   {}

func refusal(id string, code protos.ErrorCode, msg string) *protos.TaskResult {
	return &protos.TaskResult{TaskId: id, Error: &protos.TaskError{Code: code, Message: msg}}
}

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
	in.next++
	id := inboxName + "/relay-" + strconv.Itoa(in.next)
	r := &relay{
		m:      in.m,
		in:     in,
		key:    key,
		origin: actor.NewPID(origin.Address, origin.Id),
		ctl:    actor.NewPID(origin.Address, controlName),
	}
	sys := in.m.sys
	r.out = newBatcher(maxBatch, func(b []*protos.TaskResult) {
		sys.Root.Send(r.origin, &protos.ResultBatch{Results: b})
	})
	sys.ProcessRegistry.Add(r, id)
	r.pid = sys.NewLocalPID(id)
	r.running.Add(int64(n))
	in.relays[key] = r
	return r
}

func (r *relay) SendUserMessage(_ *actor.PID, message any) {
	res, ok := actor.UnwrapEnvelopeMessage(message).(*protos.TaskResult)
	if !ok {
		return
	}
	if !r.out.add(res) {
		r.m.sys.Root.Send(r.origin, &protos.ResultBatch{Results: []*protos.TaskResult{res}})
	}
	r.finished(1)
}

// finished counts n of the relay's tasks ended.
func (r *relay) finished(n int64) {
	if r.running.Add(-n) == 0 {
		r.in.dropIfForgotten(r)
	}
}

func (r *relay) SendSystemMessage(*actor.PID, any) {}
func (r *relay) Stop(*actor.PID)                   {}

// forget drops the relays of the member at addr, which left the
// topology: at once for a relay with no task running, after its last
// result for the others. Results still go back: a member dropped while it
// lived (it was paused) still waits for them, and a dead one's are lost
// in the network, never delivered to another process.
func (in *inbox) forget(addr string) {
	in.mu.Lock()
	var idle []*relay
	for _, r := range in.relays {
		if r.origin.Address != addr {
			continue
		}
		r.forgotten = true
		if r.running.Load() == 0 {
			delete(in.relays, r.key)
			idle = append(idle, r)
		}
	}
	in.mu.Unlock()
	for _, r := range idle {
		r.drop()
	}
}

// dropIfForgotten drops r if its member left and its last task ended.
func (in *inbox) dropIfForgotten(r *relay) {
	in.mu.Lock()
	gone := r.forgotten && r.running.Load() == 0 && in.relays[r.key] == r
	if gone {
		delete(in.relays, r.key)
	}
	in.mu.Unlock()
	if gone {
		r.drop()
	}
}

func (r *relay) drop() {
	r.out.close()
	r.m.sys.ProcessRegistry.Remove(r.pid)
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
	futures := make([]*actor.Future, 0, len(relays))
	for _, r := range relays {
		r.out.close()
		futures = append(futures, in.m.sys.Root.RequestFuture(r.ctl, &actor.Touch{}, wait))
	}
	for _, f := range futures {
		_ = f.Wait()
	}
}
