package cluster

import (
	"errors"
	"sync"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
)

// batchBudget bounds one batch message: a batch takes queued items until
// their bytes (payloads or outputs) pass it, and at least one item.
const batchBudget = 64 << 20

// outbox gathers the items for one remote process (another member's inbox,
// or a collector) from many goroutines and sends them in batches, with no
// goroutine of its own. The first item that finds it idle posts a token to
// the process through protoactor's remote; the remote's endpoint writer
// asks the token for its wire form (remote.RootSerializable) only when it
// comes to send it, and the token then takes every item queued by then.
// So an item that finds the connection idle leaves at once, items that
// come while a batch waits for the writer, or is being written, go
// together in the next one, and no goroutine hop of Drover's lies on the
// path. Its methods are safe for concurrent use.
//
// Order: an item queued before a message is posted to the same process
// (after add returned) reaches the process before that message, as a
// token for it is ahead of the message in the writer's queue (unless the
// batch budget splits a batch: the rest follows in the next token).
//
// A token lost with its connection (the writer stops and drops its queue)
// leaves the outbox waiting: repost sends a new one.
type outbox[T any] struct {
	mu     sync.Mutex
	items  []T
	spare  []T  // an emptied batch, for reuse
	posted bool // a token is on its way and will take the items queued
	closed bool
	tok    *outToken[T]

	post func(remote.RootSerializable)   // hands a token to the remote (called under mu)
	wire func([]T) remote.RootSerialized // the wire form of a batch
	size func(T) int                     // bytes of an item, against batchBudget
}

func newOutbox[T any](post func(remote.RootSerializable), wire func([]T) remote.RootSerialized, size func(T) int) *outbox[T] {
	o := &outbox[T]{post: post, wire: wire, size: size}
	o.tok = &outToken[T]{o: o}
	return o
}

// add queues x and reports whether the outbox took it (false once closed).
func (o *outbox[T]) add(x T) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	if o.items == nil {
		o.items, o.spare = o.spare, nil
	}
	o.items = append(o.items, x)
	if !o.posted {
		// Posted under the lock, so that a message posted after add
		// returns (a flush barrier) is behind the token.
		o.posted = true
		o.post(o.tok)
	}
	return true
}

// close refuses later adds; what is queued goes with the token on its way.
func (o *outbox[T]) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// discard refuses later adds and drops what is queued.
func (o *outbox[T]) discard() {
	o.mu.Lock()
	o.closed = true
	clear(o.items)
	o.items = o.items[:0]
	o.mu.Unlock()
}

// repost posts a new token if items wait: the one on its way may have been
// lost with a connection. A token that was not lost takes nothing and
// sends an empty batch.
func (o *outbox[T]) repost() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) > 0 {
		o.posted = true
		o.post(o.tok)
	}
}

// take returns the next batch: the items queued, up to the budget.
func (o *outbox[T]) take() []T {
	o.mu.Lock()
	defer o.mu.Unlock()
	batch := o.items
	n, bytes := 0, 0
	for n < len(batch) {
		bytes += o.size(batch[n])
		n++
		if bytes > batchBudget {
			break
		}
	}
	if n == len(batch) {
		o.items, o.spare = o.spare, nil
		o.posted = false
		return batch
	}
	// Over budget: the rest goes with the next token.
	rest := make([]T, len(batch)-n, max(len(batch)-n, cap(batch)/2))
	copy(rest, batch[n:])
	clear(batch[n:])
	o.items = rest
	o.post(o.tok)
	return batch[:n]
}

// recycle keeps an emptied batch for reuse.
func (o *outbox[T]) recycle(batch []T) {
	clear(batch)
	o.mu.Lock()
	if o.spare == nil {
		o.spare = batch[:0]
	}
	o.mu.Unlock()
}

// outToken stands for an outbox's next batch on its way through the
// remote: the endpoint writer calls Serialize when it comes to send it.
type outToken[T any] struct{ o *outbox[T] }

var _ remote.RootSerializable = (*outToken[int])(nil)

// Serialize takes the outbox's queued items and returns their wire form.
func (t *outToken[T]) Serialize() (remote.RootSerialized, error) {
	batch := t.o.take()
	w := t.o.wire(batch)
	t.o.recycle(batch)
	return w, nil
}

// wireMsg is a batch's wire form as the endpoint writer takes it: a
// protobuf message it marshals under the message's own type name, so that
// the receiver gets the plain generated type.
type wireMsg struct{ proto.Message }

var _ remote.RootSerialized = wireMsg{}

var errSendOnly = errors.New("cluster: a batch's wire form is only sent, never read back")

// Deserialize is never called: the receiver reads the generated type.
func (wireMsg) Deserialize() (remote.RootSerializable, error) { return nil, errSendOnly }
