package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind. ants
// starts a default pool when it is imported (a purge and a clock goroutine
// that live for the whole process); IgnoreCurrent, taken before any test
// runs, skips exactly those, so the goroutines of the pools the tests start
// are still checked.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
