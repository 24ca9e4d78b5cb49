package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRun(t *testing.T) {
	// Queued while the worker is busy, the jobs start by priority, and in
	// submission order within a priority, whatever the number of attempts.
	const order = "first runs, in order:      report-0 alert-1 alert-2 invoice-1 export-1 email-1 sync-1 import-1 cleanup-1 cleanup-2"
	tests := []struct {
		name     string
		args     []string
		outcomes []string
	}{
		{
			name: "three attempts",
			args: []string{"-attempts", "3", "-backoff", "1ms"},
			outcomes: []string{
				"sync-1    normal   attempts=3 done",
				"export-1  high     attempts=3 failed: jobqueue: transient: disk full",
				"import-1  normal   attempts=1 failed: bad input",
				"alert-1   critical attempts=1 done",
				"cleanup-2 low      attempts=1 done",
			},
		},
		{
			name: "no retry",
			args: []string{"-attempts", "1"},
			outcomes: []string{
				"sync-1    normal   attempts=1 failed: jobqueue: transient: upstream busy",
				"export-1  high     attempts=1 failed: jobqueue: transient: disk full",
				"import-1  normal   attempts=1 failed: bad input",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), tt.args, &out))
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			require.Len(t, lines, 12, out.String())
			assert.Equal(t, order, lines[1])
			for _, want := range tt.outcomes {
				assert.Contains(t, lines[2:], want)
			}
		})
	}
}

func TestRunStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, nil, &bytes.Buffer{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRunRejectsBadArgs(t *testing.T) {
	err := run(context.Background(), []string{"-attempts", "0"}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-attempts must be at least 1")
}

func TestRunThroughTheTaskAPI(t *testing.T) {
	// One run serves the handlers; another enqueues the jobs through the
	// client, as two processes would.
	ctx, stop := context.WithCancel(context.Background())
	r, w := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"-serve", "127.0.0.1:0"}, w)
		w.Close()
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	require.NoError(t, err)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "serving jobs on "))
	go func() { _, _ = io.Copy(io.Discard, r) }()

	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-node", addr, "-attempts", "3", "-backoff", "1ms"}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 9, out.String())
	for _, want := range []string{
		"sync-1    normal   attempts=3 done",
		"export-1  high     attempts=3 failed: jobqueue: transient: disk full",
		"import-1  normal   attempts=1 failed: bad input",
		"alert-2   critical attempts=1 done",
	} {
		assert.Contains(t, lines, want)
	}
	stop()
	require.NoError(t, <-served)
}
