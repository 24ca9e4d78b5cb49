package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

// The demo's process pool starts its children as os.Executable() with the
// argument "worker"; under go test that is this test binary. Given that
// argument (which go test never passes first), it serves as the worker,
// through the real command, before the testing package starts.
//
// Built with -race, a process sleeps 1 s as it exits (GORACE's
// atexit_sleep_ms), and a node's shutdown waits for its worker processes to
// exit: unless GORACE is set already, the children the tests start (worker
// processes and end-to-end runs of the binary) skip that sleep.
func init() {
	if len(os.Args) == 2 && os.Args[1] == workerArg {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	if _, set := os.LookupEnv("GORACE"); !set {
		_ = os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
}

// smallDemo is the options of a quick demo run.
func smallDemo() demoOptions {
	o := defaultDemoOptions()
	o.Tasks = 2000
	o.FaultRate = 0.02
	o.LogLevel = "warn"
	return o
}

// checkAccounting asserts the demo's invariants: nothing lost, and every
// accepted task counted once as completed or failed.
func checkAccounting(t *testing.T, rep *demoReport) {
	t.Helper()
	assert.Zero(t, rep.Lost, "lost")
	assert.Equal(t, rep.Submitted, rep.Completed+rep.Failed, "submitted == completed + failed")
	assert.Equal(t, rep.Failed, rep.FailedBy.Panic+rep.FailedBy.Timeout+rep.FailedBy.Canceled+rep.FailedBy.Other, "failed by reason")
	assert.Equal(t, rep.TimedOut, rep.FailedBy.Timeout)
	var completed, failed uint64
	for _, p := range rep.Pools {
		completed += p.Completed
		failed += p.Failed
	}
	assert.Equal(t, rep.Completed, completed, "pools' completed")
	assert.Equal(t, rep.Failed, failed, "pools' failed")
}

func TestRunDemoJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	rep, err := runDemo(t.Context(), func() demoOptions { o := smallDemo(); o.JSON = true; return o }(), &stdout, &stderr)
	require.NoError(t, err, "stderr: %s", stderr.String())

	checkAccounting(t, rep)
	assert.Equal(t, uint64(2000), rep.Submitted)
	assert.Zero(t, rep.Rejected)
	assert.Positive(t, rep.Failed, "faults were injected")
	assert.Positive(t, rep.Restarts, "panics restart workers")
	assert.Positive(t, rep.FailedBy.Panic)
	assert.LessOrEqual(t, rep.FailedBy.Panic, rep.Injected.Panic, "only injected faults panic")
	require.Positive(t, rep.Injected.Hang, "the seed injects hangs")
	assert.GreaterOrEqual(t, rep.TimedOut, rep.Injected.Hang, "every hung task times out")
	assert.Positive(t, rep.Latency.P50)
	assert.GreaterOrEqual(t, rep.Latency.P99, rep.Latency.P50)

	// Exactly one JSON object on stdout.
	dec := json.NewDecoder(&stdout)
	var got map[string]any
	require.NoError(t, dec.Decode(&got))
	require.ErrorIs(t, dec.Decode(new(any)), io.EOF, "one object only")

	for _, k := range []string{"submitted", "completed", "failed", "timed_out", "rejected", "lost", "restarts",
		"latency_ms", "pools", "workers_by_state", "duration_s", "tasks_per_sec", "shutdown"} {
		if k == "workers_by_state" {
			continue // a per-pool field, checked below
		}
		assert.Contains(t, got, k)
	}
	assert.EqualValues(t, 0, got["lost"])
	lat, ok := got["latency_ms"].(map[string]any)
	require.True(t, ok, "latency_ms is an object")
	assert.Contains(t, lat, "p50")
	assert.Contains(t, lat, "p99")
	shut, ok := got["shutdown"].(map[string]any)
	require.True(t, ok, "shutdown is an object")
	for _, k := range []string{"drained", "failed", "abandoned"} {
		assert.Contains(t, shut, k)
	}

	pools, ok := got["pools"].([]any)
	require.True(t, ok, "pools is an array")
	var names []string
	for _, p := range pools {
		pool, ok := p.(map[string]any)
		require.True(t, ok, "a pool is an object")
		for _, k := range []string{"name", "kind", "strategy", "workers", "min_workers", "max_workers",
			"peak_workers", "completed", "failed", "workers_by_state"} {
			assert.Contains(t, pool, k, "pool %v", pool["name"])
		}
		names = append(names, pool["name"].(string))
	}
	assert.Equal(t, []string{"cpu", "io", "mixed", "burst", "proc"}, names)
	assert.Equal(t, []any{"round-robin", "least-busy", "p2c"},
		[]any{pools[0].(map[string]any)["strategy"], pools[1].(map[string]any)["strategy"], pools[2].(map[string]any)["strategy"]})
	proc := pools[4].(map[string]any)
	assert.Equal(t, "process", proc["kind"])
	assert.Equal(t, "round-robin", proc["strategy"])
	assert.EqualValues(t, 2, proc["workers"])
	assert.EqualValues(t, 8, proc["concurrency"])
	checkProcPool(t, rep)

	// Progress went to stderr, as plain lines (not a terminal), and ended
	// with the final count.
	assert.NotContains(t, stderr.String(), "\r")
	assert.Contains(t, stderr.String(), "demo: 2000/2000 (100%) done")
}

func TestRunDemoText(t *testing.T) {
	var stdout bytes.Buffer
	o := smallDemo()
	o.Tasks = 300
	rep, err := runDemo(t.Context(), o, &stdout, io.Discard)
	require.NoError(t, err)
	checkAccounting(t, rep)
	out := stdout.String()
	for _, want := range []string{"submitted 300", "lost 0", "latency", "p50", "p99", "restarts", "shutdown",
		"POOL", "KIND", "STRATEGY", "WORKERS", "BY STATE", "COMPLETED", "FAILED", "RESTARTS",
		"cpu ", "io ", "mixed ", "proc ", "process ", "round-robin", "least-busy", "p2c"} {
		assert.Contains(t, out, want)
	}
}

// checkProcPool asserts that the process pool ran its share of the tasks,
// that its injected panics failed their tasks without restarting a worker
// (the child reports them and goes on serving), and that its hung tasks
// timed out.
func checkProcPool(t *testing.T, rep *demoReport) {
	t.Helper()
	require.Len(t, rep.Pools, 5)
	p := rep.Pools[4]
	require.Equal(t, "proc", p.Name)
	assert.Equal(t, "process", p.Kind)
	assert.Positive(t, p.Completed, "the worker processes ran tasks")
	assert.Positive(t, p.Failed, "injected faults reached the worker processes")
	assert.Zero(t, p.Restarts, "a panic in a worker process restarts nothing")
	assert.Positive(t, p.TimedOut, "hung tasks time out in the worker processes too")
}

// TestRunDemoNeverLoses runs the demo in the ways it can end early or
// strain the node, and checks that every accepted task got its result.
func TestRunDemoNeverLoses(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(*demoOptions)
		timeout time.Duration // of the run's context; 0: none
		check   func(*testing.T, *demoReport)
	}{
		{
			name: "every task panics",
			opts: func(o *demoOptions) { o.Tasks, o.FaultRate = 300, 1 },
			check: func(t *testing.T, r *demoReport) {
				// Restarting workers hold the queue up, so some tasks may
				// reach their timeout before a worker takes them.
				assert.Equal(t, r.Submitted, r.FailedBy.Panic+r.FailedBy.Timeout, "%+v", r.FailedBy)
				assert.Positive(t, r.FailedBy.Panic)
				// Panics on one worker at once make one restart.
				assert.Positive(t, r.Restarts)
				assert.LessOrEqual(t, r.Restarts, r.Submitted)
			},
		},
		{
			name: "one in flight",
			opts: func(o *demoOptions) { o.Tasks, o.Concurrency = 200, 1 },
		},
		{
			name: "no faults",
			opts: func(o *demoOptions) { o.Tasks, o.FaultRate = 500, 0 },
			check: func(t *testing.T, r *demoReport) {
				assert.Zero(t, r.Failed)
				assert.Zero(t, r.Restarts)
			},
		},
		{
			name: "duration ends the submissions",
			opts: func(o *demoOptions) { o.Tasks, o.Duration = 0, 100*time.Millisecond },
			check: func(t *testing.T, r *demoReport) {
				assert.Positive(t, r.Submitted)
			},
		},
		{
			name:    "context ends mid-run",
			opts:    func(o *demoOptions) { o.Tasks = 1 << 30 },
			timeout: 100 * time.Millisecond,
			check: func(t *testing.T, r *demoReport) {
				assert.Less(t, r.Submitted, uint64(1<<30))
			},
		},
		{
			name: "short drain",
			opts: func(o *demoOptions) { o.Tasks, o.FaultRate, o.DrainTimeout = 300, 0.1, time.Millisecond },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := smallDemo()
			tt.opts(&o)
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			rep, err := runDemo(ctx, o, io.Discard, io.Discard)
			require.NoError(t, err)
			checkAccounting(t, rep)
			if tt.check != nil {
				tt.check(t, rep)
			}
		})
	}
}

// runCLI runs one command line in process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadFlagsExitTwo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the message
	}{
		{"negative tasks", []string{"--tasks", "-1"}, "--tasks is -1; allowed: 0 or more"},
		{"zero tasks without duration", []string{"--tasks", "0"}, "--tasks is 0"},
		{"fault rate above 1", []string{"--fault-rate", "1.5"}, "--fault-rate is 1.5; allowed: 0 to 1"},
		{"negative fault rate", []string{"--fault-rate", "-0.1"}, "--fault-rate is -0.1; allowed: 0 to 1"},
		{"fault rate NaN", []string{"--fault-rate", "NaN"}, "--fault-rate is NaN; allowed: 0 to 1"},
		{"zero concurrency", []string{"--concurrency", "0"}, "--concurrency is 0; allowed: 1 to"},
		{"negative duration", []string{"--duration", "-1s"}, "--duration is -1s; allowed: 0"},
		{"zero task timeout", []string{"--task-timeout", "0s"}, "--task-timeout is 0s; allowed: more than 0"},
		{"zero drain timeout", []string{"--drain-timeout", "0s"}, "--drain-timeout is 0s; allowed: more than 0"},
		{"unknown log level", []string{"--log-level", "loud"}, `--log-level is "loud"; allowed: trace, debug`},
		{"not a number", []string{"--tasks", "many"}, `"--tasks"`},
		{"unknown flag", []string{"--tasks-per-second", "5"}, "unknown flag: --tasks-per-second"},
		{"positional argument", []string{"now"}, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"demo"}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, tt.want)
			assert.Contains(t, stderr, "drover demo --help")
			assert.Empty(t, stdout)
		})
	}

	t.Run("unknown command", func(t *testing.T) {
		code, _, stderr := runCLI(t, "dmeo")
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, `unknown command "dmeo"`)
		assert.Contains(t, stderr, `did you mean "demo"?`)
	})

	t.Run("runDemo validates too", func(t *testing.T) {
		o := smallDemo()
		o.Concurrency = -3
		_, err := runDemo(t.Context(), o, io.Discard, io.Discard)
		assert.Equal(t, exitUsage, exitCode(err))
		assert.ErrorContains(t, err, "--concurrency is -3")
	})
}

func TestHelp(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "demo", "--help")
		assert.Equal(t, exitOK, code)
		for _, flag := range []string{"--tasks", "--concurrency", "--fault-rate", "--seed", "--duration",
			"--task-timeout", "--drain-timeout", "--json", "--log-level"} {
			assert.Contains(t, stdout, flag)
		}
	})
	t.Run("root", func(t *testing.T) {
		for _, args := range [][]string{{"--help"}, {}} {
			code, stdout, _ := runCLI(t, args...)
			assert.Equal(t, exitOK, code)
			assert.Contains(t, stdout, "demo")
			assert.Contains(t, stdout, "--log-level")
			assert.NotRegexp(t, `(?m)^\s+worker\s`, stdout, "worker is a hidden command")
		}
	})
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"plain error", errors.New("boom"), exitFailure},
		{"usage", usageErrorf("--x is 1; allowed: 2"), exitUsage},
		{"wrapped usage", errors.Join(errors.New("a"), usageErrorf("--x")), exitUsage},
		{"failure", failuref("lost %d", 1), exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, exitCode(tt.err))
		})
	}
}

// TestBinaryEndToEnd builds the command and runs a small demo as a user would.
func TestBinaryEndToEnd(t *testing.T) {
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()

	t.Run("demo --json", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, bin, "demo", "--tasks", "500", "--json")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())
		var rep map[string]any
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), "stdout: %s", stdout.String())
		assert.EqualValues(t, 0, rep["lost"])
		assert.EqualValues(t, 500, rep["submitted"])
		assert.Contains(t, stderr.String(), "[INFO]  drover: demo started", "logs at info on stderr")

		// The process pool ran its tasks in children started as `drover
		// worker`, and the node's shutdown reaped them all.
		pools, ok := rep["pools"].([]any)
		require.True(t, ok, "pools is an array")
		var proc map[string]any
		for _, p := range pools {
			if m, _ := p.(map[string]any); m["name"] == poolProc {
				proc = m
			}
		}
		require.NotNil(t, proc, "a pool named proc: %v", pools)
		assert.Equal(t, "process", proc["kind"])
		assert.Positive(t, proc["completed"], "the worker processes ran tasks")
		if runtime.GOOS == "linux" {
			assert.Contains(t, stderr.String(), "worker_processes_left=0", "the demo counted no child left")
			assert.Empty(t, processesOf(t, bin), "no process runs the binary once the demo has exited")
		}
	})

	t.Run("bad flag", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, bin, "demo", "--fault-rate", "2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, exitUsage, ee.ExitCode())
		assert.Contains(t, stderr.String(), "--fault-rate is 2; allowed: 0 to 1")
	})
}

// processesOf returns the pids of the processes whose executable is path,
// read from /proc (Linux only). Within the end-to-end test they can only be
// worker processes that outlived their demo: the test waits for the demo
// itself, and no other test runs meanwhile.
func processesOf(t *testing.T, path string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == path {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestWorkloadIsSeeded(t *testing.T) {
	specs := func(seed uint64) []taskSpec {
		w := newWorkload(seed, 0.1, time.Second)
		out := make([]taskSpec, 500)
		for i := range out {
			out[i] = w.next()
		}
		return out
	}
	a, b, c := specs(7), specs(7), specs(8)
	assert.Equal(t, a, b, "the same seed gives the same workload")
	assert.NotEqual(t, a, c, "another seed gives another workload")

	pools := map[string]int{}
	faults := map[fault]int{}
	for _, s := range a {
		pools[s.task.Pool]++
		faults[s.fault]++
		assert.Equal(t, time.Second, s.task.Timeout)
		assert.Equal(t, fault(s.task.Payload[0]), s.fault)
		assert.NotZero(t, s.task.Priority)
	}
	assert.Len(t, pools, 5, "all five pools get tasks")
	assert.Positive(t, faults[faultPanic])
	assert.Positive(t, faults[faultNone])
}

// payload returns a task payload with fault f and work parameter param.
func payload(f fault, param uint32) []byte {
	w := newWorkload(1, 0, time.Second)
	p := w.next().task.Payload
	p[0] = byte(f)
	p[1], p[2], p[3], p[4] = byte(param), byte(param>>8), byte(param>>16), byte(param>>24)
	return p
}

func TestHandlers(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	handlers := demoHandlers()

	// Small work: 10 rounds, 10 µs; resize: 3 rounds, then 10 µs.
	params := map[string]uint32{taskHash: 10, taskFetch: 10, taskResize: 3<<16 | 10}
	for _, name := range []string{taskHash, taskFetch, taskResize} {
		h := handlers[name]
		require.NotNil(t, h, name)
		t.Run(name+"/ok", func(t *testing.T) {
			out, err := h(t.Context(), payload(faultNone, params[name]))
			require.NoError(t, err)
			assert.NotEmpty(t, out)
		})
		t.Run(name+"/panic", func(t *testing.T) {
			assert.Panics(t, func() { _, _ = h(t.Context(), payload(faultPanic, 1)) })
		})
		t.Run(name+"/hang ends with the context", func(t *testing.T) {
			_, err := h(canceled, payload(faultHang, 1))
			assert.ErrorIs(t, err, context.Canceled)
		})
		t.Run(name+"/short payload", func(t *testing.T) {
			_, err := h(t.Context(), []byte{0, 1})
			assert.ErrorIs(t, err, errBadPayload)
		})
	}

	t.Run("fetch honours its context", func(t *testing.T) {
		_, err := fetchTask(canceled, payload(faultNone, uint32(time.Hour/time.Microsecond)))
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("hash honours its context", func(t *testing.T) {
		_, err := hashTask(canceled, payload(faultNone, 1<<20))
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestFailureReasonsFollowTheSentinels(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want failureReasons
	}{
		{"panic", &actors.PanicError{Value: "x"}, failureReasons{Panic: 1}},
		{"timeout", actors.ErrTimeout, failureReasons{Timeout: 1}},
		{"canceled", actors.ErrCanceled, failureReasons{Canceled: 1}},
		{"shutting down", actors.ErrShuttingDown, failureReasons{Other: 1}},
		{"handler error", os.ErrNotExist, failureReasons{Other: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tally := &demoTally{start: time.Now()}
			tally.record(actors.Result{Err: tt.err}, time.Now())
			rep := buildReport(smallDemo(), tally, actors.NodeStats{}, actors.NodeStats{})
			assert.Equal(t, tt.want, rep.FailedBy)
			assert.Equal(t, uint64(1), rep.Failed)
			assert.Equal(t, tt.want.Timeout, rep.TimedOut)
		})
	}
}

func TestConsole(t *testing.T) {
	t.Run("terminal", func(t *testing.T) {
		var b bytes.Buffer
		c := newConsole(&b, true)
		c.progress("one", false)
		c.progress("two", false)
		_, _ = c.Write([]byte("log line\n"))
		c.progress("three", false)
		c.progress("four", true)
		_, _ = c.Write([]byte("after\n"))
		assert.Equal(t, "\rone\x1b[K\rtwo\x1b[K\r\x1b[Klog line\n\rthree\x1b[K\rfour\x1b[K\nafter\n", b.String())
	})
	t.Run("plain", func(t *testing.T) {
		var b bytes.Buffer
		c := newConsole(&b, false)
		c.progress("one", false)
		_, _ = c.Write([]byte("log line\n"))
		c.progress("two", true)
		assert.Equal(t, "one\nlog line\ntwo\n", b.String())
	})
	t.Run("a buffer is not a terminal", func(t *testing.T) {
		assert.False(t, isTerminal(&bytes.Buffer{}))
	})
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name string
		snap progressSnapshot
		want string
	}{
		{"with a total", progressSnapshot{done: 500, total: 2000, inFlight: 64, failed: 3, restarts: 2, elapsed: time.Second},
			"demo: 500/2000 (25%) done, 500 tasks/s, 64 in flight, 3 failed, 2 restarts, 1s"},
		{"no limit", progressSnapshot{done: 10, elapsed: 2 * time.Second},
			"demo: 10 done, 5 tasks/s, 0 in flight, 0 failed, 0 restarts, 2s"},
		{"at the start", progressSnapshot{total: 10},
			"demo: 0/10 (0%) done, 0 tasks/s, 0 in flight, 0 failed, 0 restarts, 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.snap.String())
		})
	}
}

func TestLostIsSubmittedMinusResults(t *testing.T) {
	tally := &demoTally{start: time.Now()}
	tally.submitted.Add(3)
	tally.record(actors.Result{}, time.Now())
	rep := buildReport(smallDemo(), tally, actors.NodeStats{}, actors.NodeStats{})
	assert.Equal(t, uint64(2), rep.Lost)
	assert.Equal(t, uint64(1), rep.Completed)
}

// workerConn is the node's side of a worker served over in-memory pipes.
type workerConn struct {
	w      *procworker.FrameWriter // node -> worker
	r      *procworker.FrameReader
	served chan error
}

func startWorker(t *testing.T, ctx context.Context) *workerConn {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &workerConn{w: procworker.NewFrameWriter(inW, 0), r: procworker.NewFrameReader(outR, 0), served: make(chan error, 1)}
	go func() {
		err := serveWorker(ctx, inR, outW)
		_ = outW.Close()
		_ = inR.Close()
		c.served <- err
	}()
	t.Cleanup(func() { _ = inW.Close(); _ = outR.Close() })
	c.send(t, &protos.Frame{Body: &protos.Frame_Hello{Hello: &protos.Hello{Version: procworker.ProtocolVersion, Worker: "proc/w0"}}})
	var f protos.Frame
	require.NoError(t, c.r.ReadFrame(&f))
	require.NotNil(t, f.GetReady(), "ready, got %s", procworker.FrameKind(&f))
	assert.Equal(t, []string{taskFetch, taskHash, taskResize}, f.GetReady().GetTypes())
	return c
}

func (c *workerConn) send(t *testing.T, frames ...*protos.Frame) {
	t.Helper()
	for _, f := range frames {
		require.NoError(t, c.w.WriteFrame(f))
	}
	require.NoError(t, c.w.Flush())
}

// results reads n result frames, by task id.
func (c *workerConn) results(t *testing.T, n int) map[string]*protos.TaskResult {
	t.Helper()
	got := map[string]*protos.TaskResult{}
	for len(got) < n {
		var f protos.Frame
		require.NoError(t, c.r.ReadFrame(&f))
		r := f.GetResult()
		require.NotNil(t, r, "a result, got %s", procworker.FrameKind(&f))
		got[r.GetTaskId()] = r
	}
	return got
}

func taskFrame(id, typ string, p []byte, timeout time.Duration) *protos.Frame {
	env := &protos.TaskEnvelope{Id: id, Type: typ, Payload: p}
	if timeout > 0 {
		env.Timeout = durationpb.New(timeout)
	}
	return &protos.Frame{Body: &protos.Frame_Task{Task: env}}
}

// TestWorkerServesTheDemoHandlers plays the node against `drover worker`'s
// server: the same handlers as the in-process pools, and an injected panic
// becomes a panic result while the worker goes on serving.
func TestWorkerServesTheDemoHandlers(t *testing.T) {
	c := startWorker(t, t.Context())
	hashed, err := hashTask(t.Context(), payload(faultNone, 10))
	require.NoError(t, err)

	c.send(t, taskFrame("1", taskHash, payload(faultNone, 10), 0), taskFrame("2", taskHash, payload(faultPanic, 10), 0))
	got := c.results(t, 2)
	assert.Equal(t, hashed, got["1"].GetOutput(), "the same handler as in process")
	assert.Nil(t, got["1"].GetError())
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_PANIC, got["2"].GetError().GetCode())
	assert.Equal(t, "drover demo: injected fault", got["2"].GetError().GetMessage())
	assert.Contains(t, got["2"].GetError().GetStack(), "readPayload")

	// After the panic, the same worker serves on.
	c.send(t,
		taskFrame("3", taskFetch, payload(faultNone, 10), 0),
		taskFrame("4", taskResize, payload(faultNone, 3<<16|10), 0),
		taskFrame("5", taskFetch, payload(faultHang, 10), time.Millisecond),
		taskFrame("6", taskHash, []byte{0}, 0),
		taskFrame("7", "echo", nil, 0),
	)
	got = c.results(t, 5)
	tests := []struct {
		id   string
		code protos.ErrorCode
		out  string
		msg  string
	}{
		{id: "3", out: "ok"},
		{id: "5", code: protos.ErrorCode_ERROR_CODE_TIMEOUT, msg: "context deadline exceeded"},
		{id: "6", code: protos.ErrorCode_ERROR_CODE_HANDLER, msg: errBadPayload.Error()},
		{id: "7", code: protos.ErrorCode_ERROR_CODE_NO_HANDLER, msg: `no handler for task type "echo"`},
	}
	for _, tt := range tests {
		t.Run("task "+tt.id, func(t *testing.T) {
			r := got[tt.id]
			require.NotNil(t, r)
			assert.Equal(t, tt.code, r.GetError().GetCode())
			assert.Contains(t, r.GetError().GetMessage(), tt.msg)
			assert.Equal(t, tt.out, string(r.GetOutput()))
		})
	}
	assert.Len(t, got["4"].GetOutput(), 32, "resize returns a SHA-256")

	c.send(t, &protos.Frame{Body: &protos.Frame_Shutdown{Shutdown: &protos.Shutdown{}}})
	require.NoError(t, <-c.served, "shutdown ends the worker cleanly")
}

func TestWorkerStopsWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	c := startWorker(t, ctx)
	c.send(t, taskFrame("1", taskFetch, payload(faultHang, 1), 0), &protos.Frame{Body: &protos.Frame_Ping{Ping: &protos.HealthPing{Seq: 1}}})
	var f protos.Frame
	require.NoError(t, c.r.ReadFrame(&f))
	require.NotNil(t, f.GetPong(), "the pong says the task before it has started")
	cancel() // as SIGTERM does
	r := c.results(t, 1)["1"]
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_CANCELED, r.GetError().GetCode())
	require.NoError(t, <-c.served, "a signal is the node asking the worker to go")
}

func TestWorkerCommand(t *testing.T) {
	code, _, stderr := runCLI(t, "worker", "extra")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `unexpected argument "extra"`)
}

// TestChildProcesses starts this test binary as a worker and counts it as
// a child until it has been reaped.
func TestChildProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	n, ok := childProcesses(exe)
	require.True(t, ok)
	require.Zero(t, n)

	cmd := exec.Command(exe, workerArg)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	n, _ = childProcesses(exe)
	assert.Equal(t, 1, n, "the worker, waiting for its hello")
	n, _ = childProcesses("/elsewhere/other")
	assert.Zero(t, n, "another command name")

	require.NoError(t, stdin.Close())
	var ee *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &ee, "a worker closed before hello fails")
	assert.Contains(t, stderr.String(), "stream closed before hello")
	n, _ = childProcesses(exe)
	assert.Zero(t, n, "reaped")
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		stat string
		comm string
		ppid int
		ok   bool
	}{
		{"plain", "42 (drover) S 7 42 42 0 -1", "drover", 7, true},
		{"spaces and parentheses", "42 (a b) (c)) Z 9 0", "a b) (c)", 9, true},
		{"no parentheses", "42 drover S 7", "", 0, false},
		{"cut short", "42 (drover) S", "", 0, false},
		{"ppid not a number", "42 (drover) S x", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comm, ppid, ok := parseStat([]byte(tt.stat))
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.comm, comm)
			assert.Equal(t, tt.ppid, ppid)
		})
	}
}
