package router

import (
	"fmt"
	"math/bits"
	"sync"
)

// MaxWeight is the largest weight a routee may have. The bound keeps the
// smooth weighted round-robin's running sums far from overflow.
const MaxWeight = 1 << 20

// node is the state of one routee. All fields are guarded by the owning
// table's mutex.
type node struct {
	id       int
	weight   int // 1..MaxWeight
	capacity int // >= 1
	inFlight int // 0..capacity
	avail    bool
	gone     bool // removed

	slot int // stable position in table.slots while the routee is present
	pos  int // position in the strategy's own structure; -1 when absent

	current int // weighted: nginx's current weight while not eligible
}

// eligible reports whether Pick may return the routee.
func (n *node) eligible() bool { return n.avail && n.inFlight < n.capacity }

// index is what a strategy keeps besides the table: the hooks are called
// under the table's mutex when a routee changes.
type index interface {
	// added is called after a routee is added (it is not eligible yet).
	added(n *node)
	// removed is called before a routee is removed (it is no longer eligible).
	removed(n *node)
	// enter is called when a routee becomes eligible.
	enter(n *node)
	// leave is called when a routee stops being eligible.
	leave(n *node)
	// load is called when an eligible routee's in-flight count changed and
	// it stays eligible.
	load(n *node)
	// reweigh is called after a routee's weight changed.
	reweigh(n *node)
	// pick returns an eligible routee; it is called only when at least one
	// routee is eligible.
	pick(key uint64) *node
}

// table holds the routees and the state every strategy shares: lookup by ID,
// stable slots, the set of eligible slots and the Pick/Done bookkeeping. One
// mutex guards it and the strategy's index.
type table struct {
	mu       sync.Mutex
	ix       index
	nodes    map[int]*node // every routee, by ID
	small    []*node       // routees with small non-negative IDs, by ID: a faster lookup
	slots    []*node       // slot -> routee; nil for a free slot
	free     []int         // free slots, reused last-in first-out
	elig     bitset        // slots of eligible routees
	eligible int           // number of eligible routees
}

func (t *table) init(ix index) {
	t.ix = ix
	t.nodes = make(map[int]*node)
}

// Add adds a routee; a new routee is not available until SetAvailable(id,
// true). A zero Weight or Capacity means 1. It returns an error wrapping
// ErrDuplicateRoutee for an ID already present, ErrInvalidWeight for a
// weight outside 0..MaxWeight and ErrInvalidCapacity for a negative
// capacity. Add is safe for concurrent use.
func (t *table) Add(r Routee) error {
	w, c := r.Weight, r.Capacity
	if w == 0 {
		w = 1
	}
	if w < 1 || w > MaxWeight {
		return fmt.Errorf("%w: routee %d: Weight is %d, allowed range 1..%d (0 means 1)",
			ErrInvalidWeight, r.ID, r.Weight, MaxWeight)
	}
	if c == 0 {
		c = 1
	}
	if c < 1 {
		return fmt.Errorf("%w: routee %d: Capacity is %d, allowed range 1 and above (0 means 1)",
			ErrInvalidCapacity, r.ID, r.Capacity)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.nodes[r.ID]; dup {
		return fmt.Errorf("%w: ID %d", ErrDuplicateRoutee, r.ID)
	}
	n := &node{id: r.ID, weight: w, capacity: c, pos: -1}
	if k := len(t.free); k > 0 {
		n.slot = t.free[k-1]
		t.free = t.free[:k-1]
		t.slots[n.slot] = n
	} else {
		n.slot = len(t.slots)
		t.slots = append(t.slots, n)
		t.elig.grow(len(t.slots))
	}
	t.nodes[r.ID] = n
	if id := r.ID; id >= 0 && id < 2*len(t.nodes)+64 {
		for len(t.small) <= id {
			t.small = append(t.small, nil)
		}
		t.small[id] = n
	}
	t.ix.added(n)
	return nil
}

// Remove removes a routee; an unknown ID is ignored. Slots the routee still
// holds are forgotten: a later Done for its ID is a no-op, unless a routee
// with the same ID was added in between, in which case that Done releases a
// slot of the new routee (if it holds one). Remove is safe for concurrent
// use.
func (t *table) Remove(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.lookup(id)
	if n == nil {
		return
	}
	if n.eligible() {
		t.drop(n)
	}
	n.gone = true
	t.ix.removed(n)
	delete(t.nodes, id)
	if id >= 0 && id < len(t.small) {
		t.small[id] = nil
	}
	t.slots[n.slot] = nil
	t.free = append(t.free, n.slot)
}

// SetAvailable marks a routee as able to take work or not; an unknown ID is
// ignored. Slots a routee holds stay reserved while it is unavailable. It is
// safe for concurrent use.
func (t *table) SetAvailable(id int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.lookup(id)
	if n == nil || n.avail == ok {
		return
	}
	was := n.eligible()
	n.avail = ok
	switch now := n.eligible(); {
	case was && !now:
		t.drop(n)
	case !was && now:
		t.admit(n)
	}
}

// SetWeight changes a routee's weight at run time. It returns an error
// wrapping ErrInvalidWeight for a weight outside 1..MaxWeight and
// ErrUnknownRoutee for an unknown ID. It is safe for concurrent use.
func (t *table) SetWeight(id int, weight int) error {
	if weight < 1 || weight > MaxWeight {
		return fmt.Errorf("%w: routee %d: weight is %d, allowed range 1..%d",
			ErrInvalidWeight, id, weight, MaxWeight)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.lookup(id)
	if n == nil {
		return fmt.Errorf("%w: ID %d", ErrUnknownRoutee, id)
	}
	n.weight = weight
	t.ix.reweigh(n)
	return nil
}

// Pick chooses an eligible routee, reserves one of its slots and returns its
// ID; ok is false when no routee is eligible. It does not allocate, except
// for consistent-hash's first keyed Pick after a change of membership, which
// rebuilds the ring. It is safe for concurrent use.
func (t *table) Pick(key uint64) (id int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.eligible == 0 {
		return 0, false
	}
	n := t.ix.pick(key)
	n.inFlight++
	if n.inFlight == n.capacity {
		t.drop(n)
	} else {
		t.ix.load(n)
	}
	return n.id, true
}

// Done releases a slot reserved by Pick. It is a no-op for an unknown ID or
// a routee that holds no slot, so the count never goes negative. It does not
// allocate and is safe for concurrent use.
func (t *table) Done(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.lookup(id)
	if n == nil || n.inFlight == 0 {
		return
	}
	was := n.eligible()
	n.inFlight--
	switch {
	case was:
		t.ix.load(n)
	case n.eligible():
		t.admit(n)
	}
}

// InFlight returns the number of slots reserved on a routee, 0 for an
// unknown ID. It is safe for concurrent use.
func (t *table) InFlight(id int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.lookup(id); n != nil {
		return n.inFlight
	}
	return 0
}

// lookup returns the routee with the given ID, or nil.
func (t *table) lookup(id int) *node {
	if uint(id) < uint(len(t.small)) {
		if n := t.small[id]; n != nil {
			return n
		}
	}
	return t.nodes[id]
}

// admit records that n became eligible.
func (t *table) admit(n *node) {
	t.elig.set(n.slot)
	t.eligible++
	t.ix.enter(n)
}

// drop records that n stopped being eligible.
func (t *table) drop(n *node) {
	t.elig.clear(n.slot)
	t.eligible--
	t.ix.leave(n)
}

// rotate returns the first eligible routee at or after slot *cursor,
// wrapping around, and moves the cursor past it. It needs at least one
// eligible routee and costs O(slots/64).
func (t *table) rotate(cursor *int) *node {
	i := t.elig.next(*cursor)
	*cursor = i + 1
	return t.slots[i]
}

// bitset is a set of small non-negative integers.
type bitset []uint64

func (b *bitset) grow(n int) {
	for len(*b)*64 < n {
		*b = append(*b, 0)
	}
}

func (b bitset) set(i int)   { b[i>>6] |= 1 << (i & 63) }
func (b bitset) clear(i int) { b[i>>6] &^= 1 << (i & 63) }

// next returns the first member at or after from, wrapping around to 0, or
// -1 when the set is empty.
func (b bitset) next(from int) int {
	nw := len(b)
	if nw == 0 {
		return -1
	}
	w := from >> 6
	if w >= nw {
		w, from = 0, 0
	}
	word := b[w] &^ (1<<(from&63) - 1)
	// nw+1 words: the first one masked below from, the last one the same
	// word again, whole, for the members before from.
	for range nw + 1 {
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
		if w++; w == nw {
			w = 0
		}
		word = b[w]
	}
	return -1
}
