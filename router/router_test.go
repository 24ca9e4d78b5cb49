package router_test

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/router"
)

// newStrategy makes a strategy by name with a fixed seed.
func newStrategy(t testing.TB, name string) router.Strategy {
	t.Helper()
	s, err := router.New(name, router.WithSeed(1))
	require.NoError(t, err)
	return s
}

// addAvailable adds the routees and marks them available.
func addAvailable(t testing.TB, s router.Strategy, rs ...router.Routee) {
	t.Helper()
	for _, r := range rs {
		require.NoError(t, s.Add(r))
		s.SetAvailable(r.ID, true)
	}
}

// ids returns routees with the given IDs and default weight and capacity.
func ids(n int) []router.Routee {
	rs := make([]router.Routee, n)
	for i := range rs {
		rs[i] = router.Routee{ID: i}
	}
	return rs
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		err  error
	}{
		{name: "round-robin", in: "round-robin", want: "round-robin"},
		{name: "weighted", in: "weighted", want: "weighted"},
		{name: "least-busy", in: "least-busy", want: "least-busy"},
		{name: "random", in: "random", want: "random"},
		{name: "p2c", in: "p2c", want: "p2c"},
		{name: "consistent-hash", in: "consistent-hash", want: "consistent-hash"},
		{name: "empty means round-robin", in: "", want: "round-robin"},
		{name: "unknown", in: "fastest", err: router.ErrUnknownStrategy},
		{name: "case matters", in: "Round-Robin", err: router.ErrUnknownStrategy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := router.New(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Nil(t, s)
				for _, n := range router.Names() {
					assert.Contains(t, err.Error(), n)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Name())
		})
	}
	t.Run("names are all accepted", func(t *testing.T) {
		for _, n := range router.Names() {
			s, err := router.New(n)
			require.NoError(t, err, n)
			assert.Equal(t, n, s.Name())
		}
	})
	t.Run("names is a copy", func(t *testing.T) {
		router.Names()[0] = "changed"
		assert.Equal(t, "round-robin", router.Names()[0])
	})
}

func TestInvalidConfiguration(t *testing.T) {
	tests := []struct {
		name  string
		do    func() error
		err   error
		field string
	}{
		{name: "negative weight", err: router.ErrInvalidWeight, field: "Weight is -1",
			do: func() error { return router.NewRoundRobin().Add(router.Routee{ID: 1, Weight: -1}) }},
		{name: "weight too large", err: router.ErrInvalidWeight, field: "allowed range 1..",
			do: func() error { return router.NewWeighted().Add(router.Routee{ID: 1, Weight: router.MaxWeight + 1}) }},
		{name: "negative capacity", err: router.ErrInvalidCapacity, field: "Capacity is -2",
			do: func() error { return router.NewLeastBusy().Add(router.Routee{ID: 1, Capacity: -2}) }},
		{name: "duplicate", err: router.ErrDuplicateRoutee, field: "ID 1",
			do: func() error {
				s := router.NewRandom(1)
				if err := s.Add(router.Routee{ID: 1}); err != nil {
					return err
				}
				return s.Add(router.Routee{ID: 1, Weight: 2})
			}},
		{name: "set weight zero", err: router.ErrInvalidWeight, field: "weight is 0",
			do: func() error {
				s := router.NewWeighted()
				if err := s.Add(router.Routee{ID: 1}); err != nil {
					return err
				}
				return s.SetWeight(1, 0)
			}},
		{name: "set weight unknown", err: router.ErrUnknownRoutee, field: "ID 7",
			do: func() error { return router.NewP2C(1).SetWeight(7, 1) }},
		{name: "negative replicas", err: router.ErrInvalidReplicas, field: "replicas is -1",
			do: func() error { _, err := router.NewConsistentHash(-1); return err }},
		{name: "too many replicas", err: router.ErrInvalidReplicas, field: "allowed range 1..",
			do: func() error {
				_, err := router.New("consistent-hash", router.WithReplicas(router.MaxReplicas+1))
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			require.ErrorIs(t, err, tt.err)
			assert.Contains(t, err.Error(), tt.field)
			assert.True(t, strings.HasPrefix(err.Error(), "router: "), err.Error())
		})
	}
}

func TestNoEligibleRoutee(t *testing.T) {
	for _, name := range router.Names() {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			_, ok := s.Pick(1)
			assert.False(t, ok, "empty")

			require.NoError(t, s.Add(router.Routee{ID: 1, Capacity: 2}))
			_, ok = s.Pick(1)
			assert.False(t, ok, "added but not yet available")

			s.SetAvailable(1, true)
			for range 2 {
				id, ok := s.Pick(1)
				require.True(t, ok)
				require.Equal(t, 1, id)
			}
			_, ok = s.Pick(1)
			assert.False(t, ok, "full")
			assert.Equal(t, 2, s.InFlight(1))

			s.Done(1)
			s.SetAvailable(1, false)
			_, ok = s.Pick(1)
			assert.False(t, ok, "unavailable with a free slot")
			assert.Equal(t, 1, s.InFlight(1), "slots stay reserved while unavailable")

			s.SetAvailable(1, true)
			id, ok := s.Pick(1)
			assert.True(t, ok)
			assert.Equal(t, 1, id)
		})
	}
}

func TestSkipsIneligible(t *testing.T) {
	for _, name := range router.Names() {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			addAvailable(t, s, ids(6)...)
			s.SetAvailable(1, false)
			s.SetAvailable(4, false)
			// Hold routees 2 and 3 (capacity 1) by picking until they are.
			var held []int
			for k := uint64(1); s.InFlight(2) == 0 || s.InFlight(3) == 0; k++ {
				require.Less(t, k, uint64(10_000), "routees 2 and 3 are never picked")
				id, ok := s.Pick(k)
				require.True(t, ok)
				if id == 2 || id == 3 {
					held = append(held, id)
				} else {
					s.Done(id)
				}
			}
			got := map[int]int{}
			for i := range 2000 {
				id, ok := s.Pick(uint64(i))
				require.True(t, ok)
				got[id]++
				s.Done(id)
			}
			assert.Zero(t, got[1]+got[2]+got[3]+got[4], "picked an ineligible routee: %v", got)
			assert.Positive(t, got[0])
			assert.Positive(t, got[5])
			for _, id := range held {
				s.Done(id)
			}
		})
	}
}

func TestDistribution(t *testing.T) {
	const picks = 100_000
	tests := []struct {
		strategy string
		weights  []int
		want     []float64 // expected shares
		tol      float64   // absolute tolerance on each share
	}{
		{strategy: "round-robin", weights: []int{1, 1, 1, 1}, want: []float64{.25, .25, .25, .25}, tol: 0.0001},
		{strategy: "weighted", weights: []int{5, 3, 2}, want: []float64{.5, .3, .2}, tol: 0.01},
		{strategy: "weighted", weights: []int{1, 10, 100}, want: []float64{1. / 111, 10. / 111, 100. / 111}, tol: 0.01},
		{strategy: "least-busy", weights: []int{1, 1, 1, 1}, want: []float64{.25, .25, .25, .25}, tol: 0.0001},
		{strategy: "random", weights: []int{1, 1, 1, 1}, want: []float64{.25, .25, .25, .25}, tol: 0.01},
		{strategy: "p2c", weights: []int{1, 1, 1, 1}, want: []float64{.25, .25, .25, .25}, tol: 0.01},
		{strategy: "consistent-hash", weights: []int{1, 1, 1, 1}, want: []float64{.25, .25, .25, .25}, tol: 0.06},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.strategy, tt.weights), func(t *testing.T) {
			s := newStrategy(t, tt.strategy)
			for i, w := range tt.weights {
				addAvailable(t, s, router.Routee{ID: i, Weight: w})
			}
			got := make([]int, len(tt.weights))
			for i := range picks {
				id, ok := s.Pick(router.Key(fmt.Sprint("key-", i)))
				require.True(t, ok)
				got[id]++
				s.Done(id)
			}
			for i, w := range tt.want {
				assert.InDelta(t, w, float64(got[i])/picks, tt.tol, "routee %d: %v", i, got)
			}
		})
	}
}

func TestWeightedSmooth(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		want    string // one period; routee i prints as 'a'+i
	}{
		{name: "5,1,1", weights: []int{5, 1, 1}, want: "aabacaa"},
		{name: "4,2,1", weights: []int{4, 2, 1}, want: "abacaba"},
		{name: "2,1", weights: []int{2, 1}, want: "aba"},
		{name: "equal", weights: []int{1, 1, 1}, want: "abc"},
		{name: "one", weights: []int{3}, want: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := router.NewWeighted()
			for i, w := range tt.weights {
				addAvailable(t, s, router.Routee{ID: i, Weight: w})
			}
			var b strings.Builder
			for range 3 * len(tt.want) {
				id, ok := s.Pick(0)
				require.True(t, ok)
				b.WriteByte(byte('a' + id))
				s.Done(id)
			}
			assert.Equal(t, strings.Repeat(tt.want, 3), b.String())
		})
	}
	t.Run("never five in a row", func(t *testing.T) {
		s := router.NewWeighted()
		addAvailable(t, s, router.Routee{ID: 0, Weight: 5}, router.Routee{ID: 1}, router.Routee{ID: 2})
		run := 0
		for range 7000 {
			id, _ := s.Pick(0)
			s.Done(id)
			if id == 0 {
				run++
			} else {
				run = 0
			}
			require.Less(t, run, 5)
		}
	})
}

func TestSetWeight(t *testing.T) {
	s := router.NewWeighted()
	addAvailable(t, s, router.Routee{ID: 0}, router.Routee{ID: 1})
	count := func(n int) []int {
		got := make([]int, 2)
		for range n {
			id, ok := s.Pick(0)
			require.True(t, ok)
			got[id]++
			s.Done(id)
		}
		return got
	}
	assert.Equal(t, []int{500, 500}, count(1000))
	require.NoError(t, s.SetWeight(0, 3))
	assert.Equal(t, []int{3000, 1000}, count(4000))
	require.NoError(t, s.SetWeight(0, 1))
	require.NoError(t, s.SetWeight(1, 4))
	got := count(5000)
	assert.InDelta(t, 1000, got[0], 2)
	assert.InDelta(t, 4000, got[1], 2)

	t.Run("all strategies accept it", func(t *testing.T) {
		for _, name := range router.Names() {
			s := newStrategy(t, name)
			require.NoError(t, s.Add(router.Routee{ID: 9}))
			assert.NoError(t, s.SetWeight(9, 7), name)
			assert.ErrorIs(t, s.SetWeight(8, 7), router.ErrUnknownRoutee, name)
		}
	})
}

func TestLeastBusy(t *testing.T) {
	t.Run("never busy while one is less busy", func(t *testing.T) {
		s := router.NewLeastBusy()
		const n = 8
		capacity := func(id int) int { return 1 + id%4 }
		avail := make([]bool, n)
		for i := range n {
			addAvailable(t, s, router.Routee{ID: i, Capacity: capacity(i)})
			avail[i] = true
		}
		rng := rand.New(rand.NewPCG(1, 2))
		var held []int
		for range 20_000 {
			switch op := rng.IntN(20); {
			case op == 0:
				id := rng.IntN(n)
				avail[id] = !avail[id]
				s.SetAvailable(id, avail[id])
			case op < 10 && len(held) > 0:
				k := rng.IntN(len(held))
				s.Done(held[k])
				held = append(held[:k], held[k+1:]...)
			default:
				// The oracle scans every routee.
				lowest := -1
				for i := range n {
					if f := s.InFlight(i); avail[i] && f < capacity(i) && (lowest < 0 || f < lowest) {
						lowest = f
					}
				}
				id, ok := s.Pick(0)
				require.Equal(t, lowest >= 0, ok)
				if !ok {
					continue
				}
				require.True(t, avail[id])
				require.Equal(t, lowest, s.InFlight(id)-1, "picked %d", id)
				held = append(held, id)
			}
		}
	})

	t.Run("ties rotate", func(t *testing.T) {
		s := router.NewLeastBusy()
		addAvailable(t, s, router.Routee{ID: 0, Capacity: 4}, router.Routee{ID: 1, Capacity: 4},
			router.Routee{ID: 2, Capacity: 4}, router.Routee{ID: 3, Capacity: 4})
		var order []int
		for range 8 {
			id, ok := s.Pick(0)
			require.True(t, ok)
			order = append(order, id)
		}
		assert.Equal(t, []int{0, 1, 2, 3, 0, 1, 2, 3}, order)
	})

	t.Run("idle routees share while one is busy", func(t *testing.T) {
		s := router.NewLeastBusy()
		addAvailable(t, s, router.Routee{ID: 0, Capacity: 4}, router.Routee{ID: 1, Capacity: 4},
			router.Routee{ID: 2, Capacity: 4}, router.Routee{ID: 3, Capacity: 4})
		busy, ok := s.Pick(0)
		require.True(t, ok)
		got := map[int]int{}
		for range 3000 {
			id, ok := s.Pick(0)
			require.True(t, ok)
			got[id]++
			s.Done(id)
		}
		assert.Zero(t, got[busy], "picked the busy routee")
		assert.Len(t, got, 3)
		for id, c := range got {
			assert.Equal(t, 1000, c, "routee %d", id)
		}
	})
}

func TestP2CPrefersLessBusy(t *testing.T) {
	s := router.NewP2C(7)
	addAvailable(t, s, router.Routee{ID: 0, Capacity: 10}, router.Routee{ID: 1, Capacity: 10})
	busy, _ := s.Pick(0)
	for range 1000 {
		id, ok := s.Pick(0)
		require.True(t, ok)
		require.NotEqual(t, busy, id)
		s.Done(id)
	}
}

func TestConsistentHash(t *testing.T) {
	const keys = 100_000
	owners := func(t *testing.T, s router.Strategy) []int {
		t.Helper()
		got := make([]int, keys)
		for i := range got {
			id, ok := s.Pick(uint64(i) + 1)
			require.True(t, ok)
			s.Done(id)
			got[i] = id
		}
		return got
	}
	build := func(t *testing.T, ids ...int) router.Strategy {
		t.Helper()
		s, err := router.NewConsistentHash(0)
		require.NoError(t, err)
		for _, id := range ids {
			addAvailable(t, s, router.Routee{ID: id})
		}
		return s
	}
	ten := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

	t.Run("same key same routee, whatever the order of Add", func(t *testing.T) {
		a := owners(t, build(t, ten...))
		b := owners(t, build(t, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
		assert.Equal(t, a, b)
		assert.Equal(t, a, owners(t, build(t, ten...)))
	})

	tests := []struct {
		name   string
		before []int
		after  func(s router.Strategy)
		moved  func(from, to int) bool // a move the change allows
	}{
		{
			name:   "add one to ten",
			before: ten,
			after:  func(s router.Strategy) { _ = s.Add(router.Routee{ID: 10}); s.SetAvailable(10, true) },
			moved:  func(_, to int) bool { return to == 10 },
		},
		{
			name:   "remove one of ten",
			before: ten,
			after:  func(s router.Strategy) { s.Remove(3) },
			moved:  func(from, _ int) bool { return from == 3 },
		},
		{
			name:   "one of ten unavailable",
			before: ten,
			after:  func(s router.Strategy) { s.SetAvailable(6, false) },
			moved:  func(from, _ int) bool { return from == 6 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := build(t, tt.before...)
			before := owners(t, s)
			tt.after(s)
			after := owners(t, s)
			moved := 0
			for i := range before {
				if before[i] != after[i] {
					moved++
					require.True(t, tt.moved(before[i], after[i]), "key %d moved from %d to %d", i+1, before[i], after[i])
				}
			}
			frac := float64(moved) / keys
			assert.GreaterOrEqual(t, frac, 0.05)
			assert.LessOrEqual(t, frac, 0.15)
		})
	}

	t.Run("keys come back to their owner", func(t *testing.T) {
		s := build(t, ten...)
		before := owners(t, s)
		s.SetAvailable(4, false)
		owners(t, s)
		s.SetAvailable(4, true)
		assert.Equal(t, before, owners(t, s))
	})

	t.Run("full owner spills to the next on the ring", func(t *testing.T) {
		s := build(t, ten...)
		key := router.Key("hot")
		owner, ok := s.Pick(key) // holds the owner's only slot
		require.True(t, ok)
		next, ok := s.Pick(key)
		require.True(t, ok)
		assert.NotEqual(t, owner, next)
		again, ok := s.Pick(key)
		require.True(t, ok)
		assert.NotContains(t, []int{owner, next}, again)
		s.Done(next)
		s.Done(again)
		s.Done(owner)
		id, _ := s.Pick(key)
		assert.Equal(t, owner, id)
	})

	t.Run("no key is round-robin", func(t *testing.T) {
		s := build(t, 0, 1, 2)
		var got []int
		for range 6 {
			id, ok := s.Pick(0)
			require.True(t, ok)
			got = append(got, id)
			s.Done(id)
		}
		assert.Equal(t, []int{0, 1, 2, 0, 1, 2}, got)
	})
}

func TestKey(t *testing.T) {
	// Fixed values: Key must not change between processes or versions.
	assert.Equal(t, uint64(0xcbf29ce484222325), router.Key(""))
	assert.Equal(t, uint64(0xaf63dc4c8601ec8c), router.Key("a"))
	for _, s := range []string{"", "a", "user-42", "tenant/7/order/19", strings.Repeat("x", 1000)} {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		assert.Equal(t, h.Sum64(), router.Key(s), s)
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = router.Key("tenant/7/order/19") }))
}

func TestRemoveWhileHeld(t *testing.T) {
	for _, name := range router.Names() {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			addAvailable(t, s, router.Routee{ID: 1}, router.Routee{ID: 2})
			a, ok1 := s.Pick(0)
			b, ok2 := s.Pick(0)
			require.True(t, ok1 && ok2)
			require.ElementsMatch(t, []int{1, 2}, []int{a, b})

			s.Remove(1)
			assert.Zero(t, s.InFlight(1))
			s.Done(1) // forgotten: a no-op
			s.Remove(1)
			_, ok := s.Pick(0)
			assert.False(t, ok, "routee 2 is full and routee 1 is gone")
			assert.Equal(t, 1, s.InFlight(2))

			s.Done(2)
			id, ok := s.Pick(0)
			require.True(t, ok)
			assert.Equal(t, 2, id)

			require.NoError(t, s.Add(router.Routee{ID: 1}))
			assert.Zero(t, s.InFlight(1))
			_, ok = s.Pick(0)
			assert.False(t, ok, "re-added routee is not available yet")
			s.SetAvailable(1, true)
			id, ok = s.Pick(0)
			require.True(t, ok)
			assert.Equal(t, 1, id)
		})
	}
}

func TestDoneNeverNegative(t *testing.T) {
	for _, name := range router.Names() {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			addAvailable(t, s, router.Routee{ID: 1, Capacity: 2})
			s.Done(1)
			s.Done(99)
			assert.Zero(t, s.InFlight(1))
			for range 2 {
				_, ok := s.Pick(5)
				require.True(t, ok)
			}
			_, ok := s.Pick(5)
			assert.False(t, ok, "a stray Done must not have freed a slot")
		})
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	for _, name := range router.Names() {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			addAvailable(t, s, ids(64)...)
			var k uint64
			allocs := testing.AllocsPerRun(1000, func() {
				k++
				id, _ := s.Pick(k)
				s.Done(id)
			})
			assert.Zero(t, allocs)
		})
	}
}

func TestConcurrent(t *testing.T) {
	const (
		routees    = 16
		workers    = 8
		opsPerWork = 3000
		churnID    = 1000 // added and removed while the others run
	)
	for _, name := range router.Names() {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			capacity := func(id int) int { return 1 + id%3 }
			for i := range routees {
				addAvailable(t, s, router.Routee{ID: i, Weight: 1 + i%5, Capacity: capacity(i)})
			}
			var held [routees]atomic.Int64
			var violations atomic.Int64
			check := func(id int) {
				if id == churnID {
					return
				}
				if h := held[id].Load(); h > int64(capacity(id)) || h < 0 {
					violations.Add(1)
				}
				if f := s.InFlight(id); f > capacity(id) || f < 0 {
					violations.Add(1)
				}
			}

			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 99))
					var mine []int
					for range opsPerWork {
						switch op := rng.IntN(10); {
						case op < 5:
							id, ok := s.Pick(rng.Uint64())
							if !ok {
								continue
							}
							if id != churnID {
								held[id].Add(1)
							}
							check(id)
							mine = append(mine, id)
						case op < 9:
							if len(mine) == 0 {
								continue
							}
							k := rng.IntN(len(mine))
							id := mine[k]
							mine = append(mine[:k], mine[k+1:]...)
							if id != churnID {
								held[id].Add(-1)
							}
							s.Done(id)
							check(id)
						default:
							id := rng.IntN(routees)
							s.SetAvailable(id, rng.IntN(2) == 0)
							_ = s.SetWeight(id, 1+rng.IntN(5))
							check(id)
						}
					}
					for _, id := range mine {
						if id != churnID {
							held[id].Add(-1)
						}
						s.Done(id)
					}
				})
			}
			wg.Go(func() {
				for i := range 300 {
					if i%2 == 0 {
						_ = s.Add(router.Routee{ID: churnID, Capacity: 2})
						s.SetAvailable(churnID, true)
					} else {
						s.Remove(churnID)
					}
				}
			})
			wg.Wait()

			assert.Zero(t, violations.Load())
			for i := range routees {
				assert.Zero(t, s.InFlight(i), "routee %d", i)
				assert.Zero(t, held[i].Load())
			}
		})
	}
}

func TestErrorsWrap(t *testing.T) {
	_, err := router.New("nope")
	assert.True(t, errors.Is(err, router.ErrUnknownStrategy))
	assert.Equal(t, `router: unknown strategy: "nope", allowed names are round-robin, weighted, least-busy, random, p2c, consistent-hash`, err.Error())
}

func TestSeedIsReproducible(t *testing.T) {
	for _, name := range []string{"random", "p2c"} {
		t.Run(name, func(t *testing.T) {
			run := func(seed uint64) []int {
				s, err := router.New(name, router.WithSeed(seed))
				require.NoError(t, err)
				addAvailable(t, s, ids(16)...)
				got := make([]int, 200)
				for i := range got {
					got[i], _ = s.Pick(0)
					s.Done(got[i])
				}
				return got
			}
			assert.Equal(t, run(42), run(42))
			assert.NotEqual(t, run(42), run(43))
		})
	}
}
