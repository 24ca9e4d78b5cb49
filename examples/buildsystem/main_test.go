package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The in-process builds start their workers as os.Executable() with the
	// argument "worker": this test binary, which then serves as main does
	// (go test never passes that argument first).
	if len(os.Args) == 2 && os.Args[1] == workerArg {
		os.Exit(worker())
	}
	// Built with -race, a process sleeps 1 s as it exits (GORACE's
	// atexit_sleep_ms), and a node's shutdown waits for its workers: the
	// children started here skip that sleep unless GORACE says otherwise.
	if _, set := os.LookupEnv("GORACE"); !set {
		_ = os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	goleak.VerifyTestMain(m)
}

// broken is a small build with one of each failure: cmd/app's tests are
// slow, internal/parse's hang, and internal/store has a syntax error.
var broken = []string{"-files", "6", "-packages", "3", "-rounds", "1000",
	"-syntax-errors", "1", "-slow-tests", "1", "-hung-tests", "1", "-test-timeout", "200ms", "-kill-grace", "100ms"}

// clean is a small build that succeeds.
var clean = []string{"-files", "6", "-packages", "3", "-rounds", "1000"}

// checkLog asserts the build log's lines for the builds above.
func checkLog(t *testing.T, log string, brokenBuild bool) {
	t.Helper()
	assert.Contains(t, log, "build: 6 files in 3 packages on 2 worker processes\n")
	for _, f := range []string{"cmd/app/app_0.go", "cmd/app/app_3.go", "internal/parse/parse_1.go", "internal/parse/parse_4.go", "internal/store/store_5.go"} {
		assert.Regexp(t, `(?m)^compile `+f+` +ok +\S+ +steps/w[01] +object [0-9a-f]{16}$`, log)
	}
	if !brokenBuild {
		for _, p := range []string{"cmd/app", "internal/parse", "internal/store"} {
			assert.Regexp(t, `(?m)^test +`+p+` +ok +\S+ +steps/w[01]$`, log)
		}
		assert.Contains(t, log, "summary: built 6, failed 0, timed out 0 (compile: 6 ok, 0 failed, 0 timed out; test: 3 passed, 0 failed, 0 timed out, 0 skipped)")
		assert.Contains(t, log, "\nbuild ok\n")
		return
	}
	assert.Contains(t, log, `compile internal/store/store_2.go    FAILED   internal/store/store_2.go:5: syntax error: unexpected "return x * syntax error"`)
	assert.Contains(t, log, "test    internal/store               SKIPPED  1 of 2 files did not compile")
	// The node's timer and the child's own deadline race to end a hung
	// test; both results wrap the timeout sentinel, with their own words.
	assert.Contains(t, log, "test    cmd/app                      TIMEOUT  drover: task timed out")
	assert.Contains(t, log, "test    internal/parse               TIMEOUT  drover: task timed out")
	assert.Regexp(t, `(?m)^\[WARN\]  node\.steps/w[01]: killing worker process: a canceled task did not end: pid=\d+ grace=100ms$`, log,
		"the hung test's process was killed")
	assert.Contains(t, log, "summary: built 5, failed 1, timed out 2 (compile: 5 ok, 1 failed, 0 timed out; test: 0 passed, 0 failed, 2 timed out, 1 skipped)")
	assert.NotContains(t, log, "build ok")
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		broken bool
	}{
		{name: "clean", args: clean},
		{name: "broken", args: broken, broken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tt.args, &out)
			if tt.broken {
				require.EqualError(t, err, "build failed: 1 failed, 2 timed out")
			} else {
				require.NoError(t, err)
			}
			checkLog(t, out.String(), tt.broken)
		})
	}
}

func TestRunStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := run(ctx, clean, &bytes.Buffer{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRunRejectsBadArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"more packages than files", []string{"-files", "2", "-packages", "3"}, "-packages is 3 and -files 2; allowed: 1 <= packages <= files"},
		{"no workers", []string{"-workers", "0"}, "-workers is 0; allowed: 1 or more"},
		{"no rounds", []string{"-rounds", "0"}, "-rounds is 0; allowed: 1 or more"},
		{"zero timeout", []string{"-test-timeout", "0s"}, "-test-timeout and -kill-grace must be positive"},
		{"too many syntax errors", []string{"-syntax-errors", "5"}, "-syntax-errors is 5; allowed: 0 to -packages (4)"},
		{"too many bad tests", []string{"-slow-tests", "3", "-hung-tests", "2"}, "-slow-tests is 3 and -hung-tests 2; allowed: 0 or more, together at most -packages (4)"},
		{"unknown flag", []string{"-jobs", "4"}, "flag provided but not defined: -jobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestGenerate(t *testing.T) {
	pkgs := project{files: 10, packages: 4, rounds: 7, syntaxErrors: 2, slow: 1, hung: 1,
		testTime: time.Millisecond, slowTime: time.Second}.generate()
	require.Len(t, pkgs, 4)
	var files, broken []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			files = append(files, f.File)
			assert.Equal(t, 7, f.Rounds)
			if strings.Contains(f.Source, "syntax error") {
				broken = append(broken, f.File)
			}
		}
	}
	assert.Len(t, files, 10)
	assert.Equal(t, []string{"internal/store/store_2.go", "internal/net/net_3.go"}, broken, "the first file of the last packages")
	assert.Equal(t, []string{"cmd/app/app_0.go", "cmd/app/app_4.go", "cmd/app/app_8.go"}, []string{pkgs[0].Files[0].File, pkgs[0].Files[1].File, pkgs[0].Files[2].File})
	assert.Equal(t, time.Second, pkgs[0].Runs, "slow")
	assert.True(t, pkgs[1].Hangs, "hung")
	assert.Equal(t, time.Millisecond, pkgs[2].Runs)
	assert.False(t, pkgs[2].Hangs)

	many := project{files: 9, packages: 9, rounds: 1}.generate()
	assert.Equal(t, "cmd/app1", many[8].Path, "names repeat with a number")
}

func TestHandlers(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		step    string
		payload string
		out     string // a prefix
		err     string
		is      error
	}{
		{name: "compile", ctx: context.Background(), step: stepCompile, payload: `{"file":"a.go","source":"package a\n","rounds":3}`, out: ""},
		{name: "syntax error", ctx: context.Background(), step: stepCompile, payload: `{"file":"a.go","source":"package a\n\nvar x = syntax error\n","rounds":3}`,
			err: `a.go:3: syntax error: unexpected "var x = syntax error"`},
		{name: "compile honours ctx", ctx: canceled, step: stepCompile, payload: `{"file":"a.go","source":"package a","rounds":5000}`, is: context.Canceled},
		{name: "bad compile step", ctx: context.Background(), step: stepCompile, payload: `[]`, err: "compile: bad step"},
		{name: "test", ctx: context.Background(), step: stepTest, payload: `{"package":"a","objects":["0011"],"runs":1000}`, out: "ok "},
		{name: "test honours ctx", ctx: canceled, step: stepTest, payload: `{"package":"a","runs":3600000000000}`, is: context.Canceled},
		{name: "bad test step", ctx: context.Background(), step: stepTest, payload: `{`, err: "test: bad step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := handlers()[tt.step](tt.ctx, []byte(tt.payload))
			switch {
			case tt.is != nil:
				require.ErrorIs(t, err, tt.is)
			case tt.err != "":
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
			default:
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(string(out), tt.out), "%q", out)
				if tt.step == stepCompile {
					assert.Len(t, out, 16, "an object digest")
				}
			}
		})
	}
}

// TestBinary builds the example and runs it as a user would: the binary
// is its own worker.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "buildsystem")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race") // reuses the packages the test build compiled
	}
	out, err := exec.CommandContext(ctx, goBin, append(args, ".")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	tests := []struct {
		name   string
		args   []string
		broken bool
	}{
		{name: "clean", args: clean},
		{name: "broken", args: broken, broken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tt.broken {
				var ee *exec.ExitError
				require.True(t, errors.As(err, &ee), "exit status 1, got %v", err)
				assert.Equal(t, 1, ee.ExitCode())
				assert.Equal(t, "buildsystem: build failed: 1 failed, 2 timed out\n", stderr.String())
			} else {
				require.NoError(t, err, "stderr: %s", stderr.String())
				assert.Empty(t, stderr.String())
			}
			checkLog(t, stdout.String(), tt.broken)
		})
	}
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
