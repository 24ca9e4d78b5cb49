package procworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/protos"
)

// Handler runs one task of a registered type, with the same contract as a
// Drover in-process handler (actors.Handler):
//
//   - ctx ends when the parent cancels the task (its timeout passed, its
//     submitter gave up, or the node is stopping), when the task's own
//     timeout passes, or when Serve's context ends; a handler that waits
//     must honour it.
//   - A returned error becomes the task's error: its message crosses the
//     pipe (context.Canceled and context.DeadlineExceeded keep their
//     meaning; any other error reaches the parent as a plain error with the
//     same message).
//   - A panic becomes an ERROR_CODE_PANIC result carrying the panic value
//     and the stack (a *actors.PanicError in the parent); the process goes
//     on serving other tasks.
//   - Handlers run concurrently, each task on its own goroutine, up to the
//     pool's Concurrency at once.
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// Option configures Serve and ServeIO.
type Option func(*server)

// WithoutCPUTime turns off the per-task CPU time measurement. By default
// each handler runs locked to its OS thread, and the thread's CPU clock is
// read before and after it (two system calls, about half a microsecond in
// all on Linux); a handler that blocks often then pays a thread hand-off
// each time it blocks. Without it the result frames carry no CPU time.
func WithoutCPUTime() Option { return func(s *server) { s.cpu = false } }

// Serve runs a worker process: it serves the registered handlers to the
// Drover node that started the process, over the process's stdin (frames
// in) and stdout (frames out), until the node sends shutdown (it returns
// nil once the running tasks have sent their results), stdin closes (the
// node is gone: running handlers' contexts end, and it returns nil after
// they return, or an error if some have not returned within the node's kill
// grace), ctx ends (likewise, returning ctx's error), or the stream breaks
// the protocol (an error wrapping ErrCorruptFrame, ErrFrameTooLarge or
// ErrProtocol).
//
// Serve takes stdout for itself: it points os.Stdout at os.Stderr while it
// runs, so that a stray fmt.Println in a handler ends up in the node's log
// instead of corrupting the frames (whatever writes to file descriptor 1 by
// other means still corrupts them). Write logs to stderr: the node logs
// each line under the worker's name.
//
// A worker binary is a few lines:
//
//	func main() {
//		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
//		defer stop()
//		err := procworker.Serve(ctx, map[string]procworker.Handler{"resize": resize})
//		if err != nil {
//			log.Fatal(err)
//		}
//	}
//
// handlers must not be modified while Serve runs.
func Serve(ctx context.Context, handlers map[string]Handler, opts ...Option) error {
	out := os.Stdout
	os.Stdout = os.Stderr
	defer func() { os.Stdout = out }()
	return ServeIO(ctx, os.Stdin, out, handlers, opts...)
}

// ServeIO is Serve over the given streams: frames are read from r and
// written to w. If ctx ends while a read from r is blocked, ServeIO returns
// without waiting for that read; the goroutine doing it exits once r
// returns (closing r makes it return).
func ServeIO(ctx context.Context, r io.Reader, w io.Writer, handlers map[string]Handler, opts ...Option) error {
	s := &server{
		handlers: handlers,
		cpu:      cpuTimeSupported,
		out:      newOutbox(NewFrameWriter(w, 0)),
		running:  map[string]context.CancelFunc{},
		grace:    2 * time.Second,
	}
	for _, o := range opts {
		o(s)
	}
	fr := NewFrameReader(r, 0)
	if err := s.handshake(fr); err != nil {
		return err
	}
	go s.out.loop()
	var cancel context.CancelFunc
	s.ctx, cancel = context.WithCancel(ctx)
	defer cancel()

	type ending struct {
		shutdown bool
		err      error
	}
	ended := make(chan ending, 1)
	go func() {
		shutdown, err := s.readLoop(fr)
		ended <- ending{shutdown, err}
	}()
	var why ending
	select {
	case why = <-ended:
	case <-ctx.Done():
		why.err = ctx.Err()
	}
	if why.shutdown {
		s.wait(0) // the parent's kill grace bounds a handler that does not return
		if err := s.out.close(); err != nil && !isClosedPipe(err) {
			return err
		}
		return nil
	}
	s.mu.Lock()
	s.closed = true // a read still going on starts nothing more
	s.mu.Unlock()
	cancel()
	left := s.wait(s.grace)
	ferr := s.out.close()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case why.err != nil && why.err != io.EOF:
		return why.err
	case left > 0:
		return fmt.Errorf("procworker: stdin closed and %d handlers did not return within %s of their cancel", left, s.grace)
	case ferr != nil && !isClosedPipe(ferr):
		return ferr
	}
	return nil
}

type server struct {
	handlers map[string]Handler
	cpu      bool
	out      *outbox
	ctx      context.Context // parent of every handler's context
	grace    time.Duration
	worker   string

	mu      sync.Mutex
	closed  bool                          // ServeIO is returning
	running map[string]context.CancelFunc // by task id
	idle    chan struct{}                 // closed when running empties, if someone waits
}

func (s *server) handshake(fr *FrameReader) error {
	var f protos.Frame
	if err := fr.ReadFrame(&f); err != nil {
		if err == io.EOF {
			return fmt.Errorf("%w: stream closed before hello", ErrProtocol)
		}
		return fmt.Errorf("procworker: handshake: %w", err)
	}
	hello := f.GetHello()
	if hello == nil {
		return fmt.Errorf("%w: first frame is %s; want hello", ErrProtocol, FrameKind(&f))
	}
	s.worker = hello.GetWorker()
	if g := hello.GetKillGrace(); g != nil && g.AsDuration() > 0 {
		s.grace = g.AsDuration()
	}
	types := make([]string, 0, len(s.handlers))
	for t := range s.handlers {
		types = append(types, t)
	}
	slices.Sort(types)
	ready := &protos.Frame{Body: &protos.Frame_Ready{Ready: &protos.Ready{Version: ProtocolVersion, Types: types}}}
	err := s.out.fw.WriteFrame(ready)
	if err == nil {
		err = s.out.fw.Flush()
	}
	if err != nil {
		return fmt.Errorf("procworker: handshake: %w", err)
	}
	if v := hello.GetVersion(); v != ProtocolVersion {
		return fmt.Errorf("%w: parent speaks protocol version %d; this worker speaks %d", ErrProtocol, v, ProtocolVersion)
	}
	return nil
}

// readLoop reads frames until shutdown (true), the end of the stream
// (io.EOF) or a bad frame.
func (s *server) readLoop(fr *FrameReader) (shutdown bool, err error) {
	var f protos.Frame
	for {
		if err := fr.ReadFrame(&f); err != nil {
			return false, err
		}
		switch b := f.GetBody().(type) {
		case *protos.Frame_Task:
			if err := s.start(b.Task); err != nil {
				return false, err
			}
		case *protos.Frame_Cancel:
			s.mu.Lock()
			cancel := s.running[b.Cancel.GetTaskId()]
			s.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		case *protos.Frame_Ping:
			s.mu.Lock()
			state := protos.WorkerState_WORKER_STATE_IDLE
			if len(s.running) > 0 {
				state = protos.WorkerState_WORKER_STATE_BUSY
			}
			s.mu.Unlock()
			pong := &protos.HealthPong{Seq: b.Ping.GetSeq(), Worker: s.worker, State: state}
			s.out.send(&protos.Frame{Body: &protos.Frame_Pong{Pong: pong}})
		case *protos.Frame_Shutdown:
			return true, nil
		default:
			return false, fmt.Errorf("%w: unexpected %s frame from the parent", ErrProtocol, FrameKind(&f))
		}
	}
}

// start runs one task on its own goroutine.
func (s *server) start(env *protos.TaskEnvelope) error {
	id := env.GetId()
	h := s.handlers[env.GetType()]
	if h == nil && !s.isClosed() {
		te := &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_NO_HANDLER, Message: fmt.Sprintf("procworker: no handler for task type %q", env.GetType())}
		s.reply(id, nil, te, 0, false)
		return nil
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if d := env.GetTimeout(); d != nil && d.AsDuration() > 0 {
		ctx, cancel = context.WithTimeout(s.ctx, d.AsDuration())
	} else {
		ctx, cancel = context.WithCancel(s.ctx)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return errServerClosed
	}
	if _, dup := s.running[id]; dup {
		s.mu.Unlock()
		cancel()
		return fmt.Errorf("%w: task id %q is already running", ErrProtocol, id)
	}
	s.running[id] = cancel
	s.mu.Unlock()
	s.out.active.Add(1)
	go func() {
		out, cpu, err := s.call(ctx, h, env.GetPayload())
		cancel()
		s.out.active.Add(-1)
		s.reply(id, out, taskError(err), cpu, s.cpu)
		s.mu.Lock()
		delete(s.running, id)
		if len(s.running) == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
	}()
	return nil
}

// call runs h and turns a panic into an error.
func (s *server) call(ctx context.Context, h Handler, payload []byte) (out []byte, cpu time.Duration, err error) {
	if s.cpu {
		lockThread()
		start := threadCPU()
		defer func() {
			cpu = threadCPU() - start
			unlockThread()
		}()
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &panicError{value: fmt.Sprint(r), stack: debug.Stack()}
		}
	}()
	out, err = h(ctx, payload)
	return out, 0, err
}

// reply sends a task's result.
func (s *server) reply(id string, out []byte, te *protos.TaskError, cpu time.Duration, withCPU bool) {
	f := &protos.Frame{Body: &protos.Frame_Result{Result: &protos.TaskResult{TaskId: id, Output: out, Error: te}}}
	if withCPU {
		f.Cpu = durationpb.New(cpu)
	}
	s.out.send(f)
}

// wait waits until no handler runs, or for at most limit if limit > 0. It
// returns the number still running.
func (s *server) wait(limit time.Duration) int {
	s.mu.Lock()
	if len(s.running) == 0 {
		s.mu.Unlock()
		return 0
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	if limit <= 0 {
		<-idle
		return 0
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-idle:
		return 0
	case <-t.C:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// errServerClosed ends a read loop that outlived ServeIO.
var errServerClosed = errors.New("procworker: serve returned")

func (s *server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

type panicError struct {
	value string
	stack []byte
}

func (e *panicError) Error() string { return "procworker: handler panicked: " + e.value }

// taskError is the wire form of a handler's error.
func taskError(err error) *protos.TaskError {
	var pe *panicError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_PANIC, Message: pe.value, Stack: string(pe.stack)}
	case errors.Is(err, context.Canceled):
		return &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_CANCELED, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_TIMEOUT, Message: err.Error()}
	}
	return &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_HANDLER, Message: err.Error()}
}

// FrameKind names the body of f for error messages: "hello", "ready",
// "task", "result", "cancel", "ping", "pong", "shutdown", "an empty" (no
// body) or "an unknown".
func FrameKind(f *protos.Frame) string {
	switch f.GetBody().(type) {
	case *protos.Frame_Hello:
		return "hello"
	case *protos.Frame_Ready:
		return "ready"
	case *protos.Frame_Task:
		return "task"
	case *protos.Frame_Result:
		return "result"
	case *protos.Frame_Cancel:
		return "cancel"
	case *protos.Frame_Ping:
		return "ping"
	case *protos.Frame_Pong:
		return "pong"
	case *protos.Frame_Shutdown:
		return "shutdown"
	case nil:
		return "an empty"
	}
	return "an unknown"
}

// outbox writes the frames of many goroutines through one writer
// goroutine, which marshals them (on its own stack, grown once, rather than
// on each handler's) and flushes when no more frames wait, so that results
// that finish close together leave in one system call.
type outbox struct {
	active atomic.Int32 // handlers running, maintained by the server
	fw     *FrameWriter
	ch     chan *protos.Frame
	stop   chan struct{} // closed by close: drain and exit
	done   chan struct{} // closed once the writer has exited
	err    error         // the first write error; the stream is dead after it
}

func newOutbox(fw *FrameWriter) *outbox {
	return &outbox{fw: fw, ch: make(chan *protos.Frame, 1024), stop: make(chan struct{}), done: make(chan struct{})}
}

// send queues f; after close it drops it.
func (o *outbox) send(f *protos.Frame) {
	select {
	case o.ch <- f:
	case <-o.done:
	}
}

func (o *outbox) loop() {
	defer close(o.done)
	for {
		select {
		case f := <-o.ch:
			o.write(f)
		case <-o.stop:
			for len(o.ch) > 0 {
				o.write(<-o.ch)
			}
			o.flush()
			return
		}
		for len(o.ch) > 0 {
			o.write(<-o.ch)
		}
		if o.active.Load() > 0 {
			// Let handlers that are about to finish add their results to
			// this write.
			runtime.Gosched()
			for len(o.ch) > 0 {
				o.write(<-o.ch)
			}
		}
		o.flush()
	}
}

func (o *outbox) write(f *protos.Frame) {
	if o.err != nil {
		return
	}
	err := o.fw.WriteFrame(f)
	if r := f.GetResult(); r != nil && errors.Is(err, ErrFrameTooLarge) {
		te := &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_HANDLER, Message: fmt.Sprintf("procworker: output of %d bytes does not fit a frame: %v", len(r.GetOutput()), err)}
		err = o.fw.WriteFrame(&protos.Frame{Body: &protos.Frame_Result{Result: &protos.TaskResult{TaskId: r.GetTaskId(), Error: te}}})
	}
	if err != nil {
		o.err = err
	}
}

func (o *outbox) flush() {
	if o.err == nil {
		o.err = o.fw.Flush()
	}
}

// close writes what is queued, stops the writer and returns its first error.
func (o *outbox) close() error {
	close(o.stop)
	<-o.done
	return o.err
}

// isClosedPipe reports an error writing to a parent that is gone.
func isClosedPipe(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.EPIPE)
}
