package cluster

import (
	"sync"
	"sync/atomic"
)

const pendingShards = 32

// pending maps the key of each dispatch in flight to its call. Whoever
// takes an entry out owns the call until it puts it back or finishes it,
// which makes every transition (result, reroute, failover, cancel) happen
// once. It is safe for concurrent use.
type pending struct {
	n      atomic.Int64
	shards [pendingShards]struct {
		mu sync.Mutex
		m  map[uint64]*call
		_  [40]byte // keep shards on separate cache lines
	}
}

func newPending() *pending {
	p := &pending{}
	for i := range p.shards {
		p.shards[i].m = make(map[uint64]*call)
	}
	return p
}

func (p *pending) put(k uint64, f *call) {
	s := &p.shards[k%pendingShards]
	s.mu.Lock()
	s.m[k] = f
	s.mu.Unlock()
	p.n.Add(1)
}

// take removes and returns the call of key k, or nil.
func (p *pending) take(k uint64) *call {
	s := &p.shards[k%pendingShards]
	s.mu.Lock()
	f, ok := s.m[k]
	if ok {
		delete(s.m, k)
	}
	s.mu.Unlock()
	if ok {
		p.n.Add(-1)
	}
	return f
}

// takeIf removes the entry of key k if it holds f, and reports whether it did.
func (p *pending) takeIf(k uint64, f *call) bool {
	s := &p.shards[k%pendingShards]
	s.mu.Lock()
	ok := s.m[k] == f
	if ok {
		delete(s.m, k)
	}
	s.mu.Unlock()
	if ok {
		p.n.Add(-1)
	}
	return ok
}

// takeWhere removes and returns every call for which match is true.
func (p *pending) takeWhere(match func(*call) bool) []*call {
	var out []*call
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		for k, f := range s.m {
			if match(f) {
				delete(s.m, k)
				out = append(out, f)
			}
		}
		s.mu.Unlock()
	}
	p.n.Add(-int64(len(out)))
	return out
}

// len returns the number of dispatches in flight.
func (p *pending) len() int { return int(p.n.Load()) }
