package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/bench"
)

// TestRunBench runs the smallest run the quick suite allows: one workload
// (latency, which fills every field of a row) on drover and chan.
func TestRunBench(t *testing.T) {
	o := benchOptions{Quick: true, Rounds: 1, Workloads: []string{bench.WorkloadLatency}, Impls: []string{"chan", "drover"}, LogLevel: "warn"}

	t.Run("json", func(t *testing.T) {
		o := o
		o.JSON = true
		var stdout, stderr bytes.Buffer
		rows, err := runBench(t.Context(), o, &stdout, &stderr)
		require.NoError(t, err, "stderr: %s", stderr.String())
		require.Len(t, rows, 2)

		dec := json.NewDecoder(&stdout)
		var got map[string][]map[string]any
		require.NoError(t, dec.Decode(&got))
		require.ErrorIs(t, dec.Decode(new(any)), io.EOF, "one object only")
		require.Len(t, got["rows"], 2)
		// The one goal these rows bear on: drover's latency.
		require.Len(t, got["targets"], 1)
		assert.Equal(t, "latency: drover p50 / p99", got["targets"][0]["target"])
		assert.Equal(t, "<= 2µs / 10µs", got["targets"][0]["goal"])
		assert.IsType(t, true, got["targets"][0]["met"])
		for i, impl := range []string{"drover", "chan"} { // in bench.Impls' order
			r := got["rows"][i]
			assert.Equal(t, bench.WorkloadLatency, r["workload"])
			assert.Equal(t, impl, r["impl"])
			for _, k := range []string{"tasks_per_sec", "p50_ns", "p99_ns", "allocs_per_task", "bytes_per_task"} {
				require.Contains(t, r, k)
				assert.IsType(t, float64(0), r[k], k)
			}
			assert.Positive(t, r["tasks_per_sec"])
			assert.Positive(t, r["p50_ns"])
			assert.GreaterOrEqual(t, r["p99_ns"], r["p50_ns"])
		}
		// Progress as plain lines: stderr is not a terminal.
		assert.Contains(t, stderr.String(), "bench: 0/2 latency/drover, ")
		assert.Contains(t, stderr.String(), "bench: 2/2 done, ")
		assert.NotContains(t, stderr.String(), "\r")
	})
	t.Run("table", func(t *testing.T) {
		o := o
		o.Impls = []string{"chan"}
		var stdout bytes.Buffer
		_, err := runBench(t.Context(), o, &stdout, io.Discard)
		require.NoError(t, err)
		assert.Regexp(t, `^workload +impl +tasks/s +vs chan +p50 +p99 +cpu/task +allocs/task +B/task\nlatency +chan +\S+ +1\.00x `, stdout.String())
	})
}

func TestBenchBadNames(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown workload", []string{"--workloads", "empty,nope"},
			`--workloads has "nope"; allowed: empty, cpu10us, sleep1ms, latency, queue_memory, spawn10k`},
		{"unknown impl", []string{"--impls", "chan,rayon"},
			`--impls has "rayon"; allowed: drover, drover_lean, chan, ants, pond, protoactor_future, protoactor_collector`},
		{"unknown log level", []string{"--log-level", "loud"}, `--log-level is "loud"`},
		{"no rounds", []string{"--rounds", "0"}, `--rounds is 0; allowed: 1 to 100`},
		{"positional argument", []string{"quick"}, `unexpected argument "quick"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"bench"}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, tt.want)
			assert.Contains(t, stderr, "drover bench --help")
			assert.Empty(t, stdout)
		})
	}
}

func TestBenchProgressLine(t *testing.T) {
	tests := []struct {
		name        string
		tty         bool
		done, total int
		label       string
		elapsed     time.Duration
		want        string
	}{
		{"terminal, starting", true, 0, 4, "empty/drover", 0, "bench: [........................] 0/4 empty/drover, 0s"},
		{"terminal, half", true, 2, 4, "empty/ants", 1500 * time.Millisecond, "bench: [############............] 2/4 empty/ants, 1.5s"},
		{"terminal, done", true, 4, 4, "", 3 * time.Second, "bench: [########################] 4/4 done, 3s"},
		{"plain", false, 1, 4, "latency/chan", 260 * time.Millisecond, "bench: 1/4 latency/chan, 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newBenchProgress(newConsole(io.Discard, tt.tty), time.Now())
			p.done, p.total, p.label = tt.done, tt.total, tt.label
			assert.Equal(t, tt.want, p.line(tt.elapsed))
		})
	}
}

func TestHelpRunStatusBench(t *testing.T) {
	tests := []struct {
		cmd  string
		want []string
	}{
		{"run", []string{"--config", "--admin", "--log-level", "echo", "sleep", "hash", "/metrics", "/readyz", "drain_timeout", "130"}},
		{"status", []string{"--addr", "--json", "--timeout", "127.0.0.1:9090"}},
		{"bench", []string{"--quick", "--json", "--workloads", "--impls", "queue_memory", "protoactor_collector", "tasks_per_sec"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			code, stdout, _ := runCLI(t, tt.cmd, "--help")
			assert.Equal(t, exitOK, code)
			for _, w := range tt.want {
				assert.Contains(t, stdout, w)
			}
		})
	}
	code, stdout, _ := runCLI(t, "--help")
	assert.Equal(t, exitOK, code)
	for _, c := range []string{"run ", "status ", "bench "} {
		assert.Contains(t, stdout, c)
	}
}

// TestBenchRounds: with --rounds each row says how many rounds it folds and
// the spread of its ratio to chan, paired within rounds.
func TestBenchRounds(t *testing.T) {
	var out, errs bytes.Buffer
	o := benchOptions{Quick: true, JSON: true, Rounds: 3, Workloads: []string{bench.WorkloadLatency}, Impls: []string{"chan", "drover"}, LogLevel: "warn"}
	rows, err := runBench(context.Background(), o, &out, &errs)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	for _, r := range rows {
		assert.Equal(t, 3, r.Rounds)
		assert.Positive(t, r.VsChan.Median)
		assert.LessOrEqual(t, r.VsChan.Min, r.VsChan.Median)
		assert.LessOrEqual(t, r.VsChan.Median, r.VsChan.Max)
	}
	assert.Contains(t, out.String(), `"vs_chan":{"median":`)

	o.Rounds = 101
	_, err = runBench(context.Background(), o, &out, &errs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--rounds is 101; allowed: 1 to 100")
}
