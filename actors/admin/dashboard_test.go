package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/supervision"
)

// sseMessage is one Server-Sent Event.
type sseMessage struct{ event, data string }

// stream is a client of /events that hands each message to a channel.
type stream struct {
	resp *http.Response
	msgs chan sseMessage
	done chan struct{} // closed once the body has ended
}

// openStream connects to /events on addr. The reader goroutine ends when
// the server ends the stream or close is called.
func openStream(t *testing.T, ctx context.Context, addr string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/events", nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &stream{resp: resp, msgs: make(chan sseMessage, 1024), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.msgs)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var m sseMessage
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				m.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				m.data = strings.TrimPrefix(line, "data: ")
			case line == "" && m.event != "":
				select {
				case s.msgs <- m:
				default: // the test stopped reading
				}
				m = sseMessage{}
			}
		}
	}()
	return s
}

func (s *stream) close() {
	s.resp.Body.Close()
	<-s.done
}

// until reads messages until one of event is found for which match holds,
// failing after 10 s or when the stream ends first.
func (s *stream) until(t *testing.T, event string, match func(data string) bool) sseMessage {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-s.msgs:
			require.True(t, ok, "the stream ended before a %q message", event)
			if m.event == event && (match == nil || match(m.data)) {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q message within 10s", event)
		}
	}
}

func TestDashboardPage(t *testing.T) {
	n := newNode(t)
	h := admin.NewHandler(n)
	rec := get(t, h, "/")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Header().Get("Content-Type"), "text/html")
	assert.Contains(t, rec.Body.String(), `<script src="/ui/app.js" defer></script>`)
	for _, path := range []string{"/ui/app.js", "/ui/style.css"} {
		rec := get(t, h, path)
		assert.Equal(t, http.StatusOK, rec.Code, path)
		assert.NotEmpty(t, rec.Body.String(), path)
	}
	assert.Equal(t, http.StatusNotFound, get(t, h, "/ui/nope.js").Code)
}

func TestDashboardStream(t *testing.T) {
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "fast", Workers: 2,
		Backoff: supervision.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}))
	require.NoError(t, n.WaitReady(t.Context()))
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n, admin.WithSampleInterval(20*time.Millisecond)))
	require.NoError(t, err)
	defer func() { assert.NoError(t, srv.Shutdown(context.Background())) }()
	s := openStream(t, t.Context(), srv.Addr().String())
	defer s.close()

	var hi struct {
		Node       string `json:"node"`
		IntervalMS int64  `json:"interval_ms"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.until(t, "hello", nil).data), &hi))
	assert.Equal(t, "adm", hi.Node)
	assert.Equal(t, int64(20), hi.IntervalMS)

	// Frames follow the node: a completed task shows in a later frame,
	// with its rate over the interval.
	require.NoError(t, run(t, n, actors.Task{Type: "ok", Pool: "cpu"}))
	var f admin.Frame
	s.until(t, "frame", func(data string) bool {
		f = admin.Frame{}
		require.NoError(t, json.Unmarshal([]byte(data), &f))
		return f.Status.Totals.Completed == 1
	})
	require.Len(t, f.Pools, 3)
	assert.Equal(t, "cpu", f.Status.Pools[0].Name)
	assert.Equal(t, "running", f.Status.Pools[0].State)
	assert.Greater(t, f.Node.Seconds, 0.0)

	// A crash is pushed as it happens, with its reason.
	require.NoError(t, n.CrashWorker("fast", 1))
	m := s.until(t, "node", func(data string) bool { return strings.Contains(data, `"worker-failed"`) })
	var e struct{ Kind, Pool, Worker, Level, Text string }
	require.NoError(t, json.Unmarshal([]byte(m.data), &e))
	assert.Equal(t, "fast", e.Pool)
	assert.Equal(t, "fast/w1", e.Worker)
	assert.Equal(t, "warn", e.Level)
	assert.Contains(t, e.Text, "crashed on request")
	s.until(t, "node", func(data string) bool { return strings.Contains(data, `"worker-restarted"`) })
}

// A stream ends, and its goroutine with it, when the server shuts down;
// Shutdown does not wait for its deadline.
func TestDashboardStreamEndsAtServerShutdown(t *testing.T) {
	n := newNode(t)
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n))
	require.NoError(t, err)
	s := openStream(t, t.Context(), srv.Addr().String())
	defer s.close()
	s.until(t, "hello", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, srv.Shutdown(ctx))
	assert.Less(t, time.Since(start), 5*time.Second)
	m := s.until(t, "end", nil)
	assert.Contains(t, m.data, "shutting down")
	<-s.done
}

func TestDashboardStreamEndsWhenNodeStops(t *testing.T) {
	n, err := actors.NewNode(actors.WithName("brief"))
	require.NoError(t, err)
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n))
	require.NoError(t, err)
	defer func() { assert.NoError(t, srv.Shutdown(context.Background())) }()
	s := openStream(t, t.Context(), srv.Addr().String())
	defer s.close()
	s.until(t, "hello", nil)
	shutdown(t, n)
	m := s.until(t, "end", nil)
	assert.Contains(t, m.data, "the node has stopped")
	<-s.done
}

// Streams are bounded in number; a client that goes frees its place.
func TestDashboardStreamLimit(t *testing.T) {
	n := newNode(t)
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n, admin.WithMaxStreams(1)))
	require.NoError(t, err)
	defer func() { assert.NoError(t, srv.Shutdown(context.Background())) }()
	addr := srv.Addr().String()
	first := openStream(t, t.Context(), addr)
	first.until(t, "hello", nil)

	status := func() int {
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + addr + "/events")
		require.NoError(t, err)
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			// Read the hello, then leave.
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			assert.Contains(t, line, "retry:")
		} else {
			body, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(body), "too many event streams (at most 1)")
		}
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusServiceUnavailable, status())
	first.close()
	// The server learns of the departure from the closed connection; no
	// event says when, so poll with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for status() != http.StatusOK {
		require.True(t, time.Now().Before(deadline), "the place was not freed")
	}
}
