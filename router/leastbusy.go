package router

// LeastBusy hands each task to the eligible routee with the fewest tasks in
// flight; this is the strategy usually called "least connections". Among
// routees with the same count the one that has waited longest at that count
// wins, so ties rotate instead of always favouring the same routee. A routee
// is never picked while another eligible one has fewer tasks in flight.
//
// The eligible routees sit in an indexed binary min-heap keyed by (tasks in
// flight, arrival at that count), updated by Pick, Done and SetAvailable:
// Pick and Done cost O(log n) and do not allocate. Create one with
// NewLeastBusy; the zero value is not ready for use. All methods are safe
// for concurrent use.
type LeastBusy struct {
	table
	heap []lbEntry
	seq  uint64
}

// lbEntry is a heap element; it copies the routee's key so that sifting does
// not chase pointers.
type lbEntry struct {
	inFlight int
	seq      uint64 // smaller arrived earlier at this in-flight count
	n        *node
}

var _ Strategy = (*LeastBusy)(nil)

// NewLeastBusy returns an empty least-busy strategy.
func NewLeastBusy() *LeastBusy {
	l := &LeastBusy{}
	l.init(l)
	return l
}

// Name returns "least-busy".
func (l *LeastBusy) Name() string { return NameLeastBusy }

func (l *LeastBusy) added(*node) {
	// Room for every routee, so that enter never allocates on Pick or Done.
	if k := len(l.nodes); cap(l.heap) < k {
		l.heap = append(make([]lbEntry, 0, 2*k), l.heap...)
	}
}

func (l *LeastBusy) removed(*node) {}
func (l *LeastBusy) reweigh(*node) {}

func (l *LeastBusy) enter(n *node) {
	l.seq++
	n.pos = len(l.heap)
	l.heap = append(l.heap, lbEntry{n.inFlight, l.seq, n})
	l.up(n.pos)
}

func (l *LeastBusy) leave(n *node) {
	i, last := n.pos, len(l.heap)-1
	if i != last {
		l.swap(i, last)
	}
	l.heap[last] = lbEntry{}
	l.heap = l.heap[:last]
	n.pos = -1
	if i != last {
		l.fix(i)
	}
}

func (l *LeastBusy) load(n *node) {
	l.seq++
	i := n.pos
	up := n.inFlight < l.heap[i].inFlight
	l.heap[i].inFlight, l.heap[i].seq = n.inFlight, l.seq
	if up {
		l.up(i)
	} else {
		l.down(i)
	}
}

func (l *LeastBusy) pick(uint64) *node { return l.heap[0].n }

func (l *LeastBusy) less(i, j int) bool {
	a, b := &l.heap[i], &l.heap[j]
	return a.inFlight < b.inFlight || a.inFlight == b.inFlight && a.seq < b.seq
}

func (l *LeastBusy) swap(i, j int) {
	h := l.heap
	h[i], h[j] = h[j], h[i]
	h[i].n.pos = i
	h[j].n.pos = j
}

func (l *LeastBusy) fix(i int) {
	if !l.up(i) {
		l.down(i)
	}
}

// up moves element i towards the root and reports whether it moved.
func (l *LeastBusy) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !l.less(i, p) {
			break
		}
		l.swap(i, p)
		i, moved = p, true
	}
	return moved
}

func (l *LeastBusy) down(i int) {
	n := len(l.heap)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && l.less(r, c) {
			c = r
		}
		if !l.less(c, i) {
			return
		}
		l.swap(i, c)
		i = c
	}
}
