package router

// Weighted is nginx's smooth weighted round-robin: over any run of picks
// each eligible routee gets a share proportional to its weight, and the picks
// are interleaved rather than bunched (weights 5, 1, 1 give a a b a c a a,
// never five a in a row). SetWeight takes effect at the next Pick.
//
// On each Pick every eligible routee's current weight grows by its weight,
// the routee with the largest current weight wins (the earliest added on a
// tie) and its current weight drops by the sum of the eligible weights. A
// routee that is full or unavailable takes no part and keeps its current
// weight until it is eligible again.
//
// Pick costs O(n) in the eligible routees, as in nginx, over flat arrays
// (about 1 ns per eligible routee); it does not allocate. For pools of
// hundreds of routees or more prefer round-robin or p2c when weights are not
// needed. Create one with NewWeighted; the zero value is not ready for use.
// All methods are safe for concurrent use.
type Weighted struct {
	table
	// The eligible routees in no particular order; index i of each slice
	// describes the same routee, whose node.pos is i.
	members []*node
	current []int // current weight
	weights []int // weight
	slots   []int // table slot, for the tie-break
	total   int   // sum of weights
}

var _ Strategy = (*Weighted)(nil)

// NewWeighted returns an empty smooth weighted round-robin strategy.
func NewWeighted() *Weighted {
	w := &Weighted{}
	w.init(w)
	return w
}

// Name returns "weighted".
func (w *Weighted) Name() string { return NameWeighted }

func (w *Weighted) added(*node) {
	// Room for every routee, so that enter never allocates on Pick or Done.
	if k := len(w.nodes); cap(w.members) < k {
		grow := func(s []int) []int { return append(make([]int, 0, 2*k), s...) }
		w.members = append(make([]*node, 0, 2*k), w.members...)
		w.current, w.weights, w.slots = grow(w.current), grow(w.weights), grow(w.slots)
	}
}

func (w *Weighted) removed(*node) {}
func (w *Weighted) load(*node)    {}

func (w *Weighted) enter(n *node) {
	n.pos = len(w.members)
	w.members = append(w.members, n)
	w.current = append(w.current, n.current)
	w.weights = append(w.weights, n.weight)
	w.slots = append(w.slots, n.slot)
	w.total += n.weight
}

func (w *Weighted) leave(n *node) {
	i, last := n.pos, len(w.members)-1
	n.current = w.current[i]
	w.total -= w.weights[i]
	m := w.members[last]
	w.members[i], w.current[i], w.weights[i], w.slots[i] = m, w.current[last], w.weights[last], w.slots[last]
	m.pos = i
	w.members[last] = nil
	w.members, w.current, w.weights, w.slots = w.members[:last], w.current[:last], w.weights[:last], w.slots[:last]
	n.pos = -1
}

func (w *Weighted) reweigh(n *node) {
	if n.pos >= 0 {
		w.total += n.weight - w.weights[n.pos]
		w.weights[n.pos] = n.weight
	}
}

func (w *Weighted) pick(uint64) *node {
	cur, wt, slots := w.current, w.weights, w.slots
	wt, slots = wt[:len(cur)], slots[:len(cur)]
	best, bestCur := 0, cur[0]+wt[0]
	cur[0] = bestCur
	for i := 1; i < len(cur); i++ {
		c := cur[i] + wt[i]
		cur[i] = c
		if c > bestCur || c == bestCur && slots[i] < slots[best] {
			best, bestCur = i, c
		}
	}
	cur[best] -= w.total
	return w.members[best]
}
