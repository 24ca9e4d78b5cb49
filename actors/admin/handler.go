package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drover-go/drover/actors"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrListen is wrapped by Start's error when the address cannot be bound.
	ErrListen = errors.New("admin: cannot listen")
	// ErrFetch is wrapped by FetchStatus's errors.
	ErrFetch = errors.New("admin: cannot fetch status")
)

// Option configures NewHandler and Start.
type Option func(*options)

type options struct {
	ready     func() bool
	gatherers []prometheus.Gatherer
	runtime   bool
	logger    hclog.Logger
	cluster   func() ClusterStatus
	reason    func() string
	// The dashboard's.
	interval   time.Duration
	maxStreams int
}

// WithReady replaces the readiness test of /readyz, /status and
// drover_node_ready. The default is ready from NewNode's return until
// Shutdown begins (Node.Draining), and not ready from then on, nor while a
// pool has no worker up (idle or busy) and a start error
// (actors.PoolStats.StartError: its command cannot be run, say). ready
// must be safe for concurrent use and quick.
func WithReady(ready func() bool) Option {
	return func(o *options) { o.ready = ready }
}

// WithReadyReason gives /readyz the reason the node is not ready, when
// the test of WithReady says so: reason returns it, or "" to fall back on
// the default reasons. It must be safe for concurrent use and quick.
func WithReadyReason(reason func() string) Option {
	return func(o *options) { o.reason = reason }
}

// WithGatherers adds the metrics of other Prometheus gatherers (a
// service's own prometheus.Registry, say) to /metrics. Name clashes with
// the handler's metrics are reported by the scrape.
func WithGatherers(g ...prometheus.Gatherer) Option {
	return func(o *options) { o.gatherers = append(o.gatherers, g...) }
}

// WithRuntimeMetrics adds the Go runtime's metrics (go_*) and the
// process's (process_*) to /metrics, from collectors registered on the
// handler's own registry.
func WithRuntimeMetrics() Option {
	return func(o *options) { o.runtime = true }
}

// WithLogger sets where the handler's and the server's errors go (a failed
// scrape, a broken connection). The default discards them.
func WithLogger(l hclog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithClusterView adds the cluster section (Status.Cluster) to /status:
// view is called on every request for the cluster as the node's member
// sees it. It must be safe for concurrent use and quick (a cluster
// member's View and Stats never block). The package does not import
// actors/cluster: the caller converts.
func WithClusterView(view func() ClusterStatus) Option {
	return func(o *options) { o.cluster = view }
}

// WithSampleInterval sets how often the dashboard samples the node for its
// frames and charts; DefaultSampleInterval if d is 0 or less. The charts
// keep 300 samples.
func WithSampleInterval(d time.Duration) Option {
	return func(o *options) { o.interval = d }
}

// WithMaxStreams bounds the dashboard's event streams open at once (one per
// open page); DefaultMaxStreams if n is 0 or less. A page past the bound
// gets 503 and tries again.
func WithMaxStreams(n int) Option {
	return func(o *options) { o.maxStreams = n }
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = hclog.NewNullLogger()
	}
	if o.interval <= 0 {
		o.interval = DefaultSampleInterval
	}
	if o.maxStreams <= 0 {
		o.maxStreams = DefaultMaxStreams
	}
	return o
}

func (o options) errorLog() *log.Logger {
	if o.logger.IsError() {
		return o.logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error})
	}
	return log.New(io.Discard, "", 0)
}

// NewHandler returns the admin endpoint of n: the dashboard at /, its
// event stream /events, /metrics, /status, /healthz and /readyz (see the
// package doc), all GET or HEAD. It has a Prometheus registry of its own
// and changes no global state. It starts the dashboard's sampler, a
// goroutine that reads n.Stats once per sample interval and ends when n
// stops. The handler is safe for concurrent use and keeps working,
// reporting not ready, after n stops.
func NewHandler(n *actors.Node, opts ...Option) http.Handler {
	o := newOptions(opts)
	ready := o.ready
	if ready == nil {
		ready = func() bool { return !n.Draining() && startFailing(n.Stats()) == nil }
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(n, ready))
	if o.runtime {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	gatherers := append(prometheus.Gatherers{reg}, o.gatherers...)
	metrics := promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog:      o.errorLog(),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	}))

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := NewStatus(n.Stats(), ready())
		if o.cluster != nil {
			cs := o.cluster()
			st.Cluster = &cs
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			o.logger.Debug("admin: write /status", "error", err)
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready() {
			plain(w, http.StatusOK, "ready")
			return
		}
		if o.reason != nil && !n.Draining() {
			if r := o.reason(); r != "" {
				plain(w, http.StatusServiceUnavailable, "not ready: "+r)
				return
			}
		}
		if p := startFailing(n.Stats()); p != nil && !n.Draining() {
			plain(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: pool %q cannot start its workers: %s", p.Name, p.StartError))
			return
		}
		plain(w, http.StatusServiceUnavailable, "not ready: the node is draining or stopped")
	})
	dash := newDashboard(n, startSampler(n, ready, o.cluster, o.interval), o)
	mux.HandleFunc("GET /{$}", dash.serveIndex)
	mux.Handle("GET /ui/", dash.static)
	mux.HandleFunc("GET /events", dash.serveEvents)
	return mux
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body+"\n")
}

// startFailing returns a pool that has no worker up (idle or busy) and
// failed to start one (PoolStats.StartError), or nil: such a pool makes the
// node not ready.
func startFailing(s actors.NodeStats) *actors.PoolStats {
	for i := range s.Pools {
		p := &s.Pools[i]
		if p.StartError != "" && p.WorkersByState[actors.WorkerIdle]+p.WorkersByState[actors.WorkerBusy] == 0 {
			return p
		}
	}
	return nil
}
