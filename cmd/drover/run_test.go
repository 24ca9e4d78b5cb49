package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
)

// testNodeConfig is a node with two small pools whose admin endpoint takes
// a free port on loopback.
const testNodeConfig = `name          = "e2e"
drain_timeout = "20s"

log {
  level = "info"
}

admin {
  address = "127.0.0.1:0"
}

pool "alpha" {
  kind    = "cpu"
  workers = 1
}

pool "beta" {
  kind        = "io"
  workers     = 2
  concurrency = 4
  strategy    = "least-busy"
}
`

// badConfig has two problems, on lines 3 and 4.
const badConfig = `name = "bad"
pool "cpu" {
  workers = -1
  wokers  = 2
}
`

// writeConfig writes src to a file named name in a temporary directory and
// returns its path.
func writeConfig(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	return path
}

// syncBuffer is a bytes.Buffer that is safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startedNode is what runOptions.started reports.
type startedNode struct {
	n    *actors.Node
	addr net.Addr
}

// testClient makes one connection per request, so that no idle connection
// outlives a test.
func testClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// get returns the status code and body of GET url.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestRunNode runs a node in process: the built-in task types, the admin
// endpoint, and a graceful stop when the context ends.
func TestRunNode(t *testing.T) {
	file := writeConfig(t, "node.hcl", testNodeConfig)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs syncBuffer
	up := make(chan startedNode, 1)
	o := runOptions{ConfigFile: file, started: func(n *actors.Node, a net.Addr) { up <- startedNode{n, a} }}
	errc := make(chan error, 1)
	go func() { errc <- runNode(ctx, o, &logs, nil) }()
	var s startedNode
	select {
	case s = <-up:
	case err := <-errc:
		t.Fatalf("runNode returned before starting: %v; logs:\n%s", err, logs.String())
	}

	tests := []struct {
		name, taskType, pool, payload string
		want                          string
		wantErr                       error
	}{
		{"echo", taskEcho, "alpha", "hello", "hello", nil},
		{"hash", taskHash, "beta", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", nil},
		{"sleep", taskSleep, "beta", "1ms", "", nil},
		{"sleep with a bad payload", taskSleep, "alpha", "soon", "", errBadSleep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := s.n.Submit(ctx, actors.Task{Type: tt.taskType, Pool: tt.pool, Payload: []byte(tt.payload)})
			require.NoError(t, err)
			res, err := f.Wait(ctx)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(res.Output))
		})
	}

	c := testClient()
	base := "http://" + s.addr.String()
	code, _ := get(t, c, base+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	var st admin.Status
	_, body := get(t, c, base+"/status")
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	assert.Equal(t, uint64(len(tests)), st.Totals.Submitted)

	cancel()
	require.NoError(t, <-errc)
	assert.True(t, s.n.Draining())
	<-s.n.Done()
	_, err := c.Get(base + "/healthz")
	assert.Error(t, err, "the admin endpoint has stopped")

	out := logs.String()
	assert.Contains(t, out, "[INFO]  e2e: node started: config="+file)
	assert.Contains(t, out, `task_types="echo, hash, sleep"`)
	assert.Contains(t, out, "[INFO]  e2e: admin listening: addr="+s.addr.String())
	assert.Contains(t, out, "[INFO]  e2e: draining: reason=")
	assert.Contains(t, out, "[INFO]  e2e: node stopped: drained=0 failed=0 abandoned=0")
	assert.NotContains(t, out, "reachable from other machines", "loopback")
}

// TestRunSecondSignal: a second signal during the drain stops at once with
// status 130; the task still running fails with "shutting down".
func TestRunSecondSignal(t *testing.T) {
	file := writeConfig(t, "node.hcl", strings.Replace(testNodeConfig, `"20s"`, `"1h"`, 1))
	sigs := make(chan os.Signal, 2)
	var logs syncBuffer
	var n *actors.Node
	var sleeping *actors.Future
	o := runOptions{ConfigFile: file, started: func(node *actors.Node, _ net.Addr) {
		n = node
		var err error
		sleeping, err = n.Submit(t.Context(), actors.Task{Type: taskSleep, Pool: "alpha", Payload: []byte("1h")})
		require.NoError(t, err)
		// runNode takes the first before it drains, the second while the
		// sleeping task holds the drain.
		sigs <- syscall.SIGTERM
		sigs <- os.Interrupt
	}}
	err := runNode(t.Context(), o, &logs, sigs)
	require.Error(t, err)
	assert.Equal(t, exitInterrupted, exitCode(err))
	assert.ErrorContains(t, err, "stopped by a second signal (interrupt) before the drain finished")

	require.NotNil(t, n)
	<-n.Done() // the shutdown goes on after runNode returns
	_, err = sleeping.Wait(t.Context())
	assert.ErrorIs(t, err, actors.ErrShuttingDown)
	out := logs.String()
	assert.Contains(t, out, "draining: reason=terminated drain_timeout=1h0m0s")
	assert.Contains(t, out, "[ERROR] e2e: second signal: stopping without finishing the drain: signal=interrupt")
	assert.NotContains(t, out, "node stopped")
}

func TestRunFailures(t *testing.T) {
	bad := writeConfig(t, "bad.hcl", badConfig)
	good := writeConfig(t, "node.hcl", testNodeConfig)
	unclosed := writeConfig(t, "unclosed.hcl", "pool \"cpu\" {\n  workers = 1\n")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	tests := []struct {
		name string
		args []string
		code int
		want []string // lines, or parts of lines, of stderr
	}{
		{"invalid configuration", []string{"--config", bad}, exitUsage, []string{
			"drover: " + bad + " is not a valid configuration (2 problems):\n",
			"\n" + bad + `:3:13: pool "cpu": workers is -1; allowed: 1 to 65536` + "\n",
			"\n" + bad + `:4:3: pool "cpu": unknown field "wokers"; allowed: kind, workers,`,
			"Run 'drover run --help' for usage.",
		}},
		{"syntax error", []string{"--config", unclosed}, exitUsage, []string{
			"(1 problem):\n" + unclosed + ":1:",
		}},
		{"missing file", []string{"--config", filepath.Join(t.TempDir(), "none.hcl")}, exitUsage, []string{
			"config: cannot read file", "none.hcl: no such file or directory",
		}},
		{"no config", nil, exitUsage, []string{"--config is missing; allowed: the path of"}},
		{"bad admin address", []string{"--config", good, "--admin", "nope"}, exitUsage, []string{
			`--admin is "nope"; allowed: host:port with a port from 0 to 65535`,
		}},
		{"bad log level", []string{"--config", good, "--log-level", "loud"}, exitUsage, []string{
			`--log-level is "loud"; allowed: trace, debug, info, warn, error, off`,
		}},
		{"positional argument", []string{"--config", good, "now"}, exitUsage, []string{`unexpected argument "now"`}},
		{"admin address taken", []string{"--config", good, "--admin", taken.Addr().String()}, exitFailure, []string{
			"admin: cannot listen on " + taken.Addr().String() + ": ", "(set admin.address in " + good + ", or --admin)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"run"}, tt.args...)...)
			assert.Equal(t, tt.code, code, "stderr: %s", stderr)
			for _, w := range tt.want {
				assert.Contains(t, stderr, w)
			}
			assert.Empty(t, stdout)
		})
	}
}

func TestLoadRunConfig(t *testing.T) {
	file := writeConfig(t, "node.hcl", testNodeConfig)
	tests := []struct {
		name      string
		o         runOptions
		wantAddr  string
		wantLevel hclog.Level
	}{
		{"as the file says", runOptions{ConfigFile: file}, "127.0.0.1:0", hclog.Info},
		{"--admin", runOptions{ConfigFile: file, Admin: "0.0.0.0:9999"}, "0.0.0.0:9999", hclog.Info},
		{"--log-level", runOptions{ConfigFile: file, LogLevel: "warn"}, "127.0.0.1:0", hclog.Warn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadRunConfig(tt.o)
			require.NoError(t, err)
			assert.Equal(t, tt.wantAddr, cfg.Admin.Address)
			assert.Equal(t, tt.wantLevel, cfg.Log.Level)
			assert.Equal(t, "e2e", cfg.Name)
			assert.Len(t, cfg.Pools, 2)
		})
	}
}

func TestBuiltinHandlers(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		taskType string
		ctx      context.Context
		payload  string
		want     string
		wantErr  error
	}{
		{"echo", taskEcho, t.Context(), "payload", "payload", nil},
		{"echo empty", taskEcho, t.Context(), "", "", nil},
		{"hash", taskHash, t.Context(), "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil},
		{"sleep", taskSleep, t.Context(), "1ms", "", nil},
		{"sleep zero", taskSleep, t.Context(), "0s", "", nil},
		{"sleep honours its context", taskSleep, canceled, "1h", "", context.Canceled},
		{"sleep not a duration", taskSleep, t.Context(), "soon", "", errBadSleep},
		{"sleep negative", taskSleep, t.Context(), "-1s", "", errBadSleep},
		{"sleep too long", taskSleep, t.Context(), "25h", "", errBadSleep},
	}
	handlers := builtinHandlers()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := handlers[tt.taskType]
			require.NotNil(t, h)
			out, err := h(tt.ctx, []byte(tt.payload))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(out))
		})
	}
	t.Run("a bad sleep names the allowed range", func(t *testing.T) {
		_, err := sleepTask(t.Context(), []byte("soon"))
		assert.EqualError(t, err, `drover run: sleep payload is not a duration: payload is "soon"; allowed: a duration from 0s to 24h, such as "250ms"`)
	})
}

// adminLine matches the log line that gives the admin endpoint's address.
var adminLine = regexp.MustCompile(`admin listening: addr=(127\.0\.0\.1:\d+)`)

// runProcess is a `drover run` process under test, its stderr collected.
type runProcess struct {
	cmd      *exec.Cmd
	logs     syncBuffer
	readDone chan struct{} // closed once stderr has ended
	waited   bool
}

// startRun starts `drover run --config file` with env added to the
// environment, and waits until each pattern has matched a line of its log,
// returning the first submatch of each. The process is killed at the end of
// the test unless terminate has reaped it.
func startRun(ctx context.Context, t *testing.T, bin, file string, env []string, patterns ...*regexp.Regexp) (*runProcess, []string) {
	t.Helper()
	p := &runProcess{cmd: exec.CommandContext(ctx, bin, "run", "--config", file), readDone: make(chan struct{})}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	stderr, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		if !p.waited { // a failed check: stop the node
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	matches := make([]chan string, len(patterns))
	for i := range matches {
		matches[i] = make(chan string, 1)
	}
	go func() {
		defer close(p.readDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.logs.Write([]byte(line + "\n"))
			for i, re := range patterns {
				if m := re.FindStringSubmatch(line); m != nil {
					select {
					case matches[i] <- m[1]:
					default: // only the first match counts
					}
				}
			}
		}
	}()
	found := make([]string, len(patterns))
	for i := range patterns {
		select {
		case found[i] = <-matches[i]:
		case <-p.readDone:
			t.Fatalf("drover run ended before logging %q:\n%s", patterns[i], p.logs.String())
		case <-ctx.Done():
			t.Fatalf("drover run did not log %q in time:\n%s", patterns[i], p.logs.String())
		}
	}
	return p, found
}

// terminate sends SIGTERM, waits for the process to end and returns its
// whole log and its exit error.
func (p *runProcess) terminate(ctx context.Context, t *testing.T) (string, error) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.readDone:
	case <-ctx.Done():
		t.Fatalf("drover run did not stop on SIGTERM:\n%s", p.logs.String())
	}
	err := p.cmd.Wait()
	p.waited = true
	return p.logs.String(), err
}

// TestRunEndToEnd builds the command, runs a node from a file, looks at it
// through the admin endpoint and `drover status`, and stops it with SIGTERM.
func TestRunEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	file := writeConfig(t, "node.hcl", testNodeConfig)

	p, found := startRun(ctx, t, bin, file, nil, adminLine)
	addr := found[0]

	c := testClient()
	base := "http://" + addr
	t.Run("healthz and readyz", func(t *testing.T) {
		code, body := get(t, c, base+"/healthz")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok\n", body)
		code, _ = get(t, c, base+"/readyz")
		assert.Equal(t, http.StatusOK, code)
	})
	t.Run("metrics", func(t *testing.T) {
		code, body := get(t, c, base+"/metrics")
		assert.Equal(t, http.StatusOK, code)
		for _, want := range []string{
			"drover_tasks_submitted_total", "drover_workers", "drover_queue_capacity",
			`pool="alpha"`, `pool="beta"`, "drover_node_ready 1", "go_goroutines",
		} {
			assert.Contains(t, body, want)
		}
	})
	t.Run("status", func(t *testing.T) {
		code, body := get(t, c, base+"/status")
		assert.Equal(t, http.StatusOK, code)
		var st admin.Status
		require.NoError(t, json.Unmarshal([]byte(body), &st))
		assert.Equal(t, "e2e", st.Node)
		assert.True(t, st.Ready)
		require.Len(t, st.Pools, 2)
		assert.Equal(t, "alpha", st.Pools[0].Name)
		assert.Equal(t, "cpu", st.Pools[0].Kind)
		assert.Equal(t, 1, st.Pools[0].Workers)
		assert.Equal(t, "beta", st.Pools[1].Name)
		assert.Equal(t, "least-busy", st.Pools[1].Strategy)
		assert.Equal(t, 2, st.Pools[1].Workers)
	})
	t.Run("drover status", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, bin, "status", "--addr", addr).Output()
		require.NoError(t, err)
		for _, want := range []string{"node e2e (ready)", "POOL", "QUEUED (C/H/N/L)", "alpha", "beta", "alpha/w0", "beta/w1", "idle"} {
			assert.Contains(t, string(out), want)
		}
	})
	t.Run("drover status --json", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, bin, "status", "--addr", addr, "--json").Output()
		require.NoError(t, err)
		var st admin.Status
		require.NoError(t, json.Unmarshal(out, &st), "stdout: %s", out)
		require.Len(t, st.Pools, 2)
		assert.Equal(t, []string{"alpha", "beta"}, []string{st.Pools[0].Name, st.Pools[1].Name})
		assert.Len(t, st.Pools[1].WorkerList, 2)
	})

	out, err := p.terminate(ctx, t)
	require.NoError(t, err, "exit status 0 after SIGTERM; logs:\n%s", out)
	assert.Contains(t, out, "e2e: draining: reason=terminated drain_timeout=20s")
	assert.Contains(t, out, "e2e: node stopped: drained=0 failed=0 abandoned=0")
}

// TestRunBinaryConfigError runs the built command on a bad file.
func TestRunBinaryConfigError(t *testing.T) {
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	bad := writeConfig(t, "bad.hcl", badConfig)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "run", "--config", bad)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitUsage, ee.ExitCode())
	assert.Contains(t, stderr.String(), "\n"+bad+`:3:13: pool "cpu": workers is -1; allowed: 1 to 65536`+"\n")
	assert.Contains(t, stderr.String(), "\n"+bad+`:4:3: pool "cpu": unknown field "wokers"`)
}

// TestRunProtoactorMetrics checks that --protoactor-metrics adds
// protoactor's own metrics to /metrics, beside Drover's.
func TestRunProtoactorMetrics(t *testing.T) {
	file := writeConfig(t, "node.hcl", testNodeConfig)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs syncBuffer
	up := make(chan startedNode, 1)
	o := runOptions{ConfigFile: file, ProtoactorMetrics: true, started: func(n *actors.Node, a net.Addr) { up <- startedNode{n, a} }}
	errc := make(chan error, 1)
	go func() { errc <- runNode(ctx, o, &logs, nil) }()
	var s startedNode
	select {
	case s = <-up:
	case err := <-errc:
		t.Fatalf("runNode returned before starting: %v; logs:\n%s", err, logs.String())
	}
	code, body := get(t, testClient(), "http://"+s.addr.String()+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "protoactor_actor_spawn_count", "protoactor counts the node's actors")
	assert.Contains(t, body, "drover_tasks_submitted_total")
	cancel()
	require.NoError(t, <-errc)
}
