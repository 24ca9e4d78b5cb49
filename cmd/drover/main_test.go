package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// protoactor's dead-letter throttle starts a goroutine that lives for one
	// DeadLetterThrottleInterval (1 s) after a dead letter (for example a
	// crash report reaching a worker that has just stopped); it ends on its own.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}
