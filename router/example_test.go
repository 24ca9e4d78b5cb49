package router_test

import (
	"fmt"
	"strings"

	"github.com/drover-go/drover/router"
)

func ExampleNew() {
	s, err := router.New("least-busy")
	if err != nil {
		panic(err)
	}
	for id := 1; id <= 3; id++ {
		_ = s.Add(router.Routee{ID: id, Capacity: 2})
		s.SetAvailable(id, true)
	}
	id, ok := s.Pick(0) // reserves a slot on routee 1
	fmt.Println(id, ok, s.InFlight(id))
	s.Done(id) // the task ended

	_, err = router.New("fastest")
	fmt.Println(err)
	// Output:
	// 1 true 1
	// router: unknown strategy: "fastest", allowed names are round-robin, weighted, least-busy, random, p2c, consistent-hash
}

func ExampleNewWeighted() {
	s := router.NewWeighted()
	for i, w := range []int{5, 1, 1} {
		_ = s.Add(router.Routee{ID: i, Weight: w})
		s.SetAvailable(i, true)
	}
	var picks []string
	for range 7 {
		id, _ := s.Pick(0)
		picks = append(picks, string(rune('a'+id)))
		s.Done(id)
	}
	fmt.Println(strings.Join(picks, " "))

	_ = s.SetWeight(0, 1) // now all equal
	picks = picks[:0]
	for range 6 {
		id, _ := s.Pick(0)
		picks = append(picks, string(rune('a'+id)))
		s.Done(id)
	}
	fmt.Println(strings.Join(picks, " "))
	// Output:
	// a a b a c a a
	// a b c a b c
}

func ExampleNewLeastBusy() {
	s := router.NewLeastBusy()
	for id := 1; id <= 3; id++ {
		_ = s.Add(router.Routee{ID: id, Capacity: 4})
		s.SetAvailable(id, true)
	}
	// Three long tasks, one on each routee; then routee 2 finishes early.
	for range 3 {
		_, _ = s.Pick(0)
	}
	s.Done(2)
	id, _ := s.Pick(0)
	fmt.Println("next task goes to", id)
	// Output:
	// next task goes to 2
}

func ExampleNewConsistentHash() {
	s, err := router.NewConsistentHash(0)
	if err != nil {
		panic(err)
	}
	for id := 1; id <= 5; id++ {
		_ = s.Add(router.Routee{ID: id})
		s.SetAvailable(id, true)
	}
	key := router.Key("customer-1234")
	first, _ := s.Pick(key)
	s.Done(first)
	second, _ := s.Pick(key)
	s.Done(second)
	fmt.Println("same routee:", first == second)

	// While the owner is unavailable its keys go to the next routee on the
	// ring, and they come back when it returns.
	s.SetAvailable(first, false)
	other, _ := s.Pick(key)
	s.Done(other)
	s.SetAvailable(first, true)
	back, _ := s.Pick(key)
	s.Done(back)
	fmt.Println("moved:", other != first, "back:", back == first)
	// Output:
	// same routee: true
	// moved: true back: true
}

func ExampleKey() {
	fmt.Printf("%#x\n", router.Key("customer-1234"))
	fmt.Println(router.Key("a") == router.Key("b"))
	// Output:
	// 0x28f632e84f98f850
	// false
}
