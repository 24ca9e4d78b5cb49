package router

import (
	"math/bits"
	"math/rand/v2"
)

// Random hands each task to an eligible routee chosen uniformly at random.
// Pick costs O(1) and does not allocate. Create one with NewRandom; the zero
// value is not ready for use. All methods are safe for concurrent use.
type Random struct {
	table
	dense
}

var _ Strategy = (*Random)(nil)

// NewRandom returns an empty random strategy whose generator starts from
// seed; seed 0 means a seed drawn from the runtime's random source. The same
// seed and the same calls give the same picks, which is meant for tests.
func NewRandom(seed uint64) *Random {
	r := &Random{}
	r.seed(seed)
	r.init(r)
	return r
}

// Name returns "random".
func (r *Random) Name() string { return NameRandom }

func (r *Random) added(*node)   { r.reserve(len(r.nodes)) }
func (r *Random) removed(*node) {}
func (r *Random) reweigh(*node) {}
func (r *Random) load(*node)    {}

func (r *Random) pick(uint64) *node { return r.list[r.intn(len(r.list))] }

// P2C is power-of-two-choices: for each task it draws two distinct eligible
// routees at random and takes the one with fewer tasks in flight (the first
// drawn on a tie). It comes close to least-busy's balance at random's cost
// and avoids herding onto a single least-loaded routee when the load figures
// are stale. Pick costs O(1) and does not allocate. Create one with NewP2C;
// the zero value is not ready for use. All methods are safe for concurrent
// use.
type P2C struct {
	table
	dense
}

var _ Strategy = (*P2C)(nil)

// NewP2C returns an empty power-of-two-choices strategy whose generator
// starts from seed; seed 0 means a seed drawn from the runtime's random
// source.
func NewP2C(seed uint64) *P2C {
	p := &P2C{}
	p.seed(seed)
	p.init(p)
	return p
}

// Name returns "p2c".
func (p *P2C) Name() string { return NameP2C }

func (p *P2C) added(*node)   { p.reserve(len(p.nodes)) }
func (p *P2C) removed(*node) {}
func (p *P2C) reweigh(*node) {}
func (p *P2C) load(*node)    {}

func (p *P2C) pick(uint64) *node {
	k := len(p.list)
	if k == 1 {
		return p.list[0]
	}
	i := p.intn(k)
	j := p.intn(k - 1)
	if j >= i {
		j++
	}
	a, b := p.list[i], p.list[j]
	if b.inFlight < a.inFlight {
		return b
	}
	return a
}

// dense is an unordered list of the eligible routees with O(1) insertion
// and removal, and the generator that draws from it.
type dense struct {
	list []*node
	rng  rand.PCG
}

func (d *dense) seed(s uint64) {
	for s == 0 {
		s = rand.Uint64()
	}
	d.rng.Seed(s, mix64(s))
}

// reserve makes room for n routees so that enter never allocates.
func (d *dense) reserve(n int) {
	if cap(d.list) < n {
		l := make([]*node, len(d.list), 2*n)
		copy(l, d.list)
		d.list = l
	}
}

func (d *dense) enter(n *node) {
	n.pos = len(d.list)
	d.list = append(d.list, n)
}

func (d *dense) leave(n *node) {
	last := len(d.list) - 1
	m := d.list[last]
	d.list[n.pos] = m
	m.pos = n.pos
	d.list[last] = nil
	d.list = d.list[:last]
	n.pos = -1
}

// intn returns a pseudo-random number in [0, n) for n > 0 (Lemire's
// multiply-shift; the bias is below n/2^64).
func (d *dense) intn(n int) int {
	hi, _ := bits.Mul64(d.rng.Uint64(), uint64(n))
	return int(hi)
}
