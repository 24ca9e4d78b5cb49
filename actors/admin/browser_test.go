package admin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/supervision"
)

// chromium returns the path of a Chromium to drive, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH: install it (Debian: apt-get install chromium) to run the dashboard's browser test")
	return ""
}

// artifactDir is where the browser test keeps its screenshot:
// $DROVER_TEST_ARTIFACTS when set (kept after the test), else the test's
// temp dir.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("DROVER_TEST_ARTIFACTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

// load submits a mix of tasks until stop closes: quick ones on cpu and io,
// failing ones now and then, and slow ones on narrow, whose small queue
// overflows into rejections. It submits in small batches paced by a ticker, so that it
// loads the node without taking the machine.
func load(n *actors.Node, stop <-chan struct{}) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for j := range 8 {
			_, _ = n.TrySubmit(actors.Task{Type: "ok", Pool: "cpu"})
			if j == 0 && i%4 == 0 {
				_, _ = n.TrySubmit(actors.Task{Type: "fail", Pool: "cpu"})
			}
		}
		_, _ = n.TrySubmit(actors.Task{Type: "ok", Pool: "io"})
		_, _ = n.TrySubmit(actors.Task{Type: "slow", Pool: "narrow", Priority: actors.Priority(1 + i%4)})
	}
}

// pageState is what the page shows of one pool, read from its DOM.
type pageState struct {
	Pools    []string                  `json:"pools"`
	Counters map[string]map[string]int `json:"counters"` // pool -> counter -> value
	Cells    map[string]map[string]int `json:"cells"`    // pool -> state -> grid cells
	Totals   map[string]int            `json:"totals"`
}

const readPage = `(() => {
  const out = {pools: [], counters: {}, cells: {}, totals: {}};
  for (const p of document.querySelectorAll("article.pool")) {
    const name = p.dataset.pool;
    out.pools.push(name);
    out.counters[name] = {};
    for (const c of p.querySelectorAll("[data-counter]")) out.counters[name][c.dataset.counter] = Number(c.dataset.value);
    out.cells[name] = {};
    for (const c of p.querySelectorAll(".grid .cell")) out.cells[name][c.dataset.state] = (out.cells[name][c.dataset.state] || 0) + 1;
  }
  for (const c of document.querySelectorAll("[data-total] .v")) out.totals[c.parentElement.dataset.total] = Number(c.dataset.value);
  return out;
})()`

// TestDashboardInBrowser opens the dashboard of a node under load in
// headless Chromium and checks what a person would see: the pools, worker
// states and counters that match /status, a forced crash in the event feed
// within a second, and no console error.
func TestDashboardInBrowser(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("starts a browser")
	}
	n := newNode(t,
		actors.WithHandler("slow", func(ctx context.Context, _ []byte) ([]byte, error) {
			// Simulated work: holds its worker 20 ms, or until canceled.
			select {
			case <-time.After(20 * time.Millisecond):
				return nil, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}),
		actors.WithPool(actors.PoolConfig{Name: "narrow", Workers: 1, QueueCapacity: 4}),
		actors.WithPool(actors.PoolConfig{Name: "guarded", Workers: 1, Breaker: &supervision.BreakerConfig{}}),
	)
	require.NoError(t, n.WaitReady(t.Context()))
	members := admin.ClusterStatus{Name: "prod", Members: []admin.MemberStatus{
		{ID: "a", Name: "adm", Address: "127.0.0.1:7001", Self: true, State: "up", ReportAgeMS: 12},
		{ID: "b", Name: "other", Address: "127.0.0.1:7002", State: "joining", ReportAgeMS: -1},
	}}
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n, admin.WithSampleInterval(200*time.Millisecond),
		admin.WithClusterView(func() admin.ClusterStatus { return members })))
	require.NoError(t, err)
	defer func() { assert.NoError(t, srv.Shutdown(context.Background())) }()
	url := "http://" + srv.Addr().String() + "/"

	stop := make(chan struct{})
	var loadDone sync.WaitGroup
	loadDone.Add(1)
	go func() { defer loadDone.Done(); load(n, stop) }()
	stopLoad := sync.OnceFunc(func() { close(stop); loadDone.Wait() })
	defer stopLoad()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 1200))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	// Collect the page's console errors and uncaught exceptions until the
	// checks are done.
	var (
		consoleMu sync.Mutex
		problems  []string
	)
	messages := chromedp.Console(browser)
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(url)))
	watchCtx, stopWatch := context.WithCancel(browser)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for m, err := range messages {
			if err != nil || watchCtx.Err() != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				consoleMu.Lock()
				problems = append(problems, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
				consoleMu.Unlock()
			}
		}
	}()

	// The page shows the pools, and frames keep coming under load.
	require.NoError(t, chromedp.Do(browser, chromedp.WaitVisible(`article.pool[data-pool="io"]`)))
	first, err := chromedp.Run(browser, chromedp.Evaluate[int](`window.drover.frames`))
	require.NoError(t, err)
	_, err = chromedp.Run(browser, chromedp.Poll[bool](fmt.Sprintf(`window.drover.frames >= %d`, first+3), chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the page got no new frames")
	live, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.getElementById("conn").dataset.conn`))
	require.NoError(t, err)
	assert.Equal(t, "live", live)

	// A forced crash appears in the feed within a second.
	const feedItem = `document.querySelector('#feed li[data-kind="worker-failed"][data-worker="cpu/w1"]')`
	require.NoError(t, n.CrashWorker("cpu", 1))
	crashed := time.Now()
	_, err = chromedp.Run(browser, chromedp.Poll[bool](feedItem+` !== null`, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(time.Second)))
	require.NoError(t, err, "the crash did not reach the feed within a second")
	t.Logf("crash in the feed after %s", time.Since(crashed).Round(time.Millisecond))
	text, err := chromedp.Run(browser, chromedp.Evaluate[string](feedItem+`.textContent`))
	require.NoError(t, err)
	assert.Contains(t, text, "crashed on request")
	_, err = chromedp.Run(browser, chromedp.Poll[bool](`document.querySelector('#feed li[data-kind="worker-restarted"][data-worker="cpu/w1"]') !== null`,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the restart did not reach the feed")

	// The screenshot shows the page under load, the crash in its feed.
	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err, "the screenshot is a PNG")
	assert.GreaterOrEqual(t, img.Bounds().Dx(), 1000)
	path := filepath.Join(artifactDir(t), "dashboard.png")
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)

	// Once the load stops and the node is idle, the page settles on what
	// /status says.
	stopLoad()
	// Each worker's last move to idle is an event: subscribed before the
	// first check, a node not settled yet has one on its way.
	states := n.Subscribe(1024, supervision.KindWorkerStateChanged)
	defer states.Close()
	settled := time.NewTimer(10 * time.Second)
	defer settled.Stop()
	for {
		s := n.Stats()
		idle := true
		for _, p := range s.Pools {
			idle = idle && p.InFlight == 0 && p.QueueDepth == [4]int{} && p.Submitted == p.Completed+p.Failed &&
				p.WorkersByState[actors.WorkerIdle] == p.Workers
		}
		if idle {
			break
		}
		select {
		case <-states.Events():
		case <-settled.C:
			t.Fatal("the node did not settle")
		}
	}
	st, err := admin.FetchStatus(ctx, nil, srv.Addr().String())
	require.NoError(t, err)
	require.NotZero(t, st.Totals.Completed)
	require.NotZero(t, st.Totals.Failed)
	require.NotZero(t, st.Totals.Rejected, "narrow's queue never overflowed")
	want := pageState{Counters: map[string]map[string]int{}, Cells: map[string]map[string]int{}, Totals: map[string]int{
		"submitted": int(st.Totals.Submitted), "completed": int(st.Totals.Completed), "failed": int(st.Totals.Failed),
		"rejected": int(st.Totals.Rejected), "restarts": int(st.Totals.Restarts), "timed_out": int(st.Totals.TimedOut),
		"retries": int(st.Totals.Retries),
	}}
	for _, p := range st.Pools {
		want.Pools = append(want.Pools, p.Name)
		want.Counters[p.Name] = map[string]int{"submitted": int(p.Submitted), "completed": int(p.Completed), "failed": int(p.Failed),
			"rejected": int(p.Rejected), "restarts": int(p.Restarts), "in_flight": p.InFlight}
		want.Cells[p.Name] = map[string]int{}
		for state, k := range p.WorkerStates {
			if k > 0 {
				want.Cells[p.Name][state] = k
			}
		}
	}
	var got pageState
	deadline := time.Now().Add(10 * time.Second) // a bound on the page's frames, which it counts itself
	for {
		got, err = chromedp.Run(browser, chromedp.Evaluate[pageState](readPage))
		require.NoError(t, err)
		if assert.ObjectsAreEqual(want, got) || time.Now().After(deadline) {
			break
		}
		// The next frame brings the settled numbers; wait for it.
		frames, err := chromedp.Run(browser, chromedp.Evaluate[int](`window.drover.frames`))
		require.NoError(t, err)
		_, err = chromedp.Run(browser, chromedp.Poll[bool](fmt.Sprintf(`window.drover.frames > %d`, frames), chromedp.WithPollingTimeout(5*time.Second)))
		require.NoError(t, err)
	}
	assert.Equal(t, want, got, "the page disagrees with /status")
	assert.Equal(t, []string{"cpu", "io", "narrow", "guarded"}, got.Pools)
	breaker, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.querySelector('[data-pool="guarded"] [data-breaker="(pool)"]').textContent`))
	require.NoError(t, err)
	assert.Equal(t, "pool: closed", breaker)

	rows, err := chromedp.Run(browser, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#members tr")].map((r) => r.dataset.member + " " + r.children[2].textContent)`))
	require.NoError(t, err)
	assert.Equal(t, []string{"adm up", "other joining"}, rows, "the cluster's members")

	// The node stops: the page says so, and its numbers are no longer live.
	shutdown(t, n)
	ended, err := chromedp.Run(browser, chromedp.Poll[string](`document.getElementById("conn").dataset.conn === "ended" && document.getElementById("conn").textContent`,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	assert.Contains(t, ended, "the node has stopped")

	stopWatch()
	consoleMu.Lock()
	assert.Empty(t, problems, "the page wrote errors to its console")
	consoleMu.Unlock()
	cancelBrowser()
	<-watchDone
	if err := chromedp.Cancel(browser); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("closing the browser: %v", err)
	}
}
