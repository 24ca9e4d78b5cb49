package api

import (
	"sync"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// table is the server's record of tasks by id: the pending ones (to
// cancel them, to answer a duplicate with the same task) and the finished
// ones for a bounded time and count (for Result, and for duplicates within
// the idempotency window). Its lock covers the map and the finish order
// only; nothing is called with it held.
type table struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	byID  map[string]*entry
	order []finished // finished entries, oldest first
	head  int        // order[:head] is evicted
}

// entry is one task with an id. ready closes once its submission is
// decided; done once it has its result.
type entry struct {
	id    string
	ready chan struct{}
	done  chan struct{}

	// Under table.mu.
	f      *actors.Future     // while pending
	err    error              // the refusal, if it was refused
	res    *protos.TaskResult // once done
	doneAt time.Time          // once done
}

type finished struct {
	id string
	at time.Time
	e  *entry
}

func newTable(ttl time.Duration, max int, now func() time.Time) *table {
	return &table{ttl: ttl, max: max, now: now, byID: map[string]*entry{}}
}

// reserve returns the entry for id: a new one that the caller must settle,
// or, with dup true, the one already there.
func (t *table) reserve(id string) (e *entry, dup bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.byID[id]; ok && !t.expiredLocked(old) {
		return old, true
	}
	e = &entry{id: id, ready: make(chan struct{}), done: make(chan struct{})}
	t.byID[id] = e
	return e, false
}

// settle records how e's submission went: accepted as f, or refused with
// err (then the id is free again).
func (t *table) settle(e *entry, f *actors.Future, err error) {
	t.mu.Lock()
	if err != nil {
		e.err = err
		if t.byID[e.id] == e {
			delete(t.byID, e.id)
		}
	} else if e.res == nil {
		e.f = f
	}
	t.mu.Unlock()
	close(e.ready)
}

// finish records e's result; it is called once per accepted entry.
func (t *table) finish(e *entry, res *protos.TaskResult) {
	t.mu.Lock()
	e.res, e.doneAt, e.f = res, t.now(), nil
	t.order = append(t.order, finished{id: e.id, at: e.doneAt, e: e})
	t.evictLocked()
	t.mu.Unlock()
	close(e.done)
}

// get returns the entry of id, if the table has it.
func (t *table) get(id string) (*entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[id]
	if !ok || t.expiredLocked(e) {
		return nil, false
	}
	return e, true
}

// state returns e's future while pending, or its result once done.
func (t *table) state(e *entry) (*actors.Future, *protos.TaskResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return e.f, e.res, e.err
}

func (t *table) expiredLocked(e *entry) bool {
	return e.res != nil && t.now().Sub(e.doneAt) > t.ttl
}

// evictLocked drops finished entries past the count or older than ttl,
// oldest first, and compacts the order slice once half of it is evicted.
func (t *table) evictLocked() {
	now := t.now()
	for t.head < len(t.order) {
		o := t.order[t.head]
		if len(t.order)-t.head <= t.max && now.Sub(o.at) <= t.ttl {
			break
		}
		if t.byID[o.id] == o.e {
			delete(t.byID, o.id)
		}
		t.order[t.head] = finished{}
		t.head++
	}
	if t.head > 64 && t.head*2 >= len(t.order) {
		n := copy(t.order, t.order[t.head:])
		clear(t.order[n:])
		t.order = t.order[:n]
		t.head = 0
	}
}
