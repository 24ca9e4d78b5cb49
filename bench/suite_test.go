package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// suiteFlag runs the suite for real and prints its table:
//
//	go test ./bench/ -run '^TestPrintSuite$' -v -count=1 -args -suite=quick
var suiteFlag = flag.String("suite", "", "run the benchmark suite (quick or full) and print its table")

// tinySizes make the whole suite a matter of seconds, even with -race, whose
// goroutine limit (8128) also bounds spawn10k.
func tinySizes() sizes {
	return sizes{empty: 2000, cpu: 200, sleep: 256, latency: 200, queue: 2000, spawn: 200, window: 100}
}

func TestRunTinySuite(t *testing.T) {
	start := time.Now()
	var progress []string
	rows, err := run(context.Background(), Options{
		Progress: func(done, total int, label string) {
			progress = append(progress, label)
			assert.LessOrEqual(t, done, total)
		},
	}, tinySizes())
	require.NoError(t, err)
	t.Logf("tiny suite took %v", time.Since(start))

	impls := Impls()
	require.Len(t, rows, len(Workloads())*len(impls))
	require.Len(t, progress, len(rows)+1)
	assert.Empty(t, progress[len(progress)-1])
	i := 0
	for _, w := range Workloads() {
		for _, impl := range impls {
			r := rows[i]
			i++
			t.Run(w+"/"+impl.Name, func(t *testing.T) {
				assert.Equal(t, w, r.Workload)
				assert.Equal(t, impl.Name, r.Impl)
				assert.Equal(t, w+"/"+impl.Name, progress[i-1])
				assert.GreaterOrEqual(t, r.AllocsPerTask, 0.0)
				assert.GreaterOrEqual(t, r.BytesPerTask, 0.0)
				switch w {
				case WorkloadQueueMemory:
					assert.Zero(t, r.TasksPerSec)
				default:
					assert.Positive(t, r.TasksPerSec)
				}
				if w == WorkloadLatency {
					assert.Positive(t, r.P50Nanos)
					assert.GreaterOrEqual(t, r.P99Nanos, r.P50Nanos)
				} else {
					assert.Zero(t, r.P50Nanos)
					assert.Zero(t, r.P99Nanos)
				}
			})
		}
	}
}

// TestQueueMemorySeesQueues checks the method on two queues whose cost is
// known: a buffered channel of funcs holds 8 B per task, a parked caller
// at least a goroutine stack (2 KiB).
func TestQueueMemorySeesQueues(t *testing.T) {
	sz := tinySizes()
	sz.queue = 4000
	rows, err := run(context.Background(), Options{
		Workloads: []string{WorkloadQueueMemory},
		Impls:     []string{"chan", "ants"},
	}, sz)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.InDelta(t, 8, rows[0].BytesPerTask, 4, "chan")
	assert.Greater(t, rows[1].BytesPerTask, 2048.0, "ants")
}

func TestRunSelects(t *testing.T) {
	counted := 0
	extra := Impl{Name: "extra", Start: func(cfg Config) (Pool, error) {
		counted++
		return startChanPool(cfg)
	}}
	rows, err := run(context.Background(), Options{
		Workloads: []string{WorkloadLatency, WorkloadEmpty},
		Impls:     []string{"extra", "chan"},
		Extra:     []Impl{extra},
	}, tinySizes())
	require.NoError(t, err)
	var got []string
	for _, r := range rows {
		got = append(got, r.Workload+"/"+r.Impl)
	}
	assert.Equal(t, []string{"empty/chan", "empty/extra", "latency/chan", "latency/extra"}, got)
	assert.Equal(t, 2, counted)
}

func TestRunRejectsBadOptions(t *testing.T) {
	start := func(Config) (Pool, error) { return nil, errors.New("not started") }
	tests := []struct {
		name string
		opts Options
		want error
		says string
	}{
		{"unknown workload", Options{Workloads: []string{"nope"}}, ErrUnknownWorkload, "empty, cpu10us, sleep1ms, latency, queue_memory, spawn10k"},
		{"unknown impl", Options{Impls: []string{"nope"}}, ErrUnknownImpl, "chan, ants, pond, protoactor_future, protoactor_collector"},
		{"extra without name", Options{Extra: []Impl{{Start: start}}}, ErrInvalidImpl, "needs a Name"},
		{"extra without start", Options{Extra: []Impl{{Name: "x"}}}, ErrInvalidImpl, "needs a Name and a Start"},
		{"extra named twice", Options{Extra: []Impl{{Name: "chan", Start: start}}}, ErrInvalidImpl, "used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			tt.opts.Progress = func(int, int, string) { ran = true }
			rows, err := Run(context.Background(), tt.opts)
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.says)
			assert.Nil(t, rows)
			assert.False(t, ran)
		})
	}
}

func TestRunReportsImplFailure(t *testing.T) {
	broken := Impl{Name: "broken", Start: func(Config) (Pool, error) { return nil, errors.New("no pool") }}
	rows, err := run(context.Background(), Options{
		Workloads: []string{WorkloadEmpty},
		Impls:     []string{"chan", "broken"},
		Extra:     []Impl{broken},
	}, tinySizes())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "empty/broken")
	require.Len(t, rows, 1, "rows measured before the failure are returned")
}

func TestRunStopsOnCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := run(ctx, Options{Impls: []string{"chan"}}, tinySizes())
	require.ErrorIs(t, err, context.Canceled)
}

// TestPoolContract holds every impl to the Pool contract: MaxInFlight
// tasks accepted without waiting, each run exactly once on some worker,
// every result awaited, Submit refused after Close, no goroutine left.
func TestPoolContract(t *testing.T) {
	const (
		workers = 3
		tasks   = 300
	)
	for _, impl := range Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			p, err := impl.Start(Config{Workers: workers, MaxInFlight: tasks})
			require.NoError(t, err)
			var mu sync.Mutex
			ran := make([]int, tasks)
			for i := range tasks {
				require.NoError(t, p.Submit(func() {
					mu.Lock()
					ran[i]++
					mu.Unlock()
				}))
			}
			for range tasks {
				require.NoError(t, p.Await())
			}
			for i, n := range ran {
				require.Equal(t, 1, n, "task %d", i)
			}
			require.NoError(t, p.Close())
			require.NoError(t, p.Close(), "a second Close is a no-op")
			assert.Error(t, p.Submit(emptyTask), "Submit after Close")
		})
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		says string
	}{
		{"no workers", Config{Workers: 0, MaxInFlight: 1}, "Workers is 0"},
		{"no window", Config{Workers: 1, MaxInFlight: 0}, "MaxInFlight is 0"},
	}
	for _, impl := range Impls() {
		for _, tt := range tests {
			t.Run(impl.Name+"/"+tt.name, func(t *testing.T) {
				p, err := impl.Start(tt.cfg)
				require.ErrorIs(t, err, ErrInvalidConfig)
				assert.Contains(t, err.Error(), tt.says)
				assert.Nil(t, p)
			})
		}
	}
}

func TestPercentile(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1)
	}
	tests := []struct {
		name    string
		samples []int64
		p       int
		want    int64
	}{
		{"empty", nil, 50, 0},
		{"one", []int64{7}, 99, 7},
		{"p50 of 100", hundred, 50, 50},
		{"p99 of 100", hundred, 99, 99},
		{"p100 of 100", hundred, 100, 100},
		{"p50 of 3", []int64{1, 2, 3}, 50, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, percentile(tt.samples, tt.p))
		})
	}
}

func TestCalibrateSpin(t *testing.T) {
	iters := calibrateSpin(cpuTaskDuration)
	require.Positive(t, iters)
	assert.NotZero(t, spin(iters))
	// Ten tasks' worth takes at least the time of ten tasks, give or take a
	// loaded machine making the calibration slow (then tasks are shorter).
	start := time.Now()
	cpuTask(iters * 10)()
	assert.Greater(t, time.Since(start), 10*cpuTaskDuration/4)
}

func TestFIFO(t *testing.T) {
	q := newFIFO[int](2)
	var got []int
	next := 0
	for round := range 5 {
		for range round + 1 {
			q.push(next)
			next++
		}
		got = append(got, q.pop())
	}
	for q.size > 0 {
		got = append(got, q.pop())
	}
	want := make([]int, next)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got)
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{Workload: "empty", Impl: "chan", TasksPerSec: 5e6, AllocsPerTask: 0, BytesPerTask: 0, CPUNanosPerTask: 61.7},
		{Workload: "empty", Impl: "protoactor_future", TasksPerSec: 3.2e5, AllocsPerTask: 9.5, BytesPerTask: 512},
		{Workload: "latency", Impl: "chan", TasksPerSec: 2e5, P50Nanos: 1500, P99Nanos: 2_500_000},
		{Workload: "queue_memory", Impl: "chan", BytesPerTask: 8},
		{Workload: "queue_memory", Impl: "ants", BytesPerTask: 2600},
		{Workload: "spawn10k", Impl: "pond", TasksPerSec: 900},
	}
	var b bytes.Buffer
	require.NoError(t, WriteTable(&b, rows))
	want := `workload      impl               tasks/s  vs chan     p50     p99  cpu/task  allocs/task  B/task
empty         chan                 5.00M    1.00x       -       -      61ns         0.00       0
empty         protoactor_future   320.0k    0.06x       -       -         -         9.50     512
latency       chan                200.0k    1.00x  1.50µs  2.50ms         -         0.00       0
queue_memory  chan                     -    1.00x       -       -         -         0.00       8
queue_memory  ants                     -  325.00x       -       -         -         0.00    2600
spawn10k      pond                   900        -       -       -         -         0.00       0
`
	assert.Equal(t, want, b.String())
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, []Row{{Workload: "empty", Impl: "chan", TasksPerSec: 1, P50Nanos: 2, P99Nanos: 3, AllocsPerTask: 4, BytesPerTask: 5, CPUNanosPerTask: 6}}))
	assert.JSONEq(t, `{"rows":[{"workload":"empty","impl":"chan","tasks_per_sec":1,"p50_ns":2,"p99_ns":3,"allocs_per_task":4,"bytes_per_task":5,"cpu_ns_per_task":6,
		"rounds":0,"vs_chan":{"median":0,"min":0,"max":0}}]}`, b.String())
	b.Reset()
	require.NoError(t, WriteJSON(&b, nil))
	var r Report
	require.NoError(t, json.Unmarshal(b.Bytes(), &r))
	assert.NotNil(t, r.Rows, "no rows print as [], not null")
}

// TestPrintSuite runs the suite at the size -suite names and prints its
// table; it is skipped unless -suite is given.
func TestPrintSuite(t *testing.T) {
	if *suiteFlag == "" {
		t.Skip("run with -args -suite=quick (or full) to print the suite's table")
	}
	require.True(t, slices.Contains([]string{"quick", "full"}, *suiteFlag), "-suite is quick or full")
	start := time.Now()
	rows, err := Run(context.Background(), Options{
		Quick: *suiteFlag == "quick",
		Progress: func(done, total int, label string) {
			if label != "" {
				fmt.Fprintf(os.Stderr, "[%d/%d] %s\n", done+1, total, label)
			}
		},
	})
	require.NoError(t, err)
	require.NoError(t, WriteTable(os.Stdout, rows))
	t.Logf("suite %s took %v", *suiteFlag, time.Since(start).Round(time.Second))
}

// TestSummarizeRounds: a row is its median round, and its ratio to chan is
// paired within rounds (a slow round for both is not a slow ratio).
func TestSummarizeRounds(t *testing.T) {
	round := func(chanRate, droverRate float64) []Row {
		return []Row{
			{Workload: WorkloadEmpty, Impl: "drover", TasksPerSec: droverRate},
			{Workload: WorkloadEmpty, Impl: "chan", TasksPerSec: chanRate},
		}
	}
	rows := summarize([][]Row{round(100, 50), round(10, 6), round(200, 40)})
	require.Len(t, rows, 2)
	d := rows[0]
	assert.Equal(t, "drover", d.Impl)
	assert.Equal(t, 3, d.Rounds)
	assert.Equal(t, 40.0, d.TasksPerSec, "the median round by tasks/s")
	assert.Equal(t, Spread{Median: 0.5, Min: 0.2, Max: 0.6}, d.VsChan)
	assert.Equal(t, Spread{Median: 1, Min: 1, Max: 1}, rows[1].VsChan)

	// Rows are matched by workload and impl, not by position: a round
	// measures its impls in another order.
	swapped := round(10, 6)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	rows = summarize([][]Row{round(100, 50), swapped, round(200, 40)})
	assert.Equal(t, "drover", rows[0].Impl)
	assert.Equal(t, Spread{Median: 0.5, Min: 0.2, Max: 0.6}, rows[0].VsChan)

	// An unfinished last round counts where it has rows.
	rows = summarize([][]Row{round(100, 50), round(100, 70)[:1]})
	assert.Equal(t, 2, rows[0].Rounds)
	assert.Equal(t, 1, rows[1].Rounds)
	assert.Equal(t, 0.5, rows[0].VsChan.Median, "a round without chan gives no ratio")
}

// TestRunRotatesImpls: each round starts a workload with the next impl, so
// that none always runs first in the process; the rows keep Run's order.
func TestRunRotatesImpls(t *testing.T) {
	var labels []string
	rows, err := run(context.Background(), Options{
		Workloads: []string{WorkloadEmpty},
		Impls:     []string{"chan", "drover", "drover_lean"},
		Rounds:    3,
		Progress: func(_, _ int, label string) {
			if label != "" {
				labels = append(labels, label)
			}
		},
	}, tinySizes())
	require.NoError(t, err)
	// Run's order is Impls' (drover, drover_lean, chan), whatever the
	// order of Options.Impls.
	assert.Equal(t, []string{
		"empty/drover (round 1 of 3)", "empty/drover_lean (round 1 of 3)", "empty/chan (round 1 of 3)",
		"empty/drover_lean (round 2 of 3)", "empty/chan (round 2 of 3)", "empty/drover (round 2 of 3)",
		"empty/chan (round 3 of 3)", "empty/drover (round 3 of 3)", "empty/drover_lean (round 3 of 3)",
	}, labels)
	require.Len(t, rows, 3)
	for i, impl := range []string{"drover", "drover_lean", "chan"} {
		assert.Equal(t, impl, rows[i].Impl)
		assert.Equal(t, 3, rows[i].Rounds)
	}
}

// TestTargets: each goal is checked on the rows it bears on (a ratio to
// chan from the paired rounds, to another impl from the median rows,
// latency and bytes from the row itself), and goals without rows are left
// out.
func TestTargets(t *testing.T) {
	rows := []Row{
		{Workload: WorkloadEmpty, Impl: "drover_lean", TasksPerSec: 7e6, Rounds: 3, VsChan: Spread{Median: 0.70, Min: 0.6, Max: 0.8}},
		{Workload: WorkloadEmpty, Impl: "drover", TasksPerSec: 3e6, Rounds: 3, VsChan: Spread{Median: 0.30, Min: 0.2, Max: 0.4}},
		{Workload: WorkloadEmpty, Impl: "chan", TasksPerSec: 10e6, Rounds: 3, VsChan: Spread{Median: 1, Min: 1, Max: 1}},
		{Workload: WorkloadEmpty, Impl: "protoactor_future", TasksPerSec: 1e6, Rounds: 3},
		{Workload: WorkloadLatency, Impl: "drover", P50Nanos: 900, P99Nanos: 12_000},
		{Workload: WorkloadQueueMemory, Impl: "drover_lean", BytesPerTask: 90},
	}
	got := Targets(rows)
	assert.Equal(t, []TargetResult{
		{Target: "empty: drover_lean vs chan", Goal: ">= 0.65x", Measured: "0.70x (0.60-0.80)", Met: true},
		{Target: "empty: drover vs chan", Goal: ">= 0.40x", Measured: "0.30x (0.20-0.40)", Met: false},
		{Target: "empty: drover_lean vs protoactor_future", Goal: ">= 9.00x", Measured: "7.00x", Met: false},
		{Target: "latency: drover p50 / p99", Goal: "<= 2µs / 10µs", Measured: "900ns / 12.00µs", Met: false},
		{Target: "queue_memory: drover_lean bytes per queued task", Goal: "<= 96 B", Measured: "90 B", Met: true},
	}, got)

	var b bytes.Buffer
	require.NoError(t, WriteTargets(&b, rows))
	assert.Contains(t, b.String(), "target                                           goal           measured           met\n")
	assert.Contains(t, b.String(), "empty: drover_lean vs chan                       >= 0.65x       0.70x (0.60-0.80)  yes\n")
	b.Reset()
	require.NoError(t, WriteTargets(&b, rows[2:3]))
	assert.Empty(t, b.String(), "no goal bears on chan alone")
}
