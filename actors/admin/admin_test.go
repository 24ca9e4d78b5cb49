package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/supervision"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newNode starts a node with a cpu pool of 2 workers and an io pool, and
// handlers "ok", "fail" and "wait" (which waits for its context).
func newNode(t *testing.T, extra ...actors.Option) *actors.Node {
	t.Helper()
	opts := []actors.Option{
		actors.WithName("adm"),
		actors.WithPool(actors.PoolConfig{Name: "cpu", Kind: actors.KindCPU, Workers: 2}),
		actors.WithPool(actors.PoolConfig{Name: "io", Kind: actors.KindIO, Workers: 1, Strategy: "least-busy", QueueCapacity: 8}),
		actors.WithHandler("ok", func(context.Context, []byte) ([]byte, error) { return []byte("ok"), nil }),
		actors.WithHandler("fail", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") }),
		actors.WithHandler("wait", func(ctx context.Context, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}),
	}
	n, err := actors.NewNode(append(opts, extra...)...)
	require.NoError(t, err)
	t.Cleanup(func() { shutdown(t, n) })
	return n
}

func shutdown(t *testing.T, n *actors.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.Shutdown(ctx)
	assert.NoError(t, err)
}

// run submits a task and waits for its result.
// run submits task, waits for its result, then for its worker to let it go
// (the result is out before the worker's slot is free and the worker idle
// again), so that the node's stats have settled.
func run(t *testing.T, n *actors.Node, task actors.Task) error {
	t.Helper()
	states := n.Subscribe(64, supervision.KindWorkerStateChanged)
	defer states.Close()
	task.Timed = true // the histograms count every task of these tests
	f, err := n.Submit(context.Background(), task)
	require.NoError(t, err)
	_, err = f.Wait(context.Background())
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		busy := 0
		for _, p := range n.Stats().Pools {
			busy += p.InFlight
		}
		if busy == 0 {
			return err
		}
		select {
		case <-states.Events(): // a worker went back to idle, say
		case <-timeout.C:
			t.Fatalf("%d tasks still held by workers after 10s", busy)
		}
	}
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func parseMetrics(t *testing.T, body io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(body)
	require.NoError(t, err)
	return fams
}

// value returns the value of the series of family name whose labels
// include labels; it fails the test if there is not exactly one.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "no metric %s", name)
	var found []float64
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		}
	}
	require.Len(t, found, 1, "series of %s with %v", name, labels)
	return found[0]
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestMetrics(t *testing.T) {
	n := newNode(t)
	h := admin.NewHandler(n)

	// Scrapes run concurrently with the tasks, under -race.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if rec := get(t, h, "/metrics"); rec.Code != http.StatusOK {
					t.Errorf("scrape: %d", rec.Code)
					return
				}
			}
		}()
	}
	for range 3 {
		require.NoError(t, run(t, n, actors.Task{Type: "ok", Pool: "cpu"}))
	}
	for range 2 {
		require.Error(t, run(t, n, actors.Task{Type: "fail", Pool: "cpu"}))
	}
	require.ErrorIs(t, run(t, n, actors.Task{Type: "wait", Pool: "cpu", Timeout: time.Millisecond}), actors.ErrTimeout)
	require.NoError(t, run(t, n, actors.Task{Type: "ok", Pool: "io"}))
	close(stop)
	wg.Wait()

	rec := get(t, h, "/metrics")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
	fams := parseMetrics(t, rec.Body)

	cpu := map[string]string{"pool": "cpu"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"pool": "cpu"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"drover_tasks_submitted_total", cpu, 6},
		{"drover_tasks_completed_total", cpu, 3},
		{"drover_tasks_failed_total", with("reason", "other"), 2},
		{"drover_tasks_failed_total", with("reason", "timeout"), 1},
		{"drover_tasks_failed_total", with("reason", "canceled"), 0},
		{"drover_tasks_timed_out_total", cpu, 1},
		{"drover_tasks_canceled_total", cpu, 0},
		{"drover_tasks_rejected_total", cpu, 0},
		{"drover_worker_restarts_total", cpu, 0},
		{"drover_tasks_in_flight", cpu, 0},
		{"drover_queue_depth", with("priority", "normal"), 0},
		{"drover_queue_depth", with("priority", "critical"), 0},
		{"drover_queue_capacity", cpu, 1024},
		{"drover_pool_max_workers", cpu, 2},
		{"drover_pool_concurrency", cpu, 1},
		{"drover_workers", with("state", "dead"), 0},
		{"drover_pool_info", with("kind", "cpu", "strategy", "round-robin"), 1},
		{"drover_tasks_submitted_total", map[string]string{"pool": "io"}, 1},
		{"drover_tasks_completed_total", map[string]string{"pool": "io"}, 1},
		{"drover_pool_info", map[string]string{"pool": "io", "kind": "io", "strategy": "least-busy"}, 1},
		{"drover_queue_capacity", map[string]string{"pool": "io"}, 8},
		{"drover_node_ready", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, value(t, fams, tt.name, tt.labels))
		})
	}

	// Every worker is in exactly one state.
	var workers float64
	for _, m := range fams["drover_workers"].GetMetric() {
		if hasLabels(m, cpu) {
			workers += m.GetGauge().GetValue()
		}
	}
	assert.Equal(t, 2.0, workers)
	// Latency histograms: a task's queue wait is recorded when it starts.
	// The five that ran to a result started; the one with a 1 ms timeout
	// may have ended in the queue first, on a loaded machine.
	assert.Equal(t, dto.MetricType_HISTOGRAM, fams["drover_task_queue_wait_seconds"].GetType())
	for _, m := range fams["drover_task_queue_wait_seconds"].GetMetric() {
		if hasLabels(m, cpu) {
			n := m.GetHistogram().GetSampleCount()
			assert.True(t, n == 5 || n == 6, "queue waits recorded: %d", n)
		}
	}
	assert.Contains(t, fams, "drover_task_run_seconds")
	assert.Equal(t, 0.0, value(t, fams, "drover_events_dropped_total", nil))
	assert.Equal(t, 0.0, value(t, fams, "drover_node_resource_pressure", nil))
	assert.Equal(t, dto.MetricType_COUNTER, fams["drover_tasks_failed_total"].GetType())
	assert.Equal(t, dto.MetricType_GAUGE, fams["drover_queue_depth"].GetType())
	assert.Contains(t, fams, "promhttp_metric_handler_requests_total", "the handler instruments itself on its own registry")
	assert.NotContains(t, fams, "go_goroutines", "runtime metrics are opt-in")
}

func TestMetricsOptions(t *testing.T) {
	n := newNode(t)
	other := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "service_things_total", Help: "Things."})
	other.MustRegister(c)
	c.Add(7)
	h := admin.NewHandler(n, admin.WithGatherers(other), admin.WithRuntimeMetrics(), admin.WithReady(func() bool { return false }))

	fams := parseMetrics(t, get(t, h, "/metrics").Body)
	assert.Equal(t, 7.0, value(t, fams, "service_things_total", nil))
	assert.Contains(t, fams, "go_goroutines")
	assert.Equal(t, 0.0, value(t, fams, "drover_node_ready", nil))
	assert.Equal(t, http.StatusServiceUnavailable, get(t, h, "/readyz").Code)
}

func TestNoGlobalRegistration(t *testing.T) {
	before, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	n := newNode(t)
	h := admin.NewHandler(n, admin.WithRuntimeMetrics())
	_ = get(t, h, "/metrics")
	after, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after))
	for _, f := range after {
		assert.False(t, strings.HasPrefix(f.GetName(), "drover_"), f.GetName())
	}
}

func TestStatus(t *testing.T) {
	n := newNode(t)
	h := admin.NewHandler(n)
	require.NoError(t, run(t, n, actors.Task{Type: "ok", Pool: "cpu"}))
	require.Error(t, run(t, n, actors.Task{Type: "fail", Pool: "io"}))

	rec := get(t, h, "/status")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var st admin.Status
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&st))

	assert.Equal(t, "adm", st.Node)
	assert.True(t, st.Ready)
	require.Len(t, st.Pools, 2)
	cpu, io := st.Pools[0], st.Pools[1]
	assert.Equal(t, "cpu", cpu.Name)
	assert.Equal(t, "cpu", cpu.Kind)
	assert.Equal(t, "round-robin", cpu.Strategy)
	assert.Equal(t, 2, cpu.Workers)
	assert.Len(t, cpu.WorkerList, 2)
	assert.Equal(t, 1024, cpu.QueueCapacity)
	assert.Equal(t, admin.QueueDepth{}, cpu.Queue)
	assert.Equal(t, uint64(1), cpu.Submitted)
	assert.Equal(t, uint64(1), cpu.Completed)
	assert.Equal(t, 2, cpu.WorkerStates["idle"]+cpu.WorkerStates["busy"]+cpu.WorkerStates["starting"])
	assert.Equal(t, "io", io.Name)
	assert.Equal(t, "io", io.Kind)
	assert.Equal(t, "least-busy", io.Strategy)
	assert.Equal(t, uint64(1), io.Failed)
	assert.Equal(t, admin.Counters{Submitted: 2, Completed: 1, Failed: 1}, st.Totals)
	for _, w := range cpu.WorkerList {
		assert.NotEmpty(t, w.Name)
		assert.NotEmpty(t, w.State)
	}

	// The JSON names the fields other tools read.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(get(t, h, "/status").Body.Bytes(), &raw))
	pool := raw["pools"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "kind", "strategy", "workers", "min_workers", "max_workers", "peak_workers",
		"queue", "in_flight", "submitted", "completed", "failed", "timed_out", "rejected", "restarts", "worker_list", "worker_states"} {
		assert.Contains(t, pool, k)
	}
}

func TestNewStatusQueue(t *testing.T) {
	st := admin.NewStatus(actors.NodeStats{Name: "x", Pools: []actors.PoolStats{{
		Name: "p", QueueDepth: [4]int{1, 2, 3, 4}, Submitted: 5, Restarts: 1,
	}}}, false)
	assert.Equal(t, admin.QueueDepth{Critical: 1, High: 2, Normal: 3, Low: 4, Total: 10}, st.Pools[0].Queue)
	assert.Equal(t, admin.Counters{Submitted: 5, Restarts: 1}, st.Totals)
	assert.False(t, st.Ready)
}

func TestWriteText(t *testing.T) {
	n := newNode(t)
	require.NoError(t, run(t, n, actors.Task{Type: "ok", Pool: "cpu"}))
	var buf bytes.Buffer
	require.NoError(t, admin.NewStatus(n.Stats(), true).WriteText(&buf))
	out := buf.String()
	assert.Contains(t, out, "node adm (ready): 1 submitted, 1 completed, 0 failed")
	assert.Contains(t, out, "POOL")
	assert.Regexp(t, `(?m)^cpu +cpu +round-robin +2 +0 +0 \(0/0/0/0\) +1024 +1 +1 +0 +0 +0$`, out)
	assert.Contains(t, out, "pool io: ")
}

func TestProbes(t *testing.T) {
	n := newNode(t)
	h := admin.NewHandler(n)
	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{http.MethodGet, "/healthz", http.StatusOK, "ok\n"},
		{http.MethodGet, "/readyz", http.StatusOK, "ready\n"},
		{http.MethodHead, "/healthz", http.StatusOK, ""},
		{http.MethodGet, "/", http.StatusOK, ""},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/nope", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			assert.Equal(t, tt.code, rec.Code)
			if tt.body != "" {
				assert.Equal(t, tt.body, rec.Body.String())
			}
		})
	}
}

// The default readiness test reads Node.Draining: probing leaves the
// node's counters alone, and follows Shutdown.
func TestReadyFollowsDraining(t *testing.T) {
	n, err := actors.NewNode(actors.WithName("ready"), actors.WithPool(actors.PoolConfig{Name: "one", Workers: 1}))
	require.NoError(t, err)
	h := admin.NewHandler(n)
	probe := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	for range 3 {
		require.Equal(t, http.StatusOK, probe())
	}
	p := n.Stats().Pools[0]
	assert.Zero(t, p.Submitted+p.Rejected, "probes submit nothing")

	shutdown(t, n)
	assert.True(t, n.Draining())
	assert.Equal(t, http.StatusServiceUnavailable, probe())
}

// /readyz turns 503 as soon as Shutdown begins, while tasks still drain,
// and stays so once the node has stopped; /healthz stays 200.
func TestReadyzWhileDraining(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	n, err := actors.NewNode(
		actors.WithName("drain"),
		actors.WithPool(actors.PoolConfig{Name: "one", Workers: 1, QueueCapacity: 1}),
		actors.WithHandler("block", func(context.Context, []byte) ([]byte, error) {
			close(started)
			<-release
			return nil, nil
		}),
		actors.WithHandler("ok", func(context.Context, []byte) ([]byte, error) { return nil, nil }),
	)
	require.NoError(t, err)
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n))
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	base := "http://" + srv.Addr().String()
	code := func(path string) int {
		resp, err := client.Get(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, code("/readyz"))

	running, err := n.Submit(context.Background(), actors.Task{Type: "block"})
	require.NoError(t, err)
	<-started
	queued, err := n.TrySubmit(actors.Task{Type: "ok"}) // fills the queue
	require.NoError(t, err)
	// A Submit waiting for room returns ErrShuttingDown once Shutdown has
	// begun (Node.Draining): the point from which the node is not ready.
	waiting := make(chan error, 1)
	go func() {
		_, err := n.Submit(context.Background(), actors.Task{Type: "ok"})
		waiting <- err
	}()
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := n.Shutdown(ctx)
		shut <- err
	}()
	require.ErrorIs(t, <-waiting, actors.ErrShuttingDown)
	require.True(t, n.Draining())

	assert.Equal(t, http.StatusServiceUnavailable, code("/readyz"), "draining")
	assert.Equal(t, http.StatusOK, code("/healthz"))
	st, err := admin.FetchStatus(context.Background(), client, srv.Addr().String())
	require.NoError(t, err)
	assert.False(t, st.Ready)
	assert.Equal(t, 1, st.Pools[0].InFlight, "one running")
	assert.Equal(t, 1, st.Pools[0].Queue.Total, "one queued")

	close(release)
	require.NoError(t, <-shut)
	_, err = running.Wait(context.Background())
	assert.NoError(t, err)
	_, err = queued.Wait(context.Background())
	assert.NoError(t, err, "the queued task drained")
	assert.Equal(t, http.StatusServiceUnavailable, code("/readyz"), "stopped")

	require.NoError(t, srv.Shutdown(context.Background()))
}

func TestServer(t *testing.T) {
	n := newNode(t)
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n))
	require.NoError(t, err)
	addr := srv.Addr().String()
	assert.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)

	// A second server on the same address is refused, naming it.
	_, err = admin.Start(addr, http.NotFoundHandler())
	require.ErrorIs(t, err, admin.ErrListen)
	assert.Contains(t, err.Error(), "admin: cannot listen on "+addr+": ")

	client := &http.Client{}
	resp, err := client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	fams := parseMetrics(t, resp.Body)
	resp.Body.Close()
	assert.Equal(t, 2.0, value(t, fams, "drover_pool_max_workers", map[string]string{"pool": "cpu"}))

	st, err := admin.FetchStatus(context.Background(), client, "http://"+addr+"/")
	require.NoError(t, err)
	assert.Equal(t, "adm", st.Node)
	assert.True(t, st.Ready)
	client.CloseIdleConnections()

	require.NoError(t, srv.Shutdown(context.Background()))
	<-srv.Done()
	assert.NoError(t, srv.Err())
	assert.NoError(t, srv.Shutdown(context.Background()), "a second Shutdown is harmless")

	_, err = client.Get("http://" + addr + "/healthz")
	assert.Error(t, err, "the address is closed")
	// The port is free again.
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	ln.Close()
}

func TestServerShutdownCutsOffSlowRequests(t *testing.T) {
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	srv, err := admin.Start("127.0.0.1:0", h)
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := client.Get("http://" + srv.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace at all
	err = srv.Shutdown(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	<-done
}

func TestFetchStatusErrors(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer broken.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "{not json")
	}))
	defer garbage.Close()

	tests := []struct {
		name, addr, want string
	}{
		{"server error", broken.URL, "500 Internal Server Error"},
		{"not JSON", garbage.URL, "decode"},
		{"bad URL", "http://[::1", "admin: cannot fetch status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := admin.FetchStatus(context.Background(), broken.Client(), tt.addr)
			require.ErrorIs(t, err, admin.ErrFetch)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	broken.Client().CloseIdleConnections()
}

// A pool whose command cannot start makes the node not ready, and /status
// shows why.
func TestReadyzStartError(t *testing.T) {
	failed := make(chan struct{}, 100)
	pc := actors.ProcessConfig{Command: "/nonexistent/worker"}
	n, err := actors.NewNode(actors.WithName("ready"),
		actors.WithEventHook(func(ev supervision.Event) {
			if _, ok := ev.(supervision.WorkerFailed); ok {
				failed <- struct{}{}
			}
		}),
		actors.WithPool(actors.PoolConfig{Name: "proc", Kind: actors.KindProcess, Workers: 1, Process: &pc}))
	require.NoError(t, err)
	t.Cleanup(func() { shutdown(t, n) })
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not fail to start")
	}
	h := admin.NewHandler(n)
	rec := get(t, h, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), `not ready: pool "proc" cannot start its workers: `)
	assert.Contains(t, rec.Body.String(), "no such file or directory")
	var st admin.Status
	require.NoError(t, json.Unmarshal(get(t, h, "/status").Body.Bytes(), &st))
	assert.False(t, st.Ready)
	require.Len(t, st.Pools, 1)
	assert.Contains(t, st.Pools[0].StartError, "fork/exec /nonexistent/worker")
}
