package actors

import (
	"sync"
	"sync/atomic"

	"github.com/drover-go/drover/supervision"
)

// DefaultSubscriptionBuffer is the buffer of a Subscription when Subscribe
// is given 0 or less.
const DefaultSubscriptionBuffer = 256

// Subscription is one reader's feed of a node's events (Node.Subscribe).
// Events arrive in the order the node's dispatcher delivers them; a reader
// that falls behind loses the events that find its buffer full, and
// Dropped counts them, so a slow reader never slows the node or another
// reader. Its methods are safe for concurrent use.
type Subscription struct {
	n       *Node
	ch      chan supervision.Event
	kinds   uint64 // bit k set: kind k is wanted; 0: every kind
	dropped atomic.Uint64
}

// Events returns the subscription's channel. It is closed by Close, and
// once the node has stopped and every event before the stop was offered.
func (s *Subscription) Events() <-chan supervision.Event { return s.ch }

// Dropped returns the number of events this subscription lost because its
// buffer was full. Events the node itself dropped before any delivery are
// counted in NodeStats.DroppedEvents instead.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes its channel; the reader gets the
// events still buffered, then the close. Calls after the first, and calls after the node
// has stopped, do nothing.
func (s *Subscription) Close() {
	n := s.n
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	if _, ok := n.subs[s]; !ok {
		return
	}
	delete(n.subs, s)
	if s.wants(supervision.KindWorkerStateChanged) {
		n.stateSubs.Add(-1)
	}
	close(s.ch)
}

func (s *Subscription) wants(k supervision.EventKind) bool {
	return s.kinds == 0 || (k > 0 && k < 64 && s.kinds&(1<<uint(k)) != 0)
}

// Subscribe returns a new feed of the node's events, as WithEventHook
// receives them, with a buffer of buf events (DefaultSubscriptionBuffer
// for 0 or less). With kinds, only events of those kinds are offered to
// it; without, every kind. Any number of subscriptions may be open at
// once; each is independent of the others and of the hook.
//
// The node emits worker-state-changed events (every idle/busy move of
// every worker, a flood under load) only while the hook is set or a
// subscription asks for KindWorkerStateChanged, whether by naming it or by
// naming no kind; a reader that does not need them should name the kinds
// it wants.
//
// A Subscribe after the node has stopped returns a subscription whose
// channel is already closed. Close a subscription that is no longer read:
// it costs the dispatcher a try per event until then.
func (n *Node) Subscribe(buf int, kinds ...supervision.EventKind) *Subscription {
	if buf < 1 {
		buf = DefaultSubscriptionBuffer
	}
	s := &Subscription{n: n, ch: make(chan supervision.Event, buf)}
	for _, k := range kinds {
		if k > 0 && k < 64 {
			s.kinds |= 1 << uint(k)
		}
	}
	if len(kinds) > 0 && s.kinds == 0 {
		s.kinds = 1 // only unknown kinds: nothing is offered
	}
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	if n.subsClosed {
		close(s.ch)
		return s
	}
	if n.subs == nil {
		n.subs = map[*Subscription]struct{}{}
	}
	n.subs[s] = struct{}{}
	if s.wants(supervision.KindWorkerStateChanged) {
		n.stateSubs.Add(1)
	}
	return s
}

// subscribers is the set of open subscriptions. The event dispatcher is its
// only reader and offers each event to each member; Subscribe and Close
// add and remove members; the dispatcher closes the set when it ends. All
// three hold subsMu, so a channel is never closed while an event is being
// offered on it.
type subscribers struct {
	subsMu     sync.Mutex
	subs       map[*Subscription]struct{}
	subsClosed bool
	// stateSubs counts the open subscriptions that want
	// worker-state-changed events (see Subscribe).
	stateSubs atomic.Int64
}

// offer hands e to every subscription that wants it, without blocking.
func (s *subscribers) offer(e supervision.Event) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	k := e.Kind()
	for sub := range s.subs {
		if !sub.wants(k) {
			continue
		}
		select {
		case sub.ch <- e:
		default:
			sub.dropped.Add(1)
		}
	}
}

// closeAll closes every subscription; later Subscribe calls get a closed
// channel.
func (s *subscribers) closeAll() {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	s.subsClosed = true
	for sub := range s.subs {
		close(sub.ch)
	}
	s.subs = nil
	s.stateSubs.Store(0)
}

// wantsStates reports whether anyone receives worker-state-changed events.
func (n *Node) wantsStates() bool { return n.hook != nil || n.stateSubs.Load() > 0 }
