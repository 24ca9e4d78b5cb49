package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRun builds the example and runs it: it starts its members as child
// processes of itself, so it cannot run inside the test binary.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "cluster")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	tests := []struct {
		name    string
		args    []string
		members []string
		tasks   string
	}{
		{"three members", []string{"-members", "3", "-tasks", "90"}, []string{"a", "b", "c"}, "tasks: 90 submitted, 90 completed, 0 failed"},
		{"alone", []string{"-members", "1", "-tasks", "5"}, []string{"a"}, "tasks: 5 submitted, 5 completed, 0 failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			require.Len(t, lines, 4, stdout.String())
			assert.Equal(t, "cluster: "+itoa(len(tt.members))+" members up ("+strings.Join(tt.members, ", ")+")", lines[0])
			assert.Equal(t, tt.tasks, lines[1])
			for _, m := range tt.members {
				assert.Contains(t, lines[2], m+"=")
				assert.NotContains(t, lines[2], m+"=0", "member %s ran nothing", m)
			}
			assert.True(t, strings.HasPrefix(lines[3], "sum of squares"), lines[3])
			assert.Contains(t, lines[3], "(expected")
		})
	}
}

func TestRunRejectsBadArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"no tasks", []string{"-tasks", "0"}, "-tasks at least 1"},
		{"too many members", []string{"-members", "27"}, "-members must be 1 to 26"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}

func itoa(n int) string { return string(rune('0' + n)) }
