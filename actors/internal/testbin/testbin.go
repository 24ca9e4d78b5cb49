// Package testbin builds the test worker binary
// (actors/procworker/internal/testworker) for the tests of actors and
// procworker.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var testWorker struct {
	once sync.Once
	path string
	err  error
}

// Worker returns the path of the test worker binary, building it on first
// use in this test binary. It lives in a directory of its own under the
// system's temporary directory and is replaced at each build, so that runs
// leave one file behind, not one per run. It is safe for concurrent use.
func Worker(tb testing.TB) string {
	tb.Helper()
	testWorker.once.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("drover-testworker-%d", os.Getuid()))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			testWorker.err = err
			return
		}
		tmp, err := os.CreateTemp(dir, "build-*")
		if err != nil {
			testWorker.err = err
			return
		}
		_ = tmp.Close()
		out, err := exec.Command("go", "build", "-o", tmp.Name(), "github.com/drover-go/drover/actors/procworker/internal/testworker").CombinedOutput()
		if err != nil {
			_ = os.Remove(tmp.Name())
			testWorker.err = fmt.Errorf("go build testworker: %w\n%s", err, out)
			return
		}
		// Rename is atomic: a concurrent test run keeps the binary it started.
		testWorker.path = filepath.Join(dir, "testworker")
		testWorker.err = os.Rename(tmp.Name(), testWorker.path)
	})
	if testWorker.err != nil {
		tb.Fatal(testWorker.err)
	}
	return testWorker.path
}
