package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// Defaults of Listen, each replaced by the option of the same name.
const (
	DefaultWindow     = 1024
	DefaultMaxRequest = 8 << 20
	DefaultRetention  = 10 * time.Minute
	DefaultKeep       = 10000
	DefaultMaxWait    = time.Minute
	DefaultRetryAfter = 100 * time.Millisecond
)

// HTTP timeouts. A request may wait for its result up to the server's
// longest wait; the write timeout leaves room for that.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	sniffTimeout      = 10 * time.Second
)

// Option configures Listen.
type Option func(*options) error

type options struct {
	token      []byte // sha256 of the token; nil: none
	tls        *tls.Config
	insecure   bool
	logger     hclog.Logger
	window     int
	maxRequest int
	retention  time.Duration
	keep       int
	maxWait    time.Duration
	retryAfter time.Duration
	rate       rate.Limit
	burst      int
	now        func() time.Time
	reload     ReloadFunc
}

// WithToken requires every request to carry "Authorization: Bearer
// token" (gRPC metadata "authorization" alike). The token is compared in
// constant time.
func WithToken(token string) Option {
	return func(o *options) error {
		if token == "" {
			return fmt.Errorf("%w: WithToken: the token is empty", ErrInvalidConfig)
		}
		sum := sha256.Sum256([]byte(token))
		o.token = sum[:]
		return nil
	}
}

// WithTLS serves over TLS with cfg; with cfg.ClientCAs set and
// cfg.ClientAuth at tls.RequireAndVerifyClientCert (as
// cluster.LoadTLS gives it), only clients with a certificate of that CA
// get in: mutual TLS.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) error {
		if cfg == nil {
			return fmt.Errorf("%w: WithTLS: the config is nil", ErrInvalidConfig)
		}
		o.tls = cfg
		return nil
	}
}

// WithInsecure lets Listen bind an address other machines can reach with
// neither a token nor TLS. Listen then logs a warning.
func WithInsecure() Option {
	return func(o *options) error { o.insecure = true; return nil }
}

// WithLogger sets where the server logs (at Debug, but for the warning of
// WithInsecure); the default discards.
func WithLogger(l hclog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithWindow bounds the unfinished tasks of one SubmitStream (those whose
// result has not been sent); the default is DefaultWindow.
func WithWindow(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 1<<20 {
			return fmt.Errorf("%w: WithWindow is %d; allowed: 1 to 1048576", ErrInvalidConfig, n)
		}
		o.window = n
		return nil
	}
}

// WithMaxRequest bounds one request, in bytes: an HTTP body, a gRPC
// message (a stream's batch of tasks included). The default is
// DefaultMaxRequest (8 MiB).
func WithMaxRequest(n int) Option {
	return func(o *options) error {
		if n < 1024 {
			return fmt.Errorf("%w: WithMaxRequest is %d; allowed: 1024 or more", ErrInvalidConfig, n)
		}
		o.maxRequest = n
		return nil
	}
}

// WithRetention keeps a finished task's result, and its id for
// idempotency, for d and for at most the keep most recent ones. The
// defaults are DefaultRetention and DefaultKeep.
func WithRetention(d time.Duration, keep int) Option {
	return func(o *options) error {
		if d <= 0 || keep < 1 {
			return fmt.Errorf("%w: WithRetention is %s, %d; allowed: a duration above 0 and a count of 1 or more", ErrInvalidConfig, d, keep)
		}
		o.retention, o.keep = d, keep
		return nil
	}
}

// WithMaxWait bounds how long a Submit or Result may wait for a result;
// the default is DefaultMaxWait.
func WithMaxWait(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithMaxWait is %s; allowed: above 0", ErrInvalidConfig, d)
		}
		o.maxWait = d
		return nil
	}
}

// WithRetryAfter sets the retry delay given with a queue-full refusal
// (RetryInfo, Retry-After in whole seconds); the default is
// DefaultRetryAfter.
func WithRetryAfter(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithRetryAfter is %s; allowed: above 0", ErrInvalidConfig, d)
		}
		o.retryAfter = d
		return nil
	}
}

// WithRateLimit bounds the tasks one connection may submit, perSecond on
// average with bursts of burst. Over it, Submit and POST are refused like
// a full queue (RESOURCE_EXHAUSTED / 429 with the delay) and a stream is
// held back. The default is no limit.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) error {
		if perSecond <= 0 || burst < 1 {
			return fmt.Errorf("%w: WithRateLimit is %g/s, burst %d; allowed: above 0, burst 1 or more", ErrInvalidConfig, perSecond, burst)
		}
		o.rate, o.burst = rate.Limit(perSecond), burst
		return nil
	}
}

// Server serves a node's task API, gRPC (TaskService) and HTTP/JSON, on
// one listener. All its methods are safe for concurrent use.
type Server struct {
	protos.UnimplementedTaskServiceServer

	node     *actors.Node
	nodeName string
	o        options
	log      hclog.Logger
	tasks    *table

	mux  *sniffer
	grpc *grpc.Server
	http *http.Server

	stopping chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup // serving goroutines, stream readers, waiters
	done     chan struct{}
	shutOnce sync.Once
}

// Listen binds addr ("127.0.0.1:7070"; port 0 picks a free one, see Addr)
// and serves node's task API on it until Shutdown: gRPC to clients that
// speak HTTP/2, HTTP/JSON to the others (HTTP/1.1). Defaults: no token,
// no TLS, a stream window of 1024 tasks, requests up to 8 MiB, results
// kept 10 minutes and at most 10000, waits up to 1 minute, a retry delay
// of 100ms, no rate limit. An address other machines can reach needs
// WithToken or WithTLS, or WithInsecure; without, Listen returns
// ErrInsecure.
func Listen(addr string, node *actors.Node, opts ...Option) (*Server, error) {
	o := options{
		window: DefaultWindow, maxRequest: DefaultMaxRequest, retention: DefaultRetention,
		keep: DefaultKeep, maxWait: DefaultMaxWait, retryAfter: DefaultRetryAfter, now: time.Now,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.logger == nil {
		o.logger = hclog.NewNullLogger()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %w", ErrListen, addr, err)
	}
	if !loopback(ln.Addr()) && o.token == nil && o.tls == nil {
		if !o.insecure {
			_ = ln.Close()
			return nil, fmt.Errorf("%w: %s", ErrInsecure, ln.Addr())
		}
		o.logger.Warn("the task API is reachable from other machines and has no authentication", "addr", ln.Addr().String())
	}
	s := &Server{
		node:     node,
		nodeName: node.Stats().Name,
		o:        o,
		log:      o.logger,
		tasks:    newTable(o.retention, o.keep, o.now),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	var tcfg *tls.Config
	if o.tls != nil {
		tcfg = o.tls.Clone()
		if tcfg.MinVersion == 0 {
			tcfg.MinVersion = tls.VersionTLS12
		}
		tcfg.NextProtos = []string{"h2", "http/1.1"}
	}
	s.mux = newSniffer(ln, tcfg, sniffTimeout)
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(o.maxRequest),
		grpc.StatsHandler(connTagger{s: s}),
		grpc.ChainUnaryInterceptor(s.unaryAuth),
		grpc.ChainStreamInterceptor(s.streamAuth),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	protos.RegisterTaskServiceServer(s.grpc, s)
	s.http = &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      o.maxWait + readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       func(ctx context.Context, _ net.Conn) context.Context { return s.withLimiter(ctx) },
		ErrorLog:          o.logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.mux.serve() }()
	go func() { defer s.wg.Done(); _ = s.grpc.Serve(s.mux.grpc) }()
	go func() { defer s.wg.Done(); _ = s.http.Serve(s.mux.http) }()
	s.log.Debug("task API listening", "addr", ln.Addr().String())
	return s, nil
}

// Addr returns the address the server listens on, with the port it got.
func (s *Server) Addr() net.Addr { return s.mux.Addr() }

// Shutdown stops the server: it stops accepting connections and new
// tasks, lets streams send the results of their tasks and requests in
// progress finish until ctx ends, then closes every connection (a stream
// cut off then cancels its unfinished tasks, as any broken stream does).
// Call it after the node's Shutdown, which gives every task its result,
// to lose none. It returns once every goroutine of the server has ended,
// with ctx's error if connections had to be cut. Later calls return nil.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutOnce.Do(func() {
		s.stopOnce.Do(func() { close(s.stopping) })
		s.mux.close()
		graceful := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(graceful) }()
		herr := s.http.Shutdown(ctx)
		select {
		case <-graceful:
		case <-ctx.Done():
			err = ctx.Err()
			s.grpc.Stop()
			<-graceful
		}
		if herr != nil {
			err = herr
			_ = s.http.Close()
		}
		s.wg.Wait()
		close(s.done)
	})
	return err
}

// Done returns a channel closed once Shutdown has finished.
func (s *Server) Done() <-chan struct{} { return s.done }

// authorized reports whether header, an Authorization value, carries the
// token, or whether no token is needed.
func (s *Server) authorized(header string) bool {
	if s.o.token == nil {
		return true
	}
	const prefix = "Bearer "
	if len(header) <= len(prefix) || header[:len(prefix)] != prefix {
		return false
	}
	sum := sha256.Sum256([]byte(header[len(prefix):]))
	return subtle.ConstantTimeCompare(sum[:], s.o.token) == 1
}

// limiterKey keys a connection's rate limiter in its context.
type limiterKey struct{}

func (s *Server) withLimiter(ctx context.Context) context.Context {
	if s.o.rate == 0 {
		return ctx
	}
	return context.WithValue(ctx, limiterKey{}, rate.NewLimiter(s.o.rate, s.o.burst))
}

// allow takes one task from ctx's connection budget, or says how long to
// wait for one.
func allow(ctx context.Context) (time.Duration, bool) {
	l, _ := ctx.Value(limiterKey{}).(*rate.Limiter)
	if l == nil {
		return 0, true
	}
	r := l.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d, false
	}
	return 0, true
}

// waitBudget waits for one task of ctx's connection budget.
func waitBudget(ctx context.Context) error {
	l, _ := ctx.Value(limiterKey{}).(*rate.Limiter)
	if l == nil {
		return nil
	}
	return l.Wait(ctx)
}

func loopback(addr net.Addr) bool {
	a, ok := addr.(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// isStopping reports whether Shutdown has begun.
func (s *Server) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

var (
	errStopping    = fmt.Errorf("%w: the task API is stopping", actors.ErrShuttingDown)
	errNodeStopped = fmt.Errorf("%w: the node has stopped", actors.ErrShuttingDown)
)
