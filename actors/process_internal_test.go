package actors

import (
	"testing"

	"github.com/drover-go/drover/actors/internal/testbin"
)

// BuildTestWorker returns the path of the test worker binary
// (procworker/internal/testworker), building it on first use in this test
// binary.
func BuildTestWorker(tb testing.TB) string {
	tb.Helper()
	return testbin.Worker(tb)
}
