package bench

import "time"

// spinSeed starts the xorshift sequence of spin; any non-zero value does.
const spinSeed = 88172645463325252

// spin runs n rounds of xorshift64 and returns the state. The state is never
// 0 for a non-zero seed, which callers check so that the compiler keeps the
// loop; it touches no memory, so it runs at the same speed under -race.
//
//go:noinline
func spin(n int) uint64 {
	x := uint64(spinSeed)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// calibrateSpin returns the spin rounds that take about d on this machine:
// it doubles the rounds until one call takes 2 ms or more, then keeps the
// fastest of five calls of that size, the one least disturbed by other work.
func calibrateSpin(d time.Duration) int {
	const (
		minSample = 2 * time.Millisecond
		trials    = 5
	)
	n := 1024
	for {
		start := time.Now()
		if spin(n) == 0 {
			panic("bench: spin returned 0")
		}
		if time.Since(start) >= minSample {
			break
		}
		n *= 2
	}
	best := time.Duration(1<<63 - 1)
	for range trials {
		start := time.Now()
		if spin(n) == 0 {
			panic("bench: spin returned 0")
		}
		best = min(best, time.Since(start))
	}
	return max(int(float64(n)*float64(d)/float64(best)), 1)
}

// cpuTask returns the cpu10us task: iters rounds of spin.
func cpuTask(iters int) func() {
	return func() {
		if spin(iters) == 0 {
			panic("bench: spin returned 0")
		}
	}
}
