//go:build !race

package actors_test

// raceEnabled says the tests run with the race detector, which allows
// 8,128 goroutines at once.
const raceEnabled = false
