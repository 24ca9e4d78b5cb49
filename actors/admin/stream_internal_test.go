package admin

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// stuckWriter is a client that takes no bytes until released, then hands
// each write to a channel.
type stuckWriter struct {
	header  http.Header
	entered chan struct{} // closed at the first write
	release chan struct{}
	once    sync.Once
	writes  chan string
}

func (w *stuckWriter) Header() http.Header { return w.header }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Flush()              {}
func (w *stuckWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	w.writes <- string(p)
	return len(p), nil
}

// TestStreamSlowClient checks what a stream holds for a client that takes
// nothing: its subscription's few events (the rest dropped, counted, and
// reported once the client reads again) and one frame, however many samples
// were taken meanwhile.
func TestStreamSlowClient(t *testing.T) {
	n, err := actors.NewNode(actors.WithName("slow"), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1,
		Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}))
	require.NoError(t, err)
	defer func() {
		_, err := n.Shutdown(context.Background())
		assert.NoError(t, err)
	}()
	require.NoError(t, n.WaitReady(t.Context()))
	s := startSampler(n, func() bool { return true }, nil, time.Hour) // samples only when told
	d := newDashboard(n, s, newOptions(nil))

	w := &stuckWriter{header: http.Header{}, entered: make(chan struct{}), release: make(chan struct{}), writes: make(chan string, 1000)}
	sub := n.Subscribe(4, streamKinds...)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.stream(ctx, sse{w: w, rc: http.NewResponseController(w)}, sub) }()
	<-w.entered

	// While the client is stuck: three crashes and restarts (four events
	// each: failed, restarted, the pool degraded and running again) and
	// five samples.
	// watch sees every event the stuck subscription is offered, and the
	// dispatcher offers each event to every subscription before the next:
	// once watch has the last of a crash's events, the stuck subscription
	// has been offered all of them. Without a hook, worker-state-changed
	// events exist only from this subscription on: a move to idle follows a
	// crash, and with the restart says the worker is live again.
	watch := n.Subscribe(256, supervision.KindWorkerFailed, supervision.KindWorkerRestarted,
		supervision.KindPoolStateChanged, supervision.KindWorkerStateChanged)
	defer watch.Close()
	for range 3 {
		require.NoError(t, n.CrashWorker("p", 0))
		failed, restarted, idle, degraded, running := false, false, false, false, false
		for !failed || !restarted || !idle || !degraded || !running {
			select {
			case e := <-watch.Events():
				switch e := e.(type) {
				case supervision.WorkerFailed:
					failed = true
				case supervision.WorkerRestarted:
					restarted = true
				case supervision.WorkerStateChanged:
					idle = idle || e.To == "idle"
				case supervision.PoolStateChanged:
					degraded = degraded || e.To == actors.PoolDegraded.String()
					running = running || (degraded && e.To == actors.PoolRunning.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the worker did not restart")
			}
		}
	}
	for range 5 {
		s.sample(time.Now())
	}
	assert.GreaterOrEqual(t, sub.Dropped(), uint64(3*4-4), "the events past the buffer are dropped and counted")
	assert.LessOrEqual(t, len(sub.Events()), 4, "the stream holds no more than its buffer")

	close(w.release)
	var out []string
	timeout := time.After(10 * time.Second)
	for all := ""; !strings.Contains(all, "event: dropped") || strings.Count(all, "event: node") < 4; all = strings.Join(out, "") {
		select {
		case m := <-w.writes:
			out = append(out, m)
		case <-timeout:
			t.Fatalf("no dropped message or fewer than 4 events; got %q", out)
		}
	}
	cancel()
	require.NoError(t, <-done)
	for len(w.writes) > 0 {
		out = append(out, <-w.writes)
	}
	all := strings.Join(out, "")
	assert.Equal(t, 1, strings.Count(all, "event: frame"), "a slow client gets the latest frame only")
	assert.Equal(t, 4, strings.Count(all, "event: node"), "the buffered events, no more")
	assert.Contains(t, all, `"kind":"worker-failed"`, "the oldest events were kept")
	assert.Contains(t, all, `event: dropped`)
	assert.Contains(t, all, `{"events":`)
}
