package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// builtBinary is the command built for the end-to-end tests: once per test
// process, removed by TestMain.
var builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// droverBinary returns the path of the command, built on first use (with
// -race when the tests run with it, reusing the packages the test build
// compiled). It skips the test with -short or without a go command.
func droverBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	b := &builtBinary
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "drover-test-")
		if b.err != nil {
			return
		}
		path := filepath.Join(b.dir, "drover")
		args := []string{"build", "-o", path}
		if raceEnabled {
			args = append(args, "-race")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, goBin, append(args, ".")...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %w: %s", err, out)
			return
		}
		b.path = path
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// removeBinary removes what droverBinary built.
func removeBinary() {
	if builtBinary.dir != "" {
		_ = os.RemoveAll(builtBinary.dir)
	}
}

// cleanupM runs the tests, then removes the built binary.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	defer removeBinary()
	return c.m.Run()
}
