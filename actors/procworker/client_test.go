package procworker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/drover-go/drover/actors/internal/testbin"
	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

func startClient(t *testing.T, cfg procworker.ClientConfig) *procworker.Client {
	t.Helper()
	cfg.Command = testbin.Worker(t)
	if cfg.Name == "" {
		cfg.Name = "p/w0"
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 2
	}
	c, err := procworker.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func call(t *testing.T, c *procworker.Client, typ, payload string) (procworker.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Call(ctx, procworker.Request{Type: typ, Payload: []byte(payload)})
}

func gone(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return os.IsNotExist(err)
}

func TestClientCalls(t *testing.T) {
	c := startClient(t, procworker.ClientConfig{})
	r, err := call(t, c, "echo", "hi")
	require.NoError(t, err)
	assert.Equal(t, "hi", string(r.Output))

	_, err = call(t, c, "fail", "x")
	var te *procworker.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_HANDLER, te.Code)
	assert.Equal(t, "failed: x", te.Message)

	_, err = call(t, c, "panic", "boom")
	require.ErrorAs(t, err, &te)
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_PANIC, te.Code)
	assert.Contains(t, te.Stack, "testworker/main.go")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx))
	if runtime.GOOS == "linux" {
		assert.Greater(t, c.RSS(), uint64(1<<20), "a Go process holds more than 1 MiB")
	}

	pid := c.PID()
	rep := c.Close(context.Background())
	assert.Equal(t, procworker.CloseReport{Exited: 1}, rep)
	assert.True(t, gone(pid), "the child is reaped")
	assert.ErrorIs(t, c.Ping(ctx), procworker.ErrNotSent, "a closed client has no child")
	_, err = call(t, c, "echo", "late")
	assert.ErrorIs(t, err, procworker.ErrNotSent)
}

func TestClientReportsCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread CPU clocks are read on linux only")
	}
	c := startClient(t, procworker.ClientConfig{})
	r, err := call(t, c, "spin", "30ms")
	require.NoError(t, err)
	assert.Greater(t, r.CPU, 10*time.Millisecond)
	assert.Less(t, r.CPU, 10*time.Second)
}

func TestClientRefusesOversizedFrame(t *testing.T) {
	c := startClient(t, procworker.ClientConfig{})
	_, err := c.Call(context.Background(), procworker.Request{Type: "echo", Payload: make([]byte, procworker.MaxFrameSize)})
	require.ErrorIs(t, err, procworker.ErrFrameTooLarge)
	require.NoError(t, c.Ping(context.Background()), "the child is untouched")
}

func TestClientStartFails(t *testing.T) {
	cases := []struct {
		name   string
		cfg    procworker.ClientConfig
		reason string
	}{
		{"missing command", procworker.ClientConfig{Command: "/nonexistent/worker"}, "fork/exec /nonexistent/worker: no such file or directory"},
		{"never ready", procworker.ClientConfig{Args: []string{"-never-ready"}, StartTimeout: 100 * time.Millisecond}, "did not answer the handshake within 100ms (StartTimeout); killed"},
		{"other version", procworker.ClientConfig{Args: []string{"-bad-version"}}, "speaks protocol version 99; allowed: 1"},
		{"exits", procworker.ClientConfig{Args: []string{"-exit-at-start", "4"}}, "exited: exit status 4 before the handshake"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg.Command == "" {
				c.cfg.Command = testbin.Worker(t)
			}
			c.cfg.KillGrace = 100 * time.Millisecond
			_, err := procworker.Start(context.Background(), c.cfg)
			require.ErrorIs(t, err, procworker.ErrStart)
			var se *procworker.StartError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, c.reason, se.Reason)
		})
	}
}

// TestClientStartHonoursContext: a child that does not answer its
// handshake is killed and reaped as soon as Start's context ends.
func TestClientStartHonoursContext(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := procworker.Start(ctx, procworker.ClientConfig{
			Command: testbin.Worker(t), Args: []string{"-never-ready"},
			Env:          append(os.Environ(), "DROVER_TESTWORKER_PIDDIR="+dir),
			StartTimeout: time.Hour, KillGrace: 100 * time.Millisecond,
		})
		done <- err
	}()
	pid := waitPIDFile(t, dir)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after its context ended")
	}
	assert.True(t, gone(pid), "the child is killed and reaped")
}

// waitPIDFile waits for the test worker to write its pid file in dir: it
// watches the directory with inotify, so it wakes on the file's creation.
func waitPIDFile(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(fd)
	_, err = unix.InotifyAddWatch(fd, dir, unix.IN_CREATE)
	require.NoError(t, err)
	buf := make([]byte, 4096)
	for {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		if len(entries) > 0 {
			pid, err := strconv.Atoi(entries[0].Name())
			require.NoError(t, err)
			return pid
		}
		_, err = unix.Read(fd, buf) // blocks until a file is created
		require.NoError(t, err)
	}
}

// TestClientKillsProcessGroup: whatever a child started dies with it, on a
// clean exit, a crash or a kill. The test process makes itself a child
// subreaper, so that the orphaned grandchild becomes its child, and waits
// for it to die by reaping it.
func TestClientKillsProcessGroup(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process group is killed after the child on linux only")
	}
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	cases := []struct {
		name string
		end  func(t *testing.T, c *procworker.Client)
	}{
		{"close", func(t *testing.T, c *procworker.Client) {
			assert.Equal(t, procworker.CloseReport{Exited: 1}, c.Close(context.Background()))
		}},
		{"crash", func(t *testing.T, c *procworker.Client) {
			_, err := call(t, c, "exit", "")
			var ce *procworker.CrashError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "exited: exit status 3", ce.Reason)
		}},
		{"killed", func(t *testing.T, c *procworker.Client) {
			require.NoError(t, syscall.Kill(c.PID(), syscall.SIGKILL))
			c.Close(context.Background())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startClient(t, procworker.ClientConfig{KillGrace: 200 * time.Millisecond})
			r, err := call(t, c, "spawn", "")
			require.NoError(t, err)
			gpid, err := strconv.Atoi(string(r.Output))
			require.NoError(t, err)
			tc.end(t, c)
			waitReaped(t, gpid)
		})
	}
}

// waitReaped waits for pid, a child of this process, to die, and reaps it.
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	type result struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for {
			_, r.err = unix.Wait4(pid, &r.ws, 0, nil)
			if r.err != unix.EINTR {
				break
			}
		}
		done <- r
	}()
	select {
	case r := <-done:
		require.NoError(t, r.err, "pid %d is a child of the test (subreaper)", pid)
		assert.True(t, r.ws.Signaled() && r.ws.Signal() == syscall.SIGKILL, "killed by SIGKILL: %v", r.ws)
	case <-time.After(10 * time.Second):
		_ = unix.Kill(pid, unix.SIGKILL)
		<-done
		t.Fatalf("process %d outlived its parent's client by 10s", pid)
	}
}

// TestClientCrashBreaks: a child that dies under tasks fails them with a
// CrashError; later calls are not sent.
func TestClientCrashBreaks(t *testing.T) {
	cfg, log := watched(procworker.ClientConfig{Concurrency: 4, KillGrace: 200 * time.Millisecond})
	c := startClient(t, cfg)
	pid := c.PID()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = call(t, c, "hang", strconv.Itoa(i))
		}()
	}
	log.waitFor(t, "testworker: hang 0")
	log.waitFor(t, "testworker: hang 1")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	wg.Wait()
	for _, err := range errs {
		var ce *procworker.CrashError
		require.ErrorAs(t, err, &ce)
		require.ErrorIs(t, err, procworker.ErrCrashed)
		assert.Equal(t, pid, ce.PID)
		assert.Equal(t, "exited: signal: killed", ce.Reason)
	}
	_, err := call(t, c, "echo", "")
	require.ErrorIs(t, err, procworker.ErrNotSent)
	assert.False(t, errors.Is(err, procworker.ErrCrashed), "not a crash of this call")
	assert.True(t, gone(pid))
}

// stderrWatch is a Logger output that tests wait on.
type stderrWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	waiters map[string]chan struct{}
}

func (l *stderrWatch) Write(p []byte) (int, error) {
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

// waitFor waits until the log contains s.
func (l *stderrWatch) waitFor(t *testing.T, s string) {
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
		t.Fatalf("the log did not show %q within 10s", s)
	}
}

func watched(cfg procworker.ClientConfig) (procworker.ClientConfig, *stderrWatch) {
	w := &stderrWatch{}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Output: w, Level: hclog.Debug})
	return cfg, w
}

func TestClientRecycles(t *testing.T) {
	var mu sync.Mutex
	var reasons []string
	c := startClient(t, procworker.ClientConfig{MaxTasks: 2, OnRecycle: func(why string) {
		mu.Lock()
		reasons = append(reasons, why)
		mu.Unlock()
	}})
	var pids []string
	for range 5 {
		r, err := call(t, c, "pid", "")
		require.NoError(t, err)
		pids = append(pids, string(r.Output))
	}
	a, b, d := pids[0], pids[2], pids[4]
	assert.Equal(t, []string{a, a, b, b, d}, pids)
	assert.NotEqual(t, a, b)
	mu.Lock()
	assert.Equal(t, []string{"it was given MaxTasks (2) tasks", "it was given MaxTasks (2) tasks"}, reasons)
	mu.Unlock()
	c.Close(context.Background())
	for _, p := range []string{a, b, d} {
		pid, _ := strconv.Atoi(p)
		assert.True(t, gone(pid), "process %d is reaped", pid)
	}
}

// TestClientCloseLadder: Close says what it took to stop the child.
func TestClientCloseLadder(t *testing.T) {
	cases := []struct {
		name string
		args []string
		task string
		want procworker.CloseReport
	}{
		{"idle: exits at shutdown", nil, "", procworker.CloseReport{Exited: 1}},
		{"busy handler: SIGTERM", nil, "sleep", procworker.CloseReport{Terminated: 1}},
		{"SIGTERM ignored: SIGKILL", []string{"-ignore-term"}, "sleep", procworker.CloseReport{Killed: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, log := watched(procworker.ClientConfig{Args: tc.args, KillGrace: 100 * time.Millisecond})
			c := startClient(t, cfg)
			pid := c.PID()
			if tc.task != "" {
				go func() { _, _ = c.Call(context.Background(), procworker.Request{Type: tc.task, Payload: []byte("1h")}) }()
				log.waitFor(t, "testworker: sleep 1h")
			}
			assert.Equal(t, tc.want, c.Close(context.Background()))
			assert.True(t, gone(pid))
		})
	}
	t.Run("context ends: SIGKILL at once", func(t *testing.T) {
		cfg, log := watched(procworker.ClientConfig{Args: []string{"-ignore-term"}, KillGrace: time.Hour})
		c := startClient(t, cfg)
		go func() { _, _ = c.Call(context.Background(), procworker.Request{Type: "sleep", Payload: []byte("1h")}) }()
		log.waitFor(t, "testworker: sleep 1h")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.Equal(t, procworker.CloseReport{Killed: 1}, c.Close(ctx))
	})
}
