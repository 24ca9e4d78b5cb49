//go:build race

package cluster_test

// raceEnabled builds the member processes with -race too.
const raceEnabled = true
