package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// ants (imported by bench, which `drover bench` runs) starts a default
	// pool when it is imported, whose goroutines live for the whole process;
	// IgnoreCurrent, taken before any test runs, skips exactly those.
	goleak.VerifyTestMain(cleanupM{m}, goleak.IgnoreCurrent())
}
