package cluster

import (
	"runtime"
	"sync"
)

// batcher gathers items from many goroutines and hands them to send in
// batches, from one goroutine of its own: while send runs, items pile up
// and go out together next time. An item that finds the batcher idle goes
// out at once, alone, so batching adds no delay when there is no load.
// (Sending such an item on the caller's goroutine instead saves a goroutine
// hop but, measured, makes batches smaller and throughput lower.) Its
// methods are safe for concurrent use.
type batcher[T any] struct {
	mu      sync.Mutex
	buf     []T
	stopped bool
	max     int
	send    func([]T)
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newBatcher[T any](max int, send func([]T)) *batcher[T] {
	b := &batcher[T]{
		max:  max,
		send: send,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go b.loop()
	return b
}

// add queues x and reports whether the batcher took it (false once it is
// closed).
func (b *batcher[T]) add(x T) bool {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return false
	}
	b.buf = append(b.buf, x)
	first := len(b.buf) == 1
	b.mu.Unlock()
	if first {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// close sends what is queued and stops the goroutine; it returns once the
// last batch went to send. Later adds are refused.
func (b *batcher[T]) close() { b.shut(false) }

// discard stops the goroutine and drops what is queued (a send already
// running finishes). Later adds are refused.
func (b *batcher[T]) discard() { b.shut(true) }

func (b *batcher[T]) shut(drop bool) {
	b.mu.Lock()
	if drop {
		clear(b.buf)
		b.buf = b.buf[:0]
	}
	if b.stopped {
		b.mu.Unlock()
		<-b.done
		return
	}
	b.stopped = true
	b.mu.Unlock()
	close(b.stop)
	<-b.done
}

func (b *batcher[T]) loop() {
	defer close(b.done)
	for {
		select {
		case <-b.wake:
			b.gather()
			b.flush()
		case <-b.stop:
			b.flush()
			return
		}
	}
}

// gather lets the goroutines that are about to add run first, as long as
// the batch grows (a few times at most): a yield, not a wait, so an idle
// batcher still sends at once.
func (b *batcher[T]) gather() {
	n := -1
	for i := 0; i < 4; i++ {
		b.mu.Lock()
		m := len(b.buf)
		b.mu.Unlock()
		if m == n || m >= b.max {
			return
		}
		n = m
		runtime.Gosched()
	}
}

// flush sends batches until nothing is queued.
func (b *batcher[T]) flush() {
	for {
		b.mu.Lock()
		n := len(b.buf)
		if n == 0 {
			b.mu.Unlock()
			return
		}
		var batch []T
		if n <= b.max {
			batch, b.buf = b.buf, nil
		} else {
			batch = make([]T, b.max)
			copy(batch, b.buf)
			rest := copy(b.buf, b.buf[b.max:])
			clear(b.buf[rest:])
			b.buf = b.buf[:rest]
		}
		b.mu.Unlock()
		b.send(batch)
	}
}
