package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrClosed is returned by calls after Close. It wraps
	// actors.ErrShuttingDown too.
	ErrClosed = errors.New("client: closed")
	// ErrConnection is wrapped by errors that come from the connection to
	// the node, not from the node: it cannot be reached, or the stream
	// broke. A task whose stream broke ends with an error that wraps it
	// and actors.ErrCanceled, since the node cancels a lost stream's
	// tasks.
	ErrConnection = errors.New("client: no connection to the node")
	// ErrUnauthenticated is returned when the node refuses the client's
	// credentials (no token, a wrong token).
	ErrUnauthenticated = errors.New("client: refused by the node: unauthenticated")
	// ErrInvalidConfig is returned by Dial for a bad option.
	ErrInvalidConfig = errors.New("client: invalid config")
)

// Defaults of Dial.
const (
	DefaultWindow = 1024
	maxMessage    = 64 << 20
)

// Option configures Dial.
type Option func(*options) error

type options struct {
	token   string
	tls     *tls.Config
	window  int
	backoff supervision.Backoff
	detach  bool
	dial    []grpc.DialOption
}

// WithToken sends "authorization: Bearer token" with every call.
func WithToken(token string) Option {
	return func(o *options) error { o.token = token; return nil }
}

// WithTLS dials over TLS with cfg; give it a certificate (cluster.LoadTLS
// makes such a config) for a node that requires mutual TLS.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) error {
		if cfg == nil {
			return fmt.Errorf("%w: WithTLS: the config is nil", ErrInvalidConfig)
		}
		o.tls = cfg
		return nil
	}
}

// WithWindow bounds the client's tasks without a result; Submit waits for
// room, TrySubmit returns actors.ErrQueueFull. The default is
// DefaultWindow; the node bounds each stream by its own window too.
func WithWindow(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: WithWindow is %d; allowed: 1 or more", ErrInvalidConfig, n)
		}
		o.window = n
		return nil
	}
}

// WithBackoff sets the delays between attempts to reopen the stream once
// it broke; zero fields take supervision's defaults.
func WithBackoff(b supervision.Backoff) Option {
	return func(o *options) error {
		if err := b.Validate(); err != nil {
			return fmt.Errorf("%w: WithBackoff: %w", ErrInvalidConfig, err)
		}
		o.backoff = b
		return nil
	}
}

// WithDetach asks the node to let the client's tasks run on when the
// stream breaks, instead of canceling them. Their futures still end with
// an ErrConnection error; a task with an ID can be looked up with Result.
func WithDetach() Option {
	return func(o *options) error { o.detach = true; return nil }
}

// WithDialOptions adds gRPC dial options.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) error { o.dial = append(o.dial, opts...); return nil }
}

// Client submits tasks to a Drover node over its task API (package
// actors/api). Its tasks travel on one pipelined stream, opened again with
// backoff when it breaks. All its methods are safe for concurrent use.
type Client struct {
	conn  *grpc.ClientConn
	api   protos.TaskServiceClient
	o     options
	slots chan struct{} // a token per task without its result
	// closing closes when Close begins: Submit stops waiting for a slot.
	closing chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	cur     *stream
	attempt int
	closed  bool
}

// Dial returns a client of the node at addr ("127.0.0.1:7070"). It does
// not wait for the node: the first Submit connects. Defaults: no token,
// no TLS, a window of DefaultWindow tasks, supervision's default backoff.
func Dial(addr string, opts ...Option) (*Client, error) {
	o := options{window: DefaultWindow}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	dial := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage))}
	if o.tls != nil {
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(o.tls)))
	} else {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if o.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: o.token, secure: o.tls != nil}))
	}
	conn, err := grpc.Dial(addr, append(dial, o.dial...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %w", ErrConnection, addr, err)
	}
	return &Client{conn: conn, api: protos.NewTaskServiceClient(conn), o: o, slots: make(chan struct{}, o.window), closing: make(chan struct{})}, nil
}

// bearer is a token as per-RPC credentials.
type bearer struct {
	token  string
	secure bool
}

// GetRequestMetadata returns the authorization header.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is true with TLS: a token is then never sent in clear.
func (b bearer) RequireTransportSecurity() bool { return b.secure }

// Submit sends a task to the node and returns its Future once the node
// has accepted it, as actors.Node.Submit does: it waits for room (in the
// client's window, and in the node's queue, retrying after the delay the
// node gives) until ctx ends, which gives an error wrapping
// actors.ErrQueueFull and ctx's error. A task the node refuses gives its
// error, wrapping the same sentinel as the node's (errors.Is(err,
// actors.ErrNoHandler), ...). ctx bounds the submission only; set
// Task.Context to bind the task, or call Future.Cancel. Task.Func cannot
// cross the wire.
func (c *Client) Submit(ctx context.Context, t actors.Task) (*actors.Future, error) {
	return c.submit(ctx, t, true)
}

// Go sends a task to the node and returns its Future without waiting for
// the node's answer, so that one goroutine can keep many tasks in flight (a
// pipeline). It waits only for room in the client's window, until ctx
// ends. A task the node refuses (its queue full, no handler, ...) ends its
// Future with the node's error, wrapping the same sentinel as Submit's
// error would; Go does not retry it. ctx bounds the wait for room only;
// Task.Context binds the task, as for Submit.
func (c *Client) Go(ctx context.Context, t actors.Task) (*actors.Future, error) {
	env, err := Envelope(t)
	if err != nil {
		return nil, err
	}
	if t.Context != nil && t.Context.Err() != nil {
		return nil, fmt.Errorf("%w: Task.Context: %w", actors.ErrCanceled, t.Context.Err())
	}
	select {
	case c.slots <- struct{}{}:
	case <-c.closing:
		return nil, fmt.Errorf("%w: %w", ErrClosed, actors.ErrShuttingDown)
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", actors.ErrQueueFull, ctx.Err())
	}
	st, err := c.stream(ctx, true)
	if err != nil {
		<-c.slots
		return nil, err
	}
	return st.add(env, t.Context).p.Future(), nil
}

// TrySubmit is Submit without waiting for room: a full window or a full
// queue on the node gives actors.ErrQueueFull at once. It still waits for
// the node's answer.
func (c *Client) TrySubmit(t actors.Task) (*actors.Future, error) {
	return c.submit(context.Background(), t, false)
}

func (c *Client) submit(ctx context.Context, t actors.Task, wait bool) (*actors.Future, error) {
	env, err := Envelope(t)
	if err != nil {
		return nil, err
	}
	if t.Context != nil && t.Context.Err() != nil {
		return nil, fmt.Errorf("%w: Task.Context: %w", actors.ErrCanceled, t.Context.Err())
	}
	for {
		if wait {
			select {
			case c.slots <- struct{}{}:
			case <-c.closing:
				return nil, fmt.Errorf("%w: %w", ErrClosed, actors.ErrShuttingDown)
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", actors.ErrQueueFull, ctx.Err())
			}
		} else {
			select {
			case <-c.closing:
				return nil, fmt.Errorf("%w: %w", ErrClosed, actors.ErrShuttingDown)
			case c.slots <- struct{}{}:
			default:
				return nil, fmt.Errorf("%w: the client's window of %d tasks is full", actors.ErrQueueFull, c.o.window)
			}
		}
		st, err := c.stream(ctx, wait)
		if err != nil {
			<-c.slots
			return nil, err
		}
		cl := st.add(env, t.Context)
		var ackErr error
		select {
		case ackErr = <-cl.ack:
		case <-ctx.Done():
			st.abandon(cl)
			return nil, fmt.Errorf("%w: %w", actors.ErrQueueFull, ctx.Err())
		}
		if ackErr == nil {
			return cl.p.Future(), nil
		}
		var rf *refused
		if !wait || !errors.As(ackErr, &rf) || rf.retryAfter <= 0 || !errors.Is(ackErr, actors.ErrQueueFull) {
			return nil, ackErr
		}
		timer := time.NewTimer(rf.retryAfter)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w: %w", ackErr, ctx.Err())
		}
	}
}

// refused is a task the node refused: its error wraps the sentinel.
type refused struct {
	err        error
	retryAfter time.Duration
}

// Error returns the node's message.
func (r *refused) Error() string { return r.err.Error() }

// Unwrap returns the error wrapping the sentinel.
func (r *refused) Unwrap() error { return r.err }

// stream returns the open stream, opening one if there is none; with
// wait, it tries again with backoff until ctx ends.
func (c *Client) stream(ctx context.Context, wait bool) (*stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closed {
			return nil, fmt.Errorf("%w: %w", ErrClosed, actors.ErrShuttingDown)
		}
		if c.cur != nil && !c.cur.broken() {
			return c.cur, nil
		}
		st, err := c.open()
		if err == nil {
			c.cur, c.attempt = st, 0
			return st, nil
		}
		// Only a connection that failed is worth another try; the node's
		// own refusal (shutting down, a bad token) stands.
		var rf *refused
		if !wait || errors.Is(err, ErrUnauthenticated) || errors.As(err, &rf) {
			return nil, err
		}
		delay := c.o.backoff.Next(c.attempt, rand.Float64())
		c.attempt++
		c.mu.Unlock()
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			c.mu.Lock()
			return nil, fmt.Errorf("%w: %w", err, ctx.Err())
		}
		c.mu.Lock()
	}
}

// Close drains the client: Submit and TrySubmit return ErrClosed from
// now on, and Close waits until every task submitted has its result or
// ctx ends; then it closes the stream (the node cancels what remains,
// whose futures end with ErrConnection and actors.ErrCanceled) and the
// connection. It returns ctx's error if it had to cut tasks off. Later
// calls return nil.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closing)
	c.mu.Unlock()
	var err error
	for i := 0; i < c.o.window && err == nil; i++ {
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	c.mu.Lock()
	st := c.cur
	c.mu.Unlock()
	if st != nil {
		if err == nil {
			st.closeSendNow()
			select {
			case <-st.done:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		st.cancel()
		<-st.done
	}
	cerr := c.conn.Close()
	c.wg.Wait()
	if err != nil {
		return err
	}
	return cerr
}

// Cancel cancels the task with id on the node and reports whether that
// ended it (false if it had its result already).
func (c *Client) Cancel(ctx context.Context, id string) (bool, error) {
	resp, err := c.api.Cancel(ctx, &protos.CancelRequest{Id: id})
	if err != nil {
		return false, c.callError(err)
	}
	return resp.GetCanceled(), nil
}

// Result asks the node for the task with id, waiting up to wait for its
// result; done is false if it has none yet.
func (c *Client) Result(ctx context.Context, id string, wait time.Duration) (r actors.Result, done bool, err error) {
	resp, err := c.api.Result(ctx, &protos.ResultRequest{Id: id, Wait: durationpb.New(wait)})
	if err != nil {
		return actors.Result{}, false, c.callError(err)
	}
	if !resp.GetDone() {
		return actors.Result{}, false, nil
	}
	return resultOf(resp.GetResult(), resp.GetNode()), true, nil
}

// ErrNotFound is returned by Cancel and Result for an id the node does
// not know, or no longer keeps.
var ErrNotFound = errors.New("client: no such task on the node")

// callError maps a gRPC error to the package's and actors' sentinels.
func (c *Client) callError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unauthenticated:
		return fmt.Errorf("%w: %s", ErrUnauthenticated, st.Message())
	case codes.NotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, st.Message())
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == "drover" {
			if code, ok := protos.ErrorCode_value["ERROR_CODE_"+info.GetReason()]; ok {
				r := &refused{err: actors.ResultError(&protos.TaskError{Code: protos.ErrorCode(code), Message: st.Message()})}
				for _, d := range st.Details() {
					if ri, ok := d.(*errdetails.RetryInfo); ok {
						r.retryAfter = ri.GetRetryDelay().AsDuration()
					}
				}
				return r
			}
		}
	}
	if st.Code() == codes.Unavailable || st.Code() == codes.Canceled || st.Code() == codes.DeadlineExceeded {
		return fmt.Errorf("%w: %s", ErrConnection, st.Message())
	}
	return err
}

// RetryAfter returns the delay the node asked for with a refusal (a full
// queue, a rate limit), or 0.
func RetryAfter(err error) time.Duration {
	var r *refused
	if errors.As(err, &r) {
		return r.retryAfter
	}
	return 0
}

// Envelope converts a task to its wire form, as Submit sends it.
func Envelope(t actors.Task) (*protos.TaskEnvelope, error) {
	if t.Func != nil {
		return nil, fmt.Errorf("%w: Func is set; a task sent to another process needs a registered Type", actors.ErrInvalidTask)
	}
	env := &protos.TaskEnvelope{
		Id: t.ID, Type: t.Type, Pool: t.Pool, Key: t.Key, Payload: t.Payload,
		Priority: protos.Priority(t.Priority), Idempotent: t.Idempotent,
	}
	if t.HasKind {
		env.Kind = protos.WorkerKind(t.Kind + 1)
	}
	if t.Timeout != 0 {
		env.Timeout = durationpb.New(t.Timeout)
	}
	return env, nil
}

// resultOf converts a wire result.
func resultOf(r *protos.TaskResult, node string) actors.Result {
	return actors.Result{
		Output: r.GetOutput(),
		Err:    actors.ResultError(r.GetError()),
		Worker: r.GetWorker(),
		Node:   node,
		Queued: r.GetQueued().AsDuration(),
		Run:    r.GetRun().AsDuration(),
	}
}

// streamMD is the metadata of a stream the client opens.
func (c *Client) streamMD(ctx context.Context) context.Context {
	if c.o.detach {
		return metadata.AppendToOutgoingContext(ctx, "drover-detach", "1")
	}
	return ctx
}

// Enqueue submits a task that outlives the client, as a background job:
// the node keeps it by its ID (one is picked if it has none, and returned)
// and runs it whatever becomes of the client; Result and Cancel find it.
// A task whose ID the node already keeps is not run again (duplicate is
// true). A refusal wraps the node's sentinel, as Submit's does; it does
// not wait for room.
func (c *Client) Enqueue(ctx context.Context, t actors.Task) (id string, duplicate bool, err error) {
	env, err := Envelope(t)
	if err != nil {
		return "", false, err
	}
	resp, err := c.api.Submit(ctx, &protos.SubmitRequest{Task: env})
	if err != nil {
		return "", false, c.callError(err)
	}
	return resp.GetId(), resp.GetDuplicate(), nil
}

// Connect opens the client's stream now, trying again with backoff until
// ctx ends, rather than at the first Submit: a program learns at once
// that the node cannot be reached.
func (c *Client) Connect(ctx context.Context) error {
	_, err := c.stream(ctx, true)
	return err
}

// Event is one supervision event of the node (see Watch).
type Event struct {
	// Kind is the event's kind in kebab case ("worker-failed", ...).
	Kind string
	// At is when it happened, by the node's clock.
	At time.Time
	// Text is the event on one line, as the node's log prints it.
	Text string
	// Dropped counts the events lost before this one because the watcher
	// read too slowly.
	Dropped uint64
}

// Watch calls fn with each of the node's supervision events from now on,
// in order, on the calling goroutine, until ctx ends (it then returns
// ctx's error) or the stream ends (the node stops: an error wrapping
// actors.ErrShuttingDown).
func (c *Client) Watch(ctx context.Context, fn func(Event)) error {
	w, err := c.api.Watch(ctx, &protos.WatchRequest{})
	if err != nil {
		return c.callError(err)
	}
	for {
		ev, err := w.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return c.callError(err)
		}
		fn(Event{Kind: ev.GetKind(), At: ev.GetAt().AsTime(), Text: ev.GetText(), Dropped: ev.GetDropped()})
	}
}
