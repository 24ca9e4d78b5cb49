package cluster

import (
	"sync"
	"sync/atomic"
)

// room wakes goroutines that wait for a change: a slot freed on some
// member, a member joined, a report came. A waiter arms it, checks its
// condition again, then waits on the channel; signal closes the channel
// only when someone armed it, so that the per-task path pays one atomic
// load. It is safe for concurrent use.
type room struct {
	armed atomic.Int32
	mu    sync.Mutex
	ch    chan struct{}
}

func newRoom() *room { return &room{ch: make(chan struct{})} }

// arm registers a waiter and returns the channel to wait on; the waiter
// calls disarm when done waiting.
func (r *room) arm() <-chan struct{} {
	r.armed.Add(1)
	r.mu.Lock()
	ch := r.ch
	r.mu.Unlock()
	return ch
}

func (r *room) disarm() { r.armed.Add(-1) }

// signal wakes every armed waiter.
func (r *room) signal() {
	if r.armed.Load() == 0 {
		return
	}
	r.mu.Lock()
	close(r.ch)
	r.ch = make(chan struct{})
	r.mu.Unlock()
}
