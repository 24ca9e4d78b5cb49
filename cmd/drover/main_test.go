package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// protoactor's dead-letter throttle starts a goroutine that lives for one
	// DeadLetterThrottleInterval (1 s) after a dead letter (for example a
	// crash report reaching a worker that has just stopped); it ends on its own.
	// ants (imported by bench, which `drover bench` runs) starts a default
	// pool when it is imported, whose goroutines live for the whole process;
	// IgnoreCurrent, taken before any test runs, skips exactly those.
	goleak.VerifyTestMain(cleanupM{m},
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		goleak.IgnoreCurrent())
}
