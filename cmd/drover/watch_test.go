package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
)

// frames is a writer that hands each Write, one frame of the watch, to a
// channel.
type frames chan string

func (f frames) Write(p []byte) (int, error) {
	f <- string(p)
	return len(p), nil
}

// next returns the next frame that contains want, failing after 10 s.
func (f frames) next(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	last := ""
	for {
		select {
		case s := <-f:
			last = s
			if strings.Contains(s, want) {
				return s
			}
		case <-timeout:
			t.Fatalf("no frame with %q within 10s; last: %s", want, last)
		}
	}
}

// TestStatusWatch follows a node that answers, stops answering, and answers
// again: its numbers are shown only while they are current.
func TestStatusWatch(t *testing.T) {
	n, err := actors.NewNode(actors.WithName("watched"), actors.WithPool(actors.PoolConfig{Name: "p1", Workers: 2}))
	require.NoError(t, err)
	defer func() {
		_, err := n.Shutdown(context.Background())
		require.NoError(t, err)
	}()
	// The gate stands for the network between the watch and the node: while
	// down, every connection is cut without an answer.
	var down atomic.Bool
	h := admin.NewHandler(n)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			panic(http.ErrAbortHandler)
		}
		h.ServeHTTP(w, r)
	}))
	defer gate.Close()

	out := make(frames, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	o := defaultStatusOptions()
	o.Addr, o.Watch, o.Interval = gate.URL, true, minWatchInterval
	go func() { done <- runStatus(ctx, o, out) }()

	for i := range 3 {
		f, err := n.Submit(t.Context(), actors.Task{Pool: "p1", Func: func(context.Context) (any, error) { return nil, nil }})
		require.NoError(t, err)
		_, err = f.Wait(t.Context())
		require.NoError(t, err, "task %d", i)
	}
	frame := out.next(t, "node watched (ready): 3 submitted, 3 completed")
	assert.Contains(t, frame, "drover status --watch: "+gate.URL+", every 100ms, updated ")
	assert.Regexp(t, `(?m)^p1 +cpu +round-robin +2 `, frame)
	assert.NotContains(t, frame, "UNREACHABLE")
	frame = out.next(t, "rates over the last ")
	assert.Contains(t, frame, "completed/s")

	down.Store(true)
	frame = out.next(t, "UNREACHABLE")
	assert.Contains(t, frame, "no answer from "+gate.URL+" since ")
	assert.Contains(t, frame, "(1 attempt)")
	assert.Contains(t, frame, "is not shown: those numbers are no longer current")
	assert.NotContains(t, frame, "submitted", "no stale numbers")
	assert.NotContains(t, frame, "p1")
	frame = out.next(t, "(2 attempts)")
	assert.Contains(t, frame, "Trying again every 100ms")

	down.Store(false)
	frame = out.next(t, "node watched (ready)")
	assert.NotContains(t, frame, "UNREACHABLE")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "an interrupted watch ends well")
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end")
	}
}

func TestStatusWatchBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"with json", []string{"--watch", "--json"}, "--watch and --json do not go together"},
		{"interval too short", []string{"--watch", "--interval", "10ms"}, "--interval is 10ms; allowed: 100ms or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"status"}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, tt.want)
			assert.Empty(t, stdout)
		})
	}
}
