package admin

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

//go:embed web
var webFiles embed.FS

// Limits of the dashboard's event stream.
const (
	// DefaultMaxStreams bounds the event streams served at once; more get
	// 503 (see WithMaxStreams).
	DefaultMaxStreams = 32
	// streamBuffer is each stream's buffer of node events; a client that
	// falls further behind loses events, and the page is told how many.
	streamBuffer = 256
	// streamWriteTimeout bounds each write to a stream: a client that takes
	// no bytes for that long is cut off.
	streamWriteTimeout = 10 * time.Second
	// retryMS is how long a page waits before it reconnects a lost stream.
	retryMS = 2000
)

// streamKinds are the events a stream carries: all but worker-state-changed,
// which every task causes twice; the page takes worker states from the
// frames.
var streamKinds = []supervision.EventKind{
	supervision.KindWorkerStarted, supervision.KindWorkerFailed, supervision.KindWorkerRestarted,
	supervision.KindWorkerGaveUp, supervision.KindWorkerStuck, supervision.KindWorkerUnhealthy,
	supervision.KindPoolFailed, supervision.KindBreakerStateChanged, supervision.KindTaskQuarantined,
	supervision.KindPoolScaled, supervision.KindResourcePressure, supervision.KindPoolStateChanged,
}

// dashboard serves the page and its event stream for one node.
type dashboard struct {
	node       *actors.Node
	sampler    *sampler
	logger     hclog.Logger
	maxStreams int64
	streams    atomic.Int64
	static     http.Handler
}

func newDashboard(n *actors.Node, s *sampler, o options) *dashboard {
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return &dashboard{
		node:       n,
		sampler:    s,
		logger:     o.logger,
		maxStreams: int64(o.maxStreams),
		static:     http.StripPrefix("/ui/", http.FileServerFS(web)),
	}
}

func (d *dashboard) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	http.ServeFileFS(w, r, webFiles, "web/index.html")
}

// eventJSON is a node event as the page shows it.
type eventJSON struct {
	Kind string `json:"kind"`
	// T is when it happened, Unix milliseconds.
	T      int64  `json:"t"`
	Pool   string `json:"pool,omitempty"`
	Worker string `json:"worker,omitempty"`
	// Level is "info", "warn" or "error", for the page's colours.
	Level string `json:"level"`
	Text  string `json:"text"`
}

func newEventJSON(e supervision.Event) eventJSON {
	j := eventJSON{Kind: e.Kind().String(), T: e.Time().UnixMilli(), Level: "info", Text: e.String()}
	switch e := e.(type) {
	case supervision.WorkerStarted:
		j.Pool, j.Worker, j.Text = e.Pool, e.Worker, "started"
	case supervision.WorkerFailed:
		j.Pool, j.Worker, j.Level = e.Pool, e.Worker, "warn"
		j.Text = fmt.Sprintf("failed (%s, attempt %d): %v", e.Directive, e.Attempt, e.Reason)
	case supervision.WorkerRestarted:
		j.Pool, j.Worker = e.Pool, e.Worker
		j.Text = "restarted at once"
		if e.Delay > 0 {
			j.Text = fmt.Sprintf("restarted after %s", e.Delay.Round(100*time.Microsecond))
		}
		if e.Attempt > 0 {
			j.Text += fmt.Sprintf(" (attempt %d)", e.Attempt)
		}
		if e.Reason != "" {
			j.Text += ": " + e.Reason
		}
	case supervision.WorkerGaveUp:
		j.Pool, j.Worker, j.Level = e.Pool, e.Worker, "error"
		j.Text = fmt.Sprintf("gave up after %d restarts: %v", e.Restarts, e.Reason)
	case supervision.WorkerStuck:
		j.Pool, j.Worker, j.Level = e.Pool, e.Worker, "warn"
		j.Text = fmt.Sprintf("stuck on one task for %s", e.Elapsed.Round(time.Millisecond))
	case supervision.WorkerUnhealthy:
		j.Pool, j.Worker, j.Level = e.Pool, e.Worker, "warn"
		j.Text = fmt.Sprintf("unhealthy after %d failed probes: %v", e.Failures, e.Reason)
	case supervision.PoolFailed:
		j.Pool, j.Level = e.Pool, "error"
		j.Text = fmt.Sprintf("pool failed: %v", e.Reason)
		if e.Escalated {
			j.Text += " (escalated past the node)"
		}
	case supervision.PoolStateChanged:
		j.Pool = e.Pool
		j.Text = fmt.Sprintf("pool %s → %s", e.From, e.To)
		if e.To == "failed" {
			j.Level = "error"
		} else if e.To == "degraded" || e.To == "restarting" {
			j.Level = "warn"
		}
	case supervision.BreakerStateChanged:
		j.Pool = e.Pool
		name := "breaker"
		if e.TaskType != "" {
			name = "breaker of " + e.TaskType
		}
		j.Text = fmt.Sprintf("%s %s → %s", name, e.From, e.To)
		if e.To == supervision.Open {
			j.Level = "warn"
		}
	case supervision.TaskQuarantined:
		j.Pool, j.Level = e.Pool, "warn"
		j.Text = fmt.Sprintf("task %q quarantined after %d crashes", e.TaskID, e.Crashes)
	case supervision.PoolScaled:
		j.Pool = e.Pool
		j.Text = fmt.Sprintf("scaled %d → %d workers (%s)", e.From, e.To, e.Reason)
	case supervision.ResourcePressure:
		j.Text = fmt.Sprintf("resource pressure %s → %s (memory %.1f MiB, cpu %.1f%%)", e.From, e.To, float64(e.Memory)/(1<<20), e.CPUPercent)
		if e.To != "normal" {
			j.Level = "warn"
		}
	}
	return j
}

// errStreamEnded is how a stream's write loop learns that its client is
// gone or too slow.
var errStreamEnded = errors.New("admin: stream ended")

// sse writes Server-Sent Events to one client, each under its own write
// deadline.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s sse) send(event string, data []byte) error {
	if err := s.write(event, data); err != nil {
		return err
	}
	return s.flush()
}

// write writes one message without flushing it, under a fresh write
// deadline.
func (s sse) write(event string, data []byte) error {
	// A writer without deadlines (a test recorder) gets none.
	if err := s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return fmt.Errorf("%w: %w", errStreamEnded, err)
	}
	return nil
}

func (s sse) flush() error {
	if err := s.rc.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errStreamEnded, err)
	}
	return nil
}

func (s sse) sendJSON(event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.send(event, data)
}

// hello is the first message of a stream.
type hello struct {
	Node       string  `json:"node"`
	IntervalMS int64   `json:"interval_ms"`
	History    []Rates `json:"history"`
}

// serveEvents streams the node to one page: a hello with the charts'
// history, then the node's events as they happen and a frame after each
// sample, until the client goes, the node stops or the server shuts down.
// What it holds per client is bounded: a subscription of streamBuffer
// events (the rest dropped and counted, the page told) and the latest
// frame (a slow client skips frames, it never queues them).
func (d *dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	if d.streams.Add(1) > d.maxStreams {
		d.streams.Add(-1)
		plain(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams (at most %d)", d.maxStreams))
		return
	}
	defer d.streams.Add(-1)
	sub := d.node.Subscribe(streamBuffer, streamKinds...)
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	out := sse{w: w, rc: http.NewResponseController(w)}
	err := d.stream(r.Context(), out, sub)
	if err != nil && !errors.Is(err, errStreamEnded) {
		d.logger.Debug("admin: event stream", "error", err)
	}
}

func (d *dashboard) stream(ctx context.Context, out sse, sub *actors.Subscription) error {
	var shutdown <-chan struct{}
	if c, ok := ctx.Value(shutdownKey{}).(chan struct{}); ok {
		shutdown = c
	}
	if _, err := fmt.Fprintf(out.w, "retry: %d\n\n", retryMS); err != nil {
		return fmt.Errorf("%w: %w", errStreamEnded, err)
	}
	cur := d.sampler.cur.Load()
	if err := out.sendJSON("hello", hello{Node: d.node.Stats().Name, IntervalMS: d.sampler.interval.Milliseconds(), History: cur.history}); err != nil {
		return err
	}
	if cur.frame != nil {
		if err := out.send("frame", cur.frame); err != nil {
			return err
		}
	}
	var dropped uint64
	events := sub.Events()
	for {
		if cur.stopped {
			return out.sendJSON("end", map[string]string{"reason": "the node has stopped"})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-shutdown:
			return out.sendJSON("end", map[string]string{"reason": "the admin server is shutting down"})
		case <-cur.next:
			cur = d.sampler.cur.Load()
			if err := out.send("frame", cur.frame); err != nil {
				return err
			}
		case e, ok := <-events:
			if !ok {
				// The node stopped; its last frame comes with the
				// sampler's stop.
				events = nil
				continue
			}
			// A burst of events (a crash loop, say) goes out in one flush.
			for more := 0; ; more++ {
				data, err := json.Marshal(newEventJSON(e))
				if err != nil {
					return err
				}
				if err := out.write("node", data); err != nil {
					return err
				}
				if more == eventBurst {
					break
				}
				if e, ok = tryRecv(events); !ok {
					break
				}
			}
			if err := out.flush(); err != nil {
				return err
			}
		}
		if n := sub.Dropped(); n > dropped {
			dropped = n
			if err := out.sendJSON("dropped", map[string]uint64{"events": n}); err != nil {
				return err
			}
		}
	}
}

// eventBurst bounds the events written after the first before a flush.
const eventBurst = 64

// tryRecv returns an event that is ready on events, or false if none is
// (or events is closed: the select in stream sees the close next).
func tryRecv(events <-chan supervision.Event) (supervision.Event, bool) {
	select {
	case e, ok := <-events:
		return e, ok
	default:
		return nil, false
	}
}

// shutdownKey keys the channel Start's server closes when it begins to shut
// down, in every request's context; streams end on it.
type shutdownKey struct{}
