package router

// RoundRobin hands tasks to the eligible routees in turn, in the order they
// were added (a slot freed by Remove is reused by the next Add). A routee
// that is skipped because it is full or unavailable simply loses its turn.
//
// Pick costs O(n/64) in the worst case (a word-wise scan of a bitset of
// eligible routees) and O(1) when most routees are eligible; it does not
// allocate. Create one with NewRoundRobin; the zero value is not ready for
// use. All methods are safe for concurrent use.
type RoundRobin struct {
	table
	cursor int // the slot where the next search starts
}

var _ Strategy = (*RoundRobin)(nil)

// NewRoundRobin returns an empty round-robin strategy.
func NewRoundRobin() *RoundRobin {
	r := &RoundRobin{}
	r.init(r)
	return r
}

// Name returns "round-robin".
func (r *RoundRobin) Name() string { return NameRoundRobin }

func (r *RoundRobin) added(*node)   {}
func (r *RoundRobin) removed(*node) {}
func (r *RoundRobin) reweigh(*node) {}
func (r *RoundRobin) enter(*node)   {}
func (r *RoundRobin) leave(*node)   {}
func (r *RoundRobin) load(*node)    {}

func (r *RoundRobin) pick(uint64) *node { return r.rotate(&r.cursor) }
