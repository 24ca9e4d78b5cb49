//go:build race

package main

// raceEnabled says the tests run with the race detector, so that the
// end-to-end test builds the binary with it too (and reuses the packages the
// test build compiled).
const raceEnabled = true
