package actors_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// waitTimeout bounds every wait of the tests: a failure bound, never a pace.
const waitTimeout = 10 * time.Second

// watch records a node's events, as its event hook receives them, so that
// a test waits on them instead of polling: for an event that matches
// (waitFor), or for a condition re-checked each time an event arrives
// (waitUntil). Set it with option when the node is made: it sees every
// event from the node's start.
type watch struct {
	mu      sync.Mutex
	seen    []supervision.Event
	next    int           // waitFor looks from here: past its last match
	arrived chan struct{} // closed, and replaced, when an event arrives
}

func newWatch() *watch { return &watch{arrived: make(chan struct{})} }

// option sets w as the node's event hook.
func (w *watch) option() actors.Option { return actors.WithEventHook(w.hook) }

func (w *watch) hook(e supervision.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, e)
	close(w.arrived)
	w.arrived = make(chan struct{})
}

// waitUntil returns once cond holds. It checks cond at once and again each
// time the node reports an event, so cond must turn true no later than the
// node reports some event: a change with no event of its own (a counter
// moved when a task ends) is waited for on the task's Future instead.
func (w *watch) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		// Take the channel before checking: an event that comes between
		// the check and the wait still wakes it.
		w.mu.Lock()
		arrived := w.arrived
		w.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-arrived:
		case <-timeout.C:
			t.Fatalf("%s: not within %s; %s", what, waitTimeout, w.tail(10))
		}
	}
}

// waitFor waits for an event that matches, after the one the last waitFor
// returned, and returns it.
func (w *watch) waitFor(t *testing.T, what string, match func(supervision.Event) bool) supervision.Event {
	t.Helper()
	var found supervision.Event
	w.waitUntil(t, "a "+what+" event", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for ; w.next < len(w.seen); w.next++ {
			if e := w.seen[w.next]; match(e) {
				found = e
				w.next++
				return true
			}
		}
		return false
	})
	return found
}

// count returns the number of events of kind k so far.
func (w *watch) count(k supervision.EventKind) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.seen {
		if e.Kind() == k {
			n++
		}
	}
	return n
}

// events returns the events so far, in the order the node reported them.
func (w *watch) events() []supervision.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]supervision.Event(nil), w.seen...)
}

// tail describes the last n events, for a failure message.
func (w *watch) tail(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d events seen", len(w.seen))
	if len(w.seen) > 0 {
		b.WriteString(", the last:")
	}
	for _, e := range w.seen[max(len(w.seen)-n, 0):] {
		b.WriteString("\n\t" + e.String())
	}
	return b.String()
}

func ofKind(k supervision.EventKind) func(supervision.Event) bool {
	return func(e supervision.Event) bool { return e.Kind() == k }
}

func poolState(pool, to string) func(supervision.Event) bool {
	return func(e supervision.Event) bool {
		s, ok := e.(supervision.PoolStateChanged)
		return ok && s.Pool == pool && s.To == to
	}
}

func workerState(worker, to string) func(supervision.Event) bool {
	return func(e supervision.Event) bool {
		s, ok := e.(supervision.WorkerStateChanged)
		return ok && s.Worker == worker && s.To == to
	}
}

// ready waits for every worker n starts with to have started.
func ready(t *testing.T, n *actors.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, n.WaitReady(ctx), "the workers did not start")
}
