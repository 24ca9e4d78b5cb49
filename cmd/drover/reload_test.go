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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/actors/api"
)

func TestCheckExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*/*.hcl")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"run", "--check", file}, &stdout, &stderr)
			assert.Equal(t, exitOK, code, "stderr: %s", stderr.String())
			assert.True(t, strings.HasPrefix(stdout.String(), file+": valid (node "), stdout.String())
		})
	}
}

func TestCheckBrokenFile(t *testing.T) {
	bad := writeConfig(t, "bad.hcl", badConfig+"limits {\n  cpu_percent = 500\n}\npool \"d\" {\n  workers = 9\n  max_workers = 4\n}\n")
	for _, args := range [][]string{{"run", "--check", bad}, {"run", "--check", "--config", bad}} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), args, &stdout, &stderr)
		assert.Equal(t, exitUsage, code)
		assert.Empty(t, stdout.String())
		out := stderr.String()
		assert.Contains(t, out, bad+" is not a valid configuration (4 problems):\n")
		for _, want := range []string{
			bad + `:3:13: pool "cpu": workers is -1; allowed: 1 to 65536`,
			bad + `:4:3: pool "cpu": unknown field "wokers"`,
			bad + `:7:17: limits.cpu_percent is 500; allowed: 1 to 100`,
			bad + `:9:1: pool "d": workers is 9; allowed: min_workers (1) to max_workers (4)`,
		} {
			assert.Contains(t, out, "\n"+want)
		}
	}
	var stderr bytes.Buffer
	assert.Equal(t, exitUsage, run(t.Context(), []string{"run", "--check", "a", "b"}, &bytes.Buffer{}, &stderr))
	assert.Contains(t, stderr.String(), `unexpected argument "a"`)
}

// lineWriter keeps what is written and hands each line that matches one of
// its patterns to a channel, so that a test waits for a log line.
type lineWriter struct {
	syncBuffer
	mu      sync.Mutex
	partial []byte
	re      *regexp.Regexp
	lines   chan string
}

func newLineWriter(re *regexp.Regexp) *lineWriter {
	return &lineWriter{re: re, lines: make(chan string, 64)}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if w.re.MatchString(line) {
			w.lines <- line
		}
	}
	return w.syncBuffer.Write(p)
}

// next returns the next matching line, or fails the test after 10s.
func (w *lineWriter) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-w.lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatalf("no log line matching %s within 10s; logs:\n%s", w.re, w.String())
		return ""
	}
}

const reloadedConfig = `name          = "e2e"
drain_timeout = "20s"

log {
  level = "info"
}

admin {
  address = "127.0.0.1:0"
}

limits {
  memory_soft = "32GiB"
}

pool "alpha" {
  kind     = "cpu"
  workers  = 3
  strategy = "weighted"
  weights  = [2, 1, 1]
}

pool "beta" {
  kind           = "io"
  workers        = 1
  concurrency    = 8
  strategy       = "least-busy"
  queue_capacity = 16
}
`

// TestRunReload changes a running node's file under load and makes it
// read it again: the changes that can apply do, without a task lost; a file
// that is not valid changes nothing.
func TestRunReload(t *testing.T) {
	src := strings.Replace(testNodeConfig, "pool \"alpha\" {\n  kind    = \"cpu\"\n  workers = 1\n}",
		"pool \"alpha\" {\n  kind     = \"cpu\"\n  workers  = 1\n  strategy = \"weighted\"\n}", 1)
	file := writeConfig(t, "node.hcl", src)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := newLineWriter(regexp.MustCompile(`configuration reloaded|not reloaded|setting kept`))
	up := make(chan startedNode, 1)
	reloads := make(chan os.Signal, 1)
	o := runOptions{ConfigFile: file, reloads: reloads, started: func(n *actors.Node, a net.Addr) { up <- startedNode{n, a} }}
	errc := make(chan error, 1)
	go func() { errc <- runNode(ctx, o, logs, nil) }()
	var s startedNode
	select {
	case s = <-up:
	case err := <-errc:
		t.Fatalf("runNode returned before starting: %v; logs:\n%s", err, logs.String())
	}

	var accepted, ok atomic.Int64
	stop, busy := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var producers, results sync.WaitGroup
	for i := range 4 {
		pool := []string{"alpha", "beta"}[i%2]
		producers.Add(1)
		go func() {
			defer producers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				f, err := s.n.Submit(ctx, actors.Task{Type: taskEcho, Pool: pool, Payload: []byte("x")})
				if err != nil {
					continue
				}
				if accepted.Add(1) == 200 {
					once.Do(func() { close(busy) })
				}
				results.Add(1)
				go func() {
					defer results.Done()
					if _, err := f.Wait(context.Background()); err == nil {
						ok.Add(1)
					}
				}()
			}
		}()
	}
	<-busy

	require.NoError(t, os.WriteFile(file, []byte(reloadedConfig), 0o600))
	reloads <- syscall.SIGHUP
	kept := logs.next(t)
	assert.Contains(t, kept, `setting kept until the node restarts: setting="pool \"beta\": concurrency"`)
	done := logs.next(t)
	assert.Contains(t, done, "configuration reloaded:")
	// hclog quotes the value: `pool \"alpha\": workers`.
	for _, want := range []string{`pool \"alpha\": workers`, `pool \"alpha\": weights`, `pool \"beta\": workers`, `pool \"beta\": queue_capacity`, "limits"} {
		assert.Contains(t, done, want)
	}
	assert.Equal(t, uint64(32<<30), s.n.ResourceLimits().MemorySoft)

	// A broken file leaves everything as it is.
	require.NoError(t, os.WriteFile(file, []byte(badConfig), 0o600))
	reloads <- syscall.SIGHUP
	assert.Contains(t, logs.next(t), "the configuration was not reloaded: the node runs on as it was")

	close(stop)
	producers.Wait()
	results.Wait()
	assert.Equal(t, accepted.Load(), ok.Load(), "every accepted task ended well")

	cfgs := s.n.PoolConfigs()
	assert.Equal(t, 3, cfgs[0].Workers)
	assert.Equal(t, []int{2, 1, 1}, cfgs[0].Weights)
	assert.Equal(t, 1, cfgs[1].Workers)
	assert.Equal(t, 16, cfgs[1].QueueCapacity)
	assert.Equal(t, 4, cfgs[1].Concurrency, "kept until a restart")
	var st admin.Status
	_, body := get(t, testClient(), "http://"+s.addr.String()+"/status")
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	assert.Equal(t, 3, st.Pools[0].Workers)

	cancel()
	require.NoError(t, <-errc)
}

// The built command reads its file again on SIGHUP and keeps running.
func TestRunBinarySIGHUP(t *testing.T) {
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	file := writeConfig(t, "node.hcl", testNodeConfig)
	cmd := exec.CommandContext(ctx, bin, "run", "--config", file)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	waitLine := func(re *regexp.Regexp) []string {
		t.Helper()
		for {
			select {
			case l, open := <-lines:
				if !open {
					t.Fatalf("drover run ended before logging %s", re)
				}
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-ctx.Done():
				t.Fatalf("no log line matching %s", re)
			}
		}
	}
	addr := waitLine(adminLine)[1]

	require.NoError(t, os.WriteFile(file, []byte(reloadedConfig), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	waitLine(regexp.MustCompile(`configuration reloaded: applied=`))
	resp, err := testClient().Get("http://" + addr + "/status")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	var st admin.Status
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	assert.Equal(t, 3, st.Pools[0].Workers, "alpha grows to 3")
	assert.Equal(t, 3, st.Pools[0].MaxWorkers)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	waitLine(regexp.MustCompile(`node stopped: `))
	for range lines {
	}
	require.NoError(t, cmd.Wait())
}

// TestRunReloadOverAPI: POST /v1/admin/reload on the task API reads the
// file again, as SIGHUP does, and answers what it applied and kept; it is
// behind the API's token, and a broken file is a 422 that changes nothing.
func TestRunReloadOverAPI(t *testing.T) {
	t.Setenv("DROVER_TEST_RELOAD_TOKEN", "s3cret")
	withAPI := testNodeConfig + "\napi {\n  address   = \"127.0.0.1:0\"\n  token_env = \"DROVER_TEST_RELOAD_TOKEN\"\n}\n"
	file := writeConfig(t, "node.hcl", withAPI)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	up := make(chan startedNode, 1)
	apiAddr := make(chan net.Addr, 1)
	logs := newLineWriter(regexp.MustCompile(`configuration reloaded`))
	o := runOptions{ConfigFile: file, apiStarted: func(a net.Addr) { apiAddr <- a },
		started: func(n *actors.Node, a net.Addr) { up <- startedNode{n, a} }}
	errc := make(chan error, 1)
	go func() { errc <- runNode(ctx, o, logs, nil) }()
	var s startedNode
	var addr net.Addr
	select {
	case addr = <-apiAddr:
		s = <-up
	case err := <-errc:
		t.Fatalf("runNode returned before starting: %v", err)
	}
	reloadURL := "http://" + addr.String() + "/v1/admin/reload"
	post := func(token string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, reloadURL, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := testClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	code, _ := post("")
	assert.Equal(t, http.StatusUnauthorized, code, "no token")

	changed := strings.Replace(withAPI, "pool \"alpha\" {\n  kind    = \"cpu\"\n  workers = 1\n}", "pool \"alpha\" {\n  kind    = \"cpu\"\n  workers = 2\n}", 1)
	require.NotEqual(t, withAPI, changed)
	require.NoError(t, os.WriteFile(file, []byte(changed), 0o600))
	code, body := post("s3cret")
	require.Equal(t, http.StatusOK, code, body)
	var rep struct {
		Applied []string   `json:"applied"`
		Kept    []api.Kept `json:"kept"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &rep))
	assert.Contains(t, rep.Applied, `pool "alpha": workers`)
	assert.Equal(t, 2, s.n.PoolConfigs()[0].Workers)

	require.NoError(t, os.WriteFile(file, []byte(badConfig), 0o600))
	code, body = post("s3cret")
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, body, "not reloaded")
	assert.Equal(t, 2, s.n.PoolConfigs()[0].Workers, "a broken file changes nothing")

	cancel()
	require.NoError(t, <-errc)
}
