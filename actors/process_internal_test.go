package actors

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/procworker"
)

var testWorker struct {
	once sync.Once
	path string
	err  error
}

// BuildTestWorker returns the path of the test worker binary
// (procworker/internal/testworker), building it on first use in this test
// binary. It lives in a directory of its own under the system's temporary
// directory and is replaced at each build, so that runs leave one file
// behind, not one per run.
func BuildTestWorker(tb testing.TB) string {
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

func testBackend(t *testing.T, cfg ProcessConfig) *procBackend {
	t.Helper()
	cfg.Command = BuildTestWorker(t)
	require.NoError(t, cfg.validate("cfg"))
	b, err := startProcBackend(procSpec{cfg: cfg.withDefaults(), worker: "p/w0", concurrency: 2, logger: hclog.NewNullLogger()})
	require.NoError(t, err)
	t.Cleanup(b.close)
	return b
}

func TestProcessBackendPing(t *testing.T) {
	b := testBackend(t, ProcessConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, b.ping(ctx))
	if runtime.GOOS == "linux" {
		assert.Greater(t, b.rss(), uint64(1<<20), "a Go process holds more than 1 MiB")
	}

	pid := b.cur.Load().pid
	b.close()
	assert.ErrorIs(t, b.ping(ctx), ErrWorkerCrashed, "a stopped child does not answer")
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	assert.True(t, os.IsNotExist(err), "the child is reaped")
}

func TestProcessBackendReportsCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread CPU clocks are read on linux only")
	}
	b := testBackend(t, ProcessConfig{})
	f := &Future{typ: "spin", payload: []byte("30ms")}
	out, err, crash, cpu := b.callCPU(context.Background(), f)
	require.NoError(t, crash)
	require.NoError(t, err)
	assert.Contains(t, []string{"0", "1"}, string(out), "spin answers")
	assert.Greater(t, cpu, 10*time.Millisecond)
	assert.Less(t, cpu, 10*time.Second)
}

func TestProcessBackendRefusesOversizedFrame(t *testing.T) {
	b := testBackend(t, ProcessConfig{})
	f := &Future{typ: "echo", payload: make([]byte, procworker.MaxFrameSize)}
	_, err, crash, _ := b.callCPU(context.Background(), f)
	require.NoError(t, crash)
	require.ErrorIs(t, err, ErrInvalidTask)
	assert.Contains(t, err.Error(), "allowed for process workers: at most 67108864")
	require.NoError(t, b.ping(context.Background()), "the process is untouched")
}
