package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/client"
)

// apiNodeConfig is a node serving the task API on a free loopback port,
// with a short drain.
const apiNodeConfig = `name          = "apinode"
drain_timeout = "500ms"

admin {
  address = "127.0.0.1:0"
}

api {
  address = "127.0.0.1:0"
}

pool "work" {
  kind           = "io"
  workers        = 2
  concurrency    = 8
  queue_capacity = 64
}
`

var apiLine = regexp.MustCompile(`api listening: addr=(127\.0\.0\.1:\d+)`)

// submitCmd runs `drover submit` with args and stdin, and returns its
// stdout lines decoded and its exit error.
func submitCmd(ctx context.Context, t *testing.T, bin, stdin string, args ...string) ([]map[string]any, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"submit"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "line %q", l)
		lines = append(lines, m)
	}
	return lines, err
}

// TestSubmitEndToEnd runs a node with its task API from the built command
// and feeds it with `drover submit`, plain HTTP and the Go client; SIGTERM
// then drains it while a stream still holds tasks.
func TestSubmitEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p, found := startRun(ctx, t, bin, writeConfig(t, "node.hcl", apiNodeConfig), nil, apiLine)
	addr := found[0]

	t.Run("one task with --wait", func(t *testing.T) {
		lines, err := submitCmd(ctx, t, bin, "", "--addr", addr, "--type", "echo", "--payload", "hello", "--wait")
		require.NoError(t, err)
		require.Len(t, lines, 1)
		assert.Equal(t, true, lines[0]["ok"])
		assert.Equal(t, "hello", lines[0]["output"])
		assert.Equal(t, "apinode", lines[0]["node"])
	})
	t.Run("a background job, then its result over HTTP", func(t *testing.T) {
		lines, err := submitCmd(ctx, t, bin, "", "--addr", addr, "--type", "hash", "--payload", "abc", "--id", "job-1")
		require.NoError(t, err)
		require.Len(t, lines, 1)
		assert.Equal(t, "job-1", lines[0]["id"])
		resp, err := http.Get("http://" + addr + "/v1/tasks/job-1?wait=10s")
		require.NoError(t, err)
		defer resp.Body.Close()
		var st map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		assert.Equal(t, true, st["done"])
	})
	t.Run("many tasks from stdin: one result each", func(t *testing.T) {
		var in strings.Builder
		const n = 300
		for i := 0; i < n; i++ {
			fmt.Fprintf(&in, `{"type":"echo","payload":"%d","id":"many-%d"}`+"\n", i, i)
		}
		lines, err := submitCmd(ctx, t, bin, in.String(), "--addr", addr, "--window", "50")
		require.NoError(t, err)
		require.Len(t, lines, n)
		seen := map[string]bool{}
		for _, l := range lines {
			assert.Equal(t, true, l["ok"], "%v", l)
			id := l["id"].(string)
			assert.False(t, seen[id], "one result for %s", id)
			seen[id] = true
			assert.Equal(t, strings.TrimPrefix(id, "many-"), l["output"])
		}
	})
	t.Run("a failing task fails the command", func(t *testing.T) {
		lines, err := submitCmd(ctx, t, bin, `{"type":"echo"}`+"\n"+`{"type":"nope"}`+"\n", "--addr", addr)
		require.Error(t, err)
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 1, ee.ExitCode())
		require.Len(t, lines, 2)
		assert.Equal(t, "NO_HANDLER", lines[1]["error"].(map[string]any)["code"])
	})
	t.Run("a killed client leaves no task behind", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, bin, "submit", "--addr", addr)
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		for i := 0; i < 4; i++ {
			fmt.Fprintf(stdin, `{"type":"sleep","payload":"30s","id":"killed-%d"}`+"\n", i)
		}
		// The node takes a stream's tasks in order: once the echo after
		// them has its result, the sleeps run.
		fmt.Fprintln(stdin, `{"type":"echo","payload":"mark"}`)
		sc := bufio.NewScanner(stdout)
		require.True(t, sc.Scan(), "the echo's result")
		assert.Contains(t, sc.Text(), "mark")
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		for i := 0; i < 4; i++ {
			resp, err := http.Get(fmt.Sprintf("http://%s/v1/tasks/killed-%d?wait=10s", addr, i))
			require.NoError(t, err)
			var st map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
			resp.Body.Close()
			assert.Equal(t, true, st["done"], "killed-%d", i)
			assert.Equal(t, "ERROR_CODE_CANCELED", st["result"].(map[string]any)["error"].(map[string]any)["code"])
		}
	})

	// SIGTERM with a stream holding tasks that outlast the drain: each
	// gets a SHUTTING_DOWN result, then the stream ends.
	c, err := client.Dial(addr)
	require.NoError(t, err)
	var futures []*actors.Future
	for i := 0; i < 6; i++ {
		f, err := c.Submit(ctx, actors.Task{Type: "sleep", Payload: []byte("30s")})
		require.NoError(t, err)
		futures = append(futures, f)
	}
	quick, err := c.Submit(ctx, actors.Task{Type: "echo", Payload: []byte("q")})
	require.NoError(t, err)
	_, err = quick.Wait(ctx)
	require.NoError(t, err)
	out, err := p.terminate(ctx, t)
	require.NoError(t, err, "exit status 0 after SIGTERM; logs:\n%s", out)
	for _, f := range futures {
		_, err := f.Wait(ctx)
		assert.ErrorIs(t, err, actors.ErrShuttingDown)
	}
	closeCtx, cancelClose := context.WithTimeout(ctx, 5*time.Second)
	defer cancelClose()
	assert.NoError(t, c.Close(closeCtx))
	assert.Contains(t, out, "apinode: node stopped: drained=0 failed=6")
}

// TestSubmitBadFlags: a flag out of its range is a usage error that names
// it, before any connection is tried.
func TestSubmitBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--window", "0"}, "--window is 0; allowed: 1 or more"},
		{[]string{"--connect-timeout", "0s", "--type", "echo"}, "--connect-timeout is 0s; allowed: more than 0"},
		{[]string{"--timeout", "-1s", "--type", "echo"}, "--timeout is -1s; allowed: 0 (the pool's) or more"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"submit", "--addr", "127.0.0.1:1"}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
}
