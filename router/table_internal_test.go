package router

import (
	"math/rand/v2"
	"testing"
)

// checkInvariants verifies the bookkeeping shared by every strategy and the
// strategy's own index against a scan of all routees.
func checkInvariants(t *testing.T, s Strategy) {
	t.Helper()
	var tb *table
	switch v := s.(type) {
	case *RoundRobin:
		tb = &v.table
	case *Weighted:
		tb = &v.table
		total := 0
		for i, n := range v.members {
			if n.pos != i || !n.eligible() || v.weights[i] != n.weight || v.slots[i] != n.slot {
				t.Fatalf("members[%d]: pos %d, eligible %v, weight %d/%d, slot %d/%d",
					i, n.pos, n.eligible(), v.weights[i], n.weight, v.slots[i], n.slot)
			}
			total += n.weight
		}
		if len(v.members) != tb.eligible || len(v.current) != tb.eligible || total != v.total {
			t.Fatalf("members %d, eligible %d, total %d, want %d", len(v.members), tb.eligible, v.total, total)
		}
	case *LeastBusy:
		tb = &v.table
		for i, e := range v.heap {
			if n := e.n; n.pos != i || !n.eligible() || e.inFlight != n.inFlight {
				t.Fatalf("heap[%d]: pos %d, eligible %v, in flight %d, entry says %d",
					i, n.pos, n.eligible(), n.inFlight, e.inFlight)
			}
			if i > 0 && v.less(i, (i-1)/2) {
				t.Fatalf("heap order broken at %d", i)
			}
		}
		if len(v.heap) != tb.eligible {
			t.Fatalf("heap holds %d routees, %d eligible", len(v.heap), tb.eligible)
		}
	case *Random:
		tb = &v.table
		checkDense(t, &v.dense, tb)
	case *P2C:
		tb = &v.table
		checkDense(t, &v.dense, tb)
	case *ConsistentHash:
		tb = &v.table
		if v.stale {
			v.build()
		}
		if len(v.hashes) != len(tb.nodes)*v.replicas || len(v.owners) != len(v.hashes) {
			t.Fatalf("ring has %d points for %d routees", len(v.hashes), len(tb.nodes))
		}
		for i := 1; i < len(v.hashes); i++ {
			if v.hashes[i-1] > v.hashes[i] {
				t.Fatalf("ring not sorted at %d", i)
			}
		}
		for b := 0; b+1 < len(v.buckets); b++ {
			lo, hi := int(v.buckets[b]), int(v.buckets[b+1])
			for i := lo; i < hi; i++ {
				if v.hashes[i]>>v.shift != uint64(b) {
					t.Fatalf("bucket %d holds point %d of bucket %d", b, i, v.hashes[i]>>v.shift)
				}
			}
		}
		if len(v.buckets) == 0 || int(v.buckets[len(v.buckets)-1]) != len(v.hashes) {
			t.Fatalf("buckets do not end at the ring's length")
		}
		for _, o := range v.owners {
			if tb.nodes[o.id] != o {
				t.Fatalf("ring point owned by removed routee %d", o.id)
			}
		}
	default:
		t.Fatalf("unknown strategy %T", s)
	}
	for id, n := range tb.small {
		if n != nil && (n.id != id || tb.nodes[id] != n) {
			t.Fatalf("small[%d] holds routee %d", id, n.id)
		}
	}
	eligible := 0
	for id, n := range tb.nodes {
		if n.id != id || tb.slots[n.slot] != n {
			t.Fatalf("routee %d: slot %d holds another", id, n.slot)
		}
		if n.inFlight < 0 || n.inFlight > n.capacity {
			t.Fatalf("routee %d: %d in flight, capacity %d", id, n.inFlight, n.capacity)
		}
		in := tb.elig[n.slot>>6]&(1<<(n.slot&63)) != 0
		if in != n.eligible() {
			t.Fatalf("routee %d: bitset says %v, eligible %v", id, in, n.eligible())
		}
		if n.eligible() {
			eligible++
		}
	}
	if eligible != tb.eligible {
		t.Fatalf("counted %d eligible, table says %d", eligible, tb.eligible)
	}
}

func checkDense(t *testing.T, d *dense, tb *table) {
	t.Helper()
	for i, n := range d.list {
		if n.pos != i || !n.eligible() {
			t.Fatalf("list[%d]: pos %d, eligible %v", i, n.pos, n.eligible())
		}
	}
	if len(d.list) != tb.eligible {
		t.Fatalf("list holds %d routees, %d eligible", len(d.list), tb.eligible)
	}
}

func TestInvariantsUnderRandomOperations(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s, err := New(name, WithSeed(3), WithReplicas(16))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 8))
			var held []int
			for range 20_000 {
				id := rng.IntN(100) // slots are reused as IDs come and go
				switch {
				case id%7 == 3:
					id = -id
				case id%11 == 5:
					id += 1 << 40
				}
				switch op := rng.IntN(100); {
				case op < 5:
					_ = s.Add(Routee{ID: id, Weight: rng.IntN(4), Capacity: rng.IntN(4)})
				case op < 8:
					s.Remove(id)
				case op < 20:
					s.SetAvailable(id, rng.IntN(3) != 0)
				case op < 22:
					_ = s.SetWeight(id, 1+rng.IntN(9))
				case op < 60:
					if got, ok := s.Pick(rng.Uint64() >> rng.IntN(64)); ok {
						held = append(held, got)
					}
				default:
					if len(held) > 0 {
						k := rng.IntN(len(held))
						s.Done(held[k])
						held[k] = held[len(held)-1]
						held = held[:len(held)-1]
					}
				}
				checkInvariants(t, s)
			}
		})
	}
}

func TestBitsetNext(t *testing.T) {
	tests := []struct {
		name    string
		members []int
		size    int
		from    int
		want    int
	}{
		{name: "empty", size: 0, from: 0, want: -1},
		{name: "no members", size: 130, from: 5, want: -1},
		{name: "at from", members: []int{5}, size: 64, from: 5, want: 5},
		{name: "after from", members: []int{3, 70}, size: 128, from: 4, want: 70},
		{name: "wraps", members: []int{3}, size: 200, from: 150, want: 3},
		{name: "wraps within the first word", members: []int{1, 9}, size: 64, from: 10, want: 1},
		{name: "from past the end", members: []int{2}, size: 64, from: 64, want: 2},
		{name: "last bit", members: []int{127}, size: 128, from: 64, want: 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bitset
			b.grow(tt.size)
			for _, m := range tt.members {
				b.set(m)
			}
			if got := b.next(tt.from); got != tt.want {
				t.Fatalf("next(%d) = %d, want %d", tt.from, got, tt.want)
			}
		})
	}
}
