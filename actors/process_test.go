package actors_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// logWatch is an hclog output that tests can wait on.
type logWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	waiters map[string]chan struct{}
}

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for s, ch := range l.waiters {
		if bytes.Contains(l.buf.Bytes(), []byte(s)) {
			close(ch)
			delete(l.waiters, s)
		}
	}
	return len(p), nil
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the log contains s.
func (l *logWatch) waitFor(t *testing.T, s string) {
	t.Helper()
	l.mu.Lock()
	if bytes.Contains(l.buf.Bytes(), []byte(s)) {
		l.mu.Unlock()
		return
	}
	if l.waiters == nil {
		l.waiters = map[string]chan struct{}{}
	}
	ch, ok := l.waiters[s]
	if !ok {
		ch = make(chan struct{})
		l.waiters[s] = ch
	}
	l.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("the log did not show %q within 10s; it holds:\n%s", s, l.String())
	}
}

// procEnv is a node with one process pool running the test worker.
type procEnv struct {
	n      *actors.Node
	log    *logWatch
	pidDir string // the test worker writes a file per process here
}

func newProcEnv(t *testing.T, pool actors.PoolConfig, pc actors.ProcessConfig, opts ...actors.Option) *procEnv {
	t.Helper()
	e := &procEnv{log: &logWatch{}, pidDir: t.TempDir()}
	pc.Command = actors.BuildTestWorker(t)
	if pc.Env == nil {
		pc.Env = os.Environ()
	}
	pc.Env = append(pc.Env, "DROVER_TESTWORKER_PIDDIR="+e.pidDir)
	if pool.Name == "" {
		pool.Name = "proc"
	}
	pool.Kind = actors.KindProcess
	pool.Process = &pc
	if pool.Workers == 0 {
		pool.Workers = 1
	}
	if pool.StuckGrace == 0 {
		pool.StuckGrace = time.Minute // the backend kills overrunning children itself
	}
	l := hclog.New(&hclog.LoggerOptions{Output: e.log, Level: hclog.Debug})
	e.n = newNode(t, append([]actors.Option{actors.WithPool(pool), actors.WithLogger(l)}, opts...)...)
	return e
}

func (e *procEnv) submit(t *testing.T, typ, payload string, timeout time.Duration) *actors.Future {
	t.Helper()
	f, err := e.n.Submit(context.Background(), actors.Task{Type: typ, Payload: []byte(payload), Timeout: timeout})
	require.NoError(t, err)
	return f
}

func (e *procEnv) run(t *testing.T, typ, payload string) actors.Result {
	t.Helper()
	return wait(t, e.submit(t, typ, payload, 0))
}

// pid asks a worker process for its process id.
func (e *procEnv) pid(t *testing.T) int {
	t.Helper()
	r := e.run(t, "pid", "")
	require.NoError(t, r.Err)
	pid, err := strconv.Atoi(string(r.Output))
	require.NoError(t, err)
	return pid
}

// pids returns every process the test worker started as.
func (e *procEnv) pids(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir(e.pidDir)
	require.NoError(t, err)
	var pids []int
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	return pids
}

// shutdown stops the node and checks that every worker process it started
// is gone and reaped (a zombie keeps its /proc entry).
func (e *procEnv) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.n.Shutdown(ctx)
	require.NoError(t, err)
	pids := e.pids(t)
	require.NotEmpty(t, pids)
	for _, pid := range pids {
		assert.False(t, alive(pid), "process %d is left after Shutdown", pid)
	}
}

func alive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

func TestProcessWorkerRunsTasks(t *testing.T) {
	e := newProcEnv(t, actors.PoolConfig{Workers: 2, Concurrency: 4}, actors.ProcessConfig{})
	var fs []*actors.Future
	for i := range 50 {
		fs = append(fs, e.submit(t, "echo", strconv.Itoa(i), 0))
	}
	for i, f := range fs {
		r := wait(t, f)
		require.NoError(t, r.Err)
		assert.Equal(t, strconv.Itoa(i), string(r.Output))
		assert.Contains(t, r.Worker, "proc/w")
	}

	cases := []struct {
		name, typ, payload string
		check              func(t *testing.T, r actors.Result)
	}{
		{"handler error", "fail", "x", func(t *testing.T, r actors.Result) {
			require.EqualError(t, r.Err, "failed: x")
		}},
		{"no handler", "nope", "", func(t *testing.T, r actors.Result) {
			require.ErrorIs(t, r.Err, actors.ErrNoHandler)
			assert.Contains(t, r.Err.Error(), `no handler for task type "nope"`)
		}},
		{"panic", "panic", "kaboom", func(t *testing.T, r actors.Result) {
			require.ErrorIs(t, r.Err, actors.ErrPanic)
			var pe *actors.PanicError
			require.ErrorAs(t, r.Err, &pe)
			assert.Equal(t, "kaboom", pe.Value)
			assert.Contains(t, string(pe.Stack), "testworker/main.go")
		}},
		{"print goes to stderr", "print", "printed line", func(t *testing.T, r actors.Result) {
			require.NoError(t, r.Err)
			e.log.waitFor(t, "printed line")
		}},
	}
	before := e.pids(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, e.run(t, c.typ, c.payload)) })
	}
	assert.ElementsMatch(t, before, e.pids(t), "the children survive handler errors and panics")
	assert.Zero(t, e.n.Stats().Pools[0].Restarts)

	t.Run("environment and directory", func(t *testing.T) {
		dir := t.TempDir()
		e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{Dir: dir, Env: []string{"DROVER_TEST_VAR=set"}})
		assert.Equal(t, "set", string(e.run(t, "getenv", "DROVER_TEST_VAR").Output))
		assert.Equal(t, dir, string(e.run(t, "cwd", "").Output))
	})

	// stderr is logged line by line under the worker's name.
	e.log.waitFor(t, "proc/w0: testworker: serving")
	e.log.waitFor(t, "proc/w1: testworker: serving")
	e.shutdown(t)
	assert.Contains(t, e.log.String(), "worker process stopped")
}

// TestProcessWorkerCrashes kills a worker process in every way it can die
// under a task: the task fails with ErrWorkerCrashed, the node goes on, the
// worker restarts with a new process, and the old one is reaped.
func TestProcessWorkerCrashes(t *testing.T) {
	cases := []struct {
		name  string
		crash func(t *testing.T, e *procEnv, pid int) *actors.Future
		msg   string
	}{
		{"exit", func(t *testing.T, e *procEnv, _ int) *actors.Future {
			return e.submit(t, "exit", "", 0)
		}, "exited: exit status 3"},
		{"segfault", func(t *testing.T, e *procEnv, _ int) *actors.Future {
			return e.submit(t, "segfault", "", 0)
		}, "exited: exit status 2"},
		{"killed", func(t *testing.T, e *procEnv, pid int) *actors.Future {
			f := e.submit(t, "hang", "to be killed", 0)
			e.log.waitFor(t, "testworker: hang to be killed")
			require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
			return f
		}, "exited: signal: killed"},
		{"garbage on stdout", func(t *testing.T, e *procEnv, _ int) *actors.Future {
			return e.submit(t, "garbage", "", 0)
		}, "broke the protocol: procworker: corrupt frame"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{KillGrace: 200 * time.Millisecond})
			pid := e.pid(t)
			r := wait(t, c.crash(t, e, pid))
			require.ErrorIs(t, r.Err, actors.ErrWorkerCrashed)
			assert.Contains(t, r.Err.Error(), c.msg)
			assert.Contains(t, r.Err.Error(), fmt.Sprintf("proc/w0: process %d", pid))

			next := e.pid(t)
			assert.NotEqual(t, pid, next, "a new process serves")
			assert.Equal(t, uint64(1), e.n.Stats().Pools[0].Restarts)
			assert.False(t, alive(pid), "the dead process is reaped")
			e.shutdown(t)
		})
	}
}

// TestProcessWorkerIdleDeath: a process that dies with no task is replaced
// at the next task, which does not fail.
func TestProcessWorkerIdleDeath(t *testing.T) {
	e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{})
	pid := e.pid(t)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	e.log.waitFor(t, "worker process died")
	assert.NotEqual(t, pid, e.pid(t))
	e.shutdown(t)
}

func TestProcessWorkerTimeout(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		typ     string
		restart bool   // the process is killed and the worker restarts
		log     string // what the log shows
	}{
		{"handler honours the cancel", nil, "sleep", false, ""},
		{"hang: SIGTERM", nil, "hang", true, "killing worker process: a canceled task did not end"},
		{"hang, SIGTERM ignored: SIGKILL", []string{"-ignore-term"}, "hang", true, "did not exit after SIGTERM; sending SIGKILL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{Args: c.args, KillGrace: 100 * time.Millisecond})
			pid := e.pid(t)
			start := time.Now()
			r := wait(t, e.submit(t, c.typ, "1h", 50*time.Millisecond))
			require.ErrorIs(t, r.Err, actors.ErrTimeout)
			assert.Less(t, time.Since(start), 5*time.Second)

			next := e.pid(t)
			if c.restart {
				assert.NotEqual(t, pid, next)
				assert.False(t, alive(pid), "the hung process is killed and reaped")
				assert.Equal(t, uint64(1), e.n.Stats().Pools[0].Restarts)
				e.log.waitFor(t, c.log)
			} else {
				assert.Equal(t, pid, next, "the same process serves")
				assert.Zero(t, e.n.Stats().Pools[0].Restarts)
			}
			e.shutdown(t)
		})
	}
}

func TestProcessWorkerCancel(t *testing.T) {
	e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{})
	pid := e.pid(t)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := e.n.Submit(context.Background(), actors.Task{Type: "sleep", Payload: []byte("1h"), Context: ctx})
	require.NoError(t, err)
	cancel()
	require.ErrorIs(t, wait(t, f).Err, actors.ErrCanceled)
	assert.Equal(t, pid, e.pid(t))
	e.shutdown(t)
}

func TestProcessWorkerStartFails(t *testing.T) {
	cases := []struct {
		name string
		pc   actors.ProcessConfig
		msg  string
	}{
		{"never ready", actors.ProcessConfig{Args: []string{"-never-ready"}, StartTimeout: 100 * time.Millisecond},
			"did not answer the handshake within 100ms (StartTimeout); killed"},
		{"other protocol version", actors.ProcessConfig{Args: []string{"-bad-version"}},
			"speaks protocol version 99; allowed: 1"},
		{"exits at once", actors.ProcessConfig{Args: []string{"-exit-at-start", "4"}},
			"exited: exit status 4 before the handshake"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var reasons []string
			hook := actors.WithEventHook(func(ev supervision.Event) {
				if f, ok := ev.(supervision.WorkerFailed); ok {
					mu.Lock()
					reasons = append(reasons, f.Reason.Error())
					mu.Unlock()
				}
			})
			c.pc.KillGrace = 100 * time.Millisecond
			e := newProcEnv(t, actors.PoolConfig{
				Restarts:     supervision.Intensity{MaxRestarts: 1, Window: time.Minute},
				PoolRestarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts},
			}, c.pc, hook)
			f := e.submit(t, "echo", "never runs", 0)
			r := wait(t, f)
			require.ErrorIs(t, r.Err, actors.ErrWorkerCrashed)
			mu.Lock()
			require.NotEmpty(t, reasons)
			assert.Contains(t, reasons[0], c.msg)
			mu.Unlock()
			e.shutdown(t)
		})
	}
}

func TestProcessWorkerMissingBinary(t *testing.T) {
	pc := actors.ProcessConfig{Command: "/nonexistent/worker"}
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "proc", Kind: actors.KindProcess, Workers: 1, Process: &pc,
		Restarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts}, PoolRestarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts}}))
	f, err := n.Submit(context.Background(), actors.Task{Type: "echo"})
	if err == nil {
		require.ErrorIs(t, wait(t, f).Err, actors.ErrWorkerCrashed)
	} else {
		require.ErrorIs(t, err, actors.ErrWorkerCrashed, "the pool has already failed")
	}
}

// TestProcessWorkerStartError: a command that cannot start keeps the pool
// from being ready, shows in its stats, and is logged at Error once
// however often the worker restarts.
func TestProcessWorkerStartError(t *testing.T) {
	lw := &logWatch{}
	restarted := make(chan struct{}, 100)
	hook := actors.WithEventHook(func(ev supervision.Event) {
		if _, ok := ev.(supervision.WorkerRestarted); ok {
			restarted <- struct{}{}
		}
	})
	pc := actors.ProcessConfig{Command: "/nonexistent/worker"}
	n := newNode(t, hook, actors.WithLogger(hclog.New(&hclog.LoggerOptions{Output: lw, Level: hclog.Error})),
		actors.WithPool(actors.PoolConfig{Name: "proc", Kind: actors.KindProcess, Workers: 1, Process: &pc,
			Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}))
	for range 3 {
		select {
		case <-restarted:
		case <-time.After(10 * time.Second):
			t.Fatal("the worker did not restart")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, n.WaitReady(ctx), context.DeadlineExceeded, "the pool never gets ready")
	assert.Contains(t, n.Stats().Pools[0].StartError, "procworker: start /nonexistent/worker: fork/exec /nonexistent/worker: no such file or directory")
	assert.Equal(t, 1, strings.Count(lw.String(), "[ERROR]"), "one line for the same cause:\n%s", lw.String())
	assert.Contains(t, lw.String(), "worker process cannot start")
}

// TestProcessWorkerStartAbortedByShutdown: a worker whose child has not
// answered its handshake when the node stops does not hold the stop up,
// and its child is killed and reaped.
func TestProcessWorkerStartAbortedByShutdown(t *testing.T) {
	grace := 200 * time.Millisecond
	e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{Args: []string{"-never-ready"}, StartTimeout: time.Hour, KillGrace: grace})
	e.log.waitFor(t, "worker process started")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.n.Shutdown(ctx)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), grace+time.Second, "no stall on the actor's stop timeout")
	m := regexp.MustCompile(`worker process started: pid=(\d+)`).FindStringSubmatch(e.log.String())
	require.NotNil(t, m)
	pid, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	assert.False(t, alive(pid), "the child is killed and reaped")
}

// restartWatch records the WorkerRestarted events of a node.
type restartWatch struct {
	mu      sync.Mutex
	reasons []string
}

func (w *restartWatch) hook() actors.Option {
	return actors.WithEventHook(func(ev supervision.Event) {
		if r, ok := ev.(supervision.WorkerRestarted); ok {
			w.mu.Lock()
			w.reasons = append(w.reasons, r.Reason)
			w.mu.Unlock()
		}
	})
}

func (w *restartWatch) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.reasons...)
}

// TestProcessWorkerRecycles: a process is replaced after MaxTasks tasks or
// once it is over MaxMemoryBytes, without failing a task; each recycle
// counts as a restart and is reported with its reason.
func TestProcessWorkerRecycles(t *testing.T) {
	t.Run("MaxTasks", func(t *testing.T) {
		var rw restartWatch
		e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{MaxTasks: 3}, rw.hook())
		var pids []int
		for range 7 {
			pids = append(pids, e.pid(t))
		}
		a, b, c := pids[0], pids[3], pids[6]
		assert.Equal(t, []int{a, a, a, b, b, b, c}, pids)
		assert.NotEqual(t, a, b)
		assert.NotEqual(t, b, c)
		st := e.n.Stats().Pools[0]
		assert.Equal(t, uint64(2), st.Restarts, "two recycles")
		assert.Equal(t, uint64(2), st.WorkerStats[0].Restarts)
		assert.Zero(t, st.Failed)
		e.shutdown(t) // delivers the events
		assert.Equal(t, []string{"recycled: it was given MaxTasks (3) tasks", "recycled: it was given MaxTasks (3) tasks"}, rw.get())
		assert.Len(t, e.pids(t), 3)
	})
	t.Run("MaxMemoryBytes", func(t *testing.T) {
		var rw restartWatch
		e := newProcEnv(t, actors.PoolConfig{}, actors.ProcessConfig{MaxMemoryBytes: 64 << 20}, rw.hook())
		before := e.pid(t)
		r := e.run(t, "alloc", "96")
		require.NoError(t, r.Err, "the task over the limit succeeds")
		assert.Equal(t, strconv.Itoa(before), string(r.Output))
		after := e.pid(t)
		assert.NotEqual(t, before, after, "the next task runs in a new process")
		assert.Equal(t, uint64(1), e.n.Stats().Pools[0].Restarts)
		e.log.waitFor(t, "recycling worker process")
		e.shutdown(t)
		assert.Contains(t, e.log.String(), "exceeds MaxMemoryBytes 67108864")
		require.Len(t, rw.get(), 1)
		assert.Contains(t, rw.get()[0], "recycled: resident memory ")
	})
}

// TestProcessWorkerConcurrentCrash: a process that dies with several tasks
// in flight fails them all, and the worker restarts once; tasks that were
// not sent to it do not fail.
func TestProcessWorkerConcurrentCrash(t *testing.T) {
	e := newProcEnv(t, actors.PoolConfig{Concurrency: 4}, actors.ProcessConfig{KillGrace: 200 * time.Millisecond})
	pid := e.pid(t)
	var fs []*actors.Future
	for i := range 3 {
		fs = append(fs, e.submit(t, "hang", strconv.Itoa(i), 0))
	}
	for i := range 3 {
		e.log.waitFor(t, "testworker: hang "+strconv.Itoa(i))
	}
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	for _, f := range fs {
		require.ErrorIs(t, wait(t, f).Err, actors.ErrWorkerCrashed)
	}
	// Tasks that reach the worker while it restarts are not sent to the
	// dead child: they run on the next one. (Tasks written to the pipe
	// before the kill took effect would be lost with the child: the test
	// waits for the crash to be seen first.)
	var later []*actors.Future
	for i := range 8 {
		later = append(later, e.submit(t, "echo", strconv.Itoa(i), 0))
	}
	for i, f := range later {
		r := wait(t, f)
		require.NoError(t, r.Err, "task %d was never sent to the dead child", i)
		assert.Equal(t, strconv.Itoa(i), string(r.Output))
	}
	assert.NotEqual(t, pid, e.pid(t))
	assert.Equal(t, uint64(1), e.n.Stats().Pools[0].Restarts)
	e.shutdown(t)
}

func TestProcessConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		pc   actors.ProcessConfig
		msg  string
	}{
		{"no command", actors.ProcessConfig{}, "Process.Command is empty"},
		{"start timeout", actors.ProcessConfig{Command: "w", StartTimeout: -1}, "Process.StartTimeout is -1ns; allowed: 0 (default 10s) or more"},
		{"kill grace", actors.ProcessConfig{Command: "w", KillGrace: -time.Second}, "Process.KillGrace is -1s; allowed: 0 (default 2s) or more"},
		{"memory", actors.ProcessConfig{Command: "w", MaxMemoryBytes: -1}, "Process.MaxMemoryBytes is -1; allowed: 0 (no limit) or more"},
		{"tasks", actors.ProcessConfig{Command: "w", MaxTasks: -2}, "Process.MaxTasks is -2; allowed: 0 (no limit) or more"},
		{"stderr level", actors.ProcessConfig{Command: "w", StderrLevel: hclog.Off}, "Process.StderrLevel is 6; allowed: 0 (info) or trace to error (1 to 5)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pc := c.pc
			_, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "p", Kind: actors.KindProcess, Process: &pc}))
			require.ErrorIs(t, err, actors.ErrInvalidConfig)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestProcessWorkerReportsCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread CPU clocks are read on linux only")
	}
	e := newProcEnv(t, actors.PoolConfig{Workers: 1}, actors.ProcessConfig{})
	r := e.run(t, "spin", "30ms")
	require.NoError(t, r.Err)
	assert.Greater(t, r.CPU, 10*time.Millisecond, "the child's handler spun for 30 ms of CPU")
	assert.Less(t, r.CPU, 10*time.Second)
}
