package procworker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/protos"
)

// Defaults of ClientConfig.
const (
	// DefaultStartTimeout bounds a child's handshake.
	DefaultStartTimeout = 10 * time.Second
	// DefaultKillGrace is how long a child has to answer a cancel or a
	// shutdown before SIGTERM, and again before SIGKILL.
	DefaultKillGrace = 2 * time.Second
)

// ClientConfig describes the children of a Client. Zero fields take the
// defaults listed on each field.
type ClientConfig struct {
	// Command is the path of the worker binary; required. A name without a
	// slash is looked up in PATH.
	Command string
	// Args are the command's arguments.
	Args []string
	// Env is the child's environment ("KEY=value"); nil means this process's.
	Env []string
	// Dir is the child's working directory; empty means this process's.
	Dir string
	// Name names the worker in hello, in errors and in logs, as in "img/w0".
	Name string
	// Concurrency is the most calls in flight at once, announced in hello;
	// zero means 1. More concurrent calls are not refused, but the child
	// was told to expect no more.
	Concurrency int
	// StartTimeout bounds the handshake; zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// KillGrace is how long a child has to answer a cancel or a shutdown
	// before SIGTERM, and again before SIGKILL; zero means DefaultKillGrace.
	KillGrace time.Duration
	// MaxTasks recycles a child once it has been given that many tasks;
	// zero means no limit.
	MaxTasks int64
	// MaxMemoryBytes recycles a child whose resident memory (VmRSS, read
	// from /proc after each call) exceeds it; zero means no limit. Linux only.
	MaxMemoryBytes int64
	// Logger receives the child's stderr, one line per entry, and the
	// client's debug and warning lines; nil means none.
	Logger hclog.Logger
	// StderrLevel is the level of the child's stderr lines; zero
	// (hclog.NoLevel) means hclog.Info.
	StderrLevel hclog.Level
	// OnRecycle, if not nil, is called each time a child is recycled, with
	// the reason (as in "it was given MaxTasks (3) tasks"), on the goroutine
	// of the call that caused it and with no lock held. It must be safe for
	// concurrent use.
	OnRecycle func(reason string)
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.KillGrace <= 0 {
		c.KillGrace = DefaultKillGrace
	}
	if c.StderrLevel == hclog.NoLevel {
		c.StderrLevel = hclog.Info
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	return c
}

// Request is one task for Call.
type Request struct {
	// Type names the handler.
	Type string
	// Key is the routing key, if any (informational for the child).
	Key string
	// Payload is the handler's input.
	Payload []byte
	// Deadline, if not zero, is sent to the child as the task's timeout; so
	// is the call's context's deadline, whichever comes first.
	Deadline time.Time
}

// Response is what a child answered for a task that ended.
type Response struct {
	// Output is the handler's output.
	Output []byte
	// CPU is the CPU time the child reported for the handler; zero if it
	// reported none.
	CPU time.Duration
}

// TaskError is a handler's error as the child reported it: Code says which
// kind (ERROR_CODE_HANDLER for a returned error, ERROR_CODE_PANIC with the
// stack for a panic, ERROR_CODE_CANCELED or ERROR_CODE_TIMEOUT for a handler
// that stopped at a cancel or its timeout, ERROR_CODE_NO_HANDLER).
type TaskError struct {
	Code    protos.ErrorCode
	Message string
	Stack   string
}

// Error returns the handler's message.
func (e *TaskError) Error() string { return e.Message }

// StartError reports a child that could not be started or did not complete
// its handshake. It wraps ErrStart and the cause, if any.
type StartError struct {
	// Command is the command that was run.
	Command string
	// PID is the child's process id, or 0 if it was never running.
	PID int
	// Reason says what went wrong, without the process id, so that
	// repeated failures of one cause compare equal.
	Reason string
	// Err is the underlying error, if any (os/exec's, ErrProtocol, ctx's).
	Err error
}

func (e *StartError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("procworker: start %s: %s", e.Command, e.Reason)
	}
	return fmt.Sprintf("procworker: start %s: process %d %s", e.Command, e.PID, e.Reason)
}

// Unwrap returns ErrStart and Err.
func (e *StartError) Unwrap() []error { return nonNil(ErrStart, e.Err) }

// CrashError reports a call whose child died, was killed, broke the
// protocol, or could not be started. It wraps ErrCrashed and the cause, if
// any: the call's context error for a child killed because it did not end
// a canceled task, a *StartError for a child that could not start.
type CrashError struct {
	// Worker is ClientConfig.Name.
	Worker string
	// PID is the child's process id, or 0 if it was never running.
	PID int
	// Reason says what happened, as in "exited: exit status 3".
	Reason string
	// Err is the cause, if any.
	Err error
}

func (e *CrashError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("procworker: worker %s: %s", e.Worker, e.Reason)
	}
	return fmt.Sprintf("procworker: worker %s: process %d %s", e.Worker, e.PID, e.Reason)
}

// Unwrap returns ErrCrashed and Err.
func (e *CrashError) Unwrap() []error { return nonNil(ErrCrashed, e.Err) }

func nonNil(a, b error) []error {
	if b == nil {
		return []error{a}
	}
	return []error{a, b}
}

// CloseReport says how Close stopped the children it found running.
type CloseReport struct {
	// Exited counts children that exited after the shutdown frame (or on
	// their own); Terminated those that exited after SIGTERM; Killed those
	// that needed SIGKILL.
	Exited, Terminated, Killed int
}

// Client is the node's side of the protocol for one worker: it runs tasks
// in a child process, replacing the child after a recycle (MaxTasks,
// MaxMemoryBytes) or when it died idle. A child that dies, is killed or
// breaks the protocol under tasks breaks the client: the calls in flight
// get a *CrashError, later calls ErrNotSent, and the owner is expected to
// Close it and Start another.
//
// Each child is the leader of a process group of its own (on Unix). When a
// child ends, however it ends, the client waits for its exit status
// without reaping it, sends SIGKILL to its whole process group, and only
// then reaps it (on Linux): whatever the child started dies with it, and,
// since the unreaped leader keeps its id in use, the signal cannot reach a
// group that reused the id.
//
// Call, Ping and RSS are safe for concurrent use, with each other and with
// Close.
type Client struct {
	cfg ClientConfig
	log hclog.Logger

	// ctx ends when Close begins: it aborts a start in progress.
	ctx    context.Context
	cancel context.CancelFunc

	cur atomic.Pointer[child] // the child taking tasks; nil while none does

	mu       sync.Mutex
	closing  bool
	starting chan struct{} // closed when the start in progress ends; nil if none
	children map[*child]struct{}
	wg       sync.WaitGroup
	report   CloseReport
	closed   chan struct{} // closed once Close has stopped every child

	broken atomic.Pointer[CrashError] // the crash that broke the client
}

// Start starts a child from cfg and waits for its handshake, for at most
// cfg.StartTimeout. The error is a *StartError (wrapping ErrStart) if the
// child could not be started or did not complete the handshake, in which
// case it has been killed and reaped; if ctx ends first, the child is
// killed and reaped and Start returns ctx's error.
func Start(ctx context.Context, cfg ClientConfig) (*Client, error) {
	cfg = cfg.withDefaults()
	if cfg.Command == "" {
		return nil, &StartError{Reason: "no command"}
	}
	cl := &Client{cfg: cfg, log: cfg.Logger, children: map[*child]struct{}{}, closed: make(chan struct{})}
	cl.ctx, cl.cancel = context.WithCancel(context.Background())
	c, err := cl.spawn(ctx)
	if err != nil {
		cl.Close(context.Background())
		return nil, err
	}
	cl.cur.Store(c)
	return cl, nil
}

// Call runs one task in the child and waits for its result.
//
// The error is nil on success; a *TaskError for a handler that failed,
// panicked or had no handler; a *CrashError (wrapping ErrCrashed) if the
// child died, broke the protocol, could not be started, or was killed
// because it did not end the task within KillGrace of its cancel (that
// error also wraps ctx's); ErrNotSent if the task was never sent (the
// client is closing or broken); an error wrapping ErrFrameTooLarge for a
// request too large for a frame; and ctx's error if ctx ended before the
// task was sent. When ctx ends after the task was sent, the task is
// canceled in the child and Call returns the child's answer, usually a
// *TaskError with ERROR_CODE_CANCELED or ERROR_CODE_TIMEOUT.
func (cl *Client) Call(ctx context.Context, req Request) (Response, error) {
	if len(req.Payload) > MaxFrameSize/2 {
		if err := checkFrameSize(req); err != nil {
			return Response{}, err
		}
	}
	if d, ok := ctx.Deadline(); ok && (req.Deadline.IsZero() || d.Before(req.Deadline)) {
		req.Deadline = d
	}
	for {
		pc := newPcall()
		c, id, err := cl.acquire(ctx, pc)
		if err != nil {
			return Response{}, err
		}
		frame := pc.taskFrame(id, &req)
		var resp Response
		select {
		case c.wch <- wframe{frame, pc}: // the usual case: room in the writer's queue
		default:
			select {
			case c.wch <- wframe{frame, pc}:
			case <-ctx.Done():
				c.forget(id)
				return Response{}, ctx.Err()
			case <-c.dead:
				if resp, err = cl.died(c, pc); err == errResend {
					continue
				}
				return resp, err
			}
		}
		select {
		case r := <-pc.done:
			return cl.finish(c, pc, r)
		case <-c.dead:
			resp, err = cl.died(c, pc)
		case <-ctx.Done():
			return cl.cancelCall(ctx, c, id, pc)
		}
		if err != errResend {
			return resp, err
		}
	}
}

// checkFrameSize refuses a request whose frame would exceed the frame limit.
func checkFrameSize(req Request) error {
	env := &protos.TaskEnvelope{Id: strconv.FormatUint(1<<63, 10), Type: req.Type, Key: req.Key, Payload: req.Payload, Timeout: durationpb.New(time.Hour)}
	if n := proto.Size(&protos.Frame{Body: &protos.Frame_Task{Task: env}}); n > MaxFrameSize {
		return fmt.Errorf("%w: the task makes a %d-byte frame; allowed: at most %d", ErrFrameTooLarge, n, MaxFrameSize)
	}
	return nil
}

// acquire registers pc with the child taking tasks, starting a child when
// none does.
func (cl *Client) acquire(ctx context.Context, pc *pcall) (c *child, id uint64, err error) {
	if c := cl.cur.Load(); c != nil {
		if id, ok := c.register(pc); ok {
			return c, id, nil
		}
	}
	cl.mu.Lock()
	for {
		if err := cl.refusalLocked(); err != nil {
			cl.mu.Unlock()
			return nil, 0, err
		}
		if c := cl.cur.Load(); c != nil {
			if id, ok := c.register(pc); ok {
				cl.mu.Unlock()
				return c, id, nil
			}
			cl.cur.CompareAndSwap(c, nil) // retired or dead
		}
		if ch := cl.starting; ch != nil {
			cl.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
			cl.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		cl.starting = ch
		cl.mu.Unlock()
		c, err := cl.spawn(cl.ctx)
		cl.mu.Lock()
		cl.starting = nil
		close(ch)
		if err != nil {
			if cl.closing {
				continue // refused as closing above
			}
			cl.mu.Unlock()
			var se *StartError
			pid, reason := 0, err.Error()
			if errors.As(err, &se) {
				pid, reason = se.PID, "could not start: "+se.Reason
			}
			crash := &CrashError{Worker: cl.cfg.Name, PID: pid, Reason: reason, Err: err}
			cl.broken.CompareAndSwap(nil, crash)
			return nil, 0, crash
		}
		cl.cur.Store(c)
	}
}

// refusalLocked returns ErrNotSent, with why, if the client takes no more
// calls.
func (cl *Client) refusalLocked() error {
	switch {
	case cl.closing:
		return fmt.Errorf("%w: worker %s is closing", ErrNotSent, cl.cfg.Name)
	case cl.broken.Load() != nil:
		return fmt.Errorf("%w: worker %s is broken: %v", ErrNotSent, cl.cfg.Name, cl.broken.Load())
	}
	return nil
}

// errResend tells Call to send its task again, to a new child.
var errResend = errors.New("procworker: resend")

// died ends a call whose child died before its result came. A task that
// was never written to the child is sent again to a new child (errResend),
// unless the crash broke the client: then it is not sent.
func (cl *Client) died(c *child, pc *pcall) (Response, error) {
	select {
	case r := <-pc.done: // the result came just before the end
		return cl.finish(c, pc, r)
	default:
	}
	if !pc.written.Load() {
		cl.mu.Lock()
		refusal := cl.refusalLocked()
		cl.mu.Unlock()
		if refusal != nil {
			return Response{}, refusal
		}
		return Response{}, errResend
	}
	crash := c.deadError()
	cl.broken.CompareAndSwap(nil, crash)
	return Response{}, crash
}

// cancelCall ends a call whose context ended: it cancels the task in the
// child and waits up to KillGrace for its result. A child that does not
// answer is killed, and the client is broken.
func (cl *Client) cancelCall(ctx context.Context, c *child, id uint64, pc *pcall) (Response, error) {
	grace := time.NewTimer(cl.cfg.KillGrace)
	defer grace.Stop()
	cancel := &protos.Frame{Body: &protos.Frame_Cancel{Cancel: &protos.Cancel{TaskId: strconv.FormatUint(id, 10)}}}
	expired := false
	select {
	case c.wch <- wframe{f: cancel}:
	case r := <-pc.done:
		return cl.finish(c, pc, r)
	case <-c.dead:
		return cl.diedAfterSend(c, pc)
	case <-grace.C:
		expired = true
	}
	if !expired {
		select {
		case r := <-pc.done:
			return cl.finish(c, pc, r)
		case <-c.dead:
			return cl.diedAfterSend(c, pc)
		case <-grace.C:
		}
	}
	crash := &CrashError{Worker: cl.cfg.Name, PID: c.pid, Err: ctx.Err(),
		Reason: fmt.Sprintf("did not end task %d within %s of its cancel; killed", id, cl.cfg.KillGrace)}
	cl.log.Warn("killing worker process: a canceled task did not end", "pid", c.pid, "grace", cl.cfg.KillGrace)
	cl.broken.CompareAndSwap(nil, crash)
	c.kill()
	return Response{}, crash
}

// diedAfterSend is died for a call whose task was surely sent.
func (cl *Client) diedAfterSend(c *child, pc *pcall) (Response, error) {
	select {
	case r := <-pc.done:
		return cl.finish(c, pc, r)
	default:
	}
	crash := c.deadError()
	cl.broken.CompareAndSwap(nil, crash)
	return Response{}, crash
}

// finish turns the child's result into the call's, and recycles the child
// if it is over its memory limit.
func (cl *Client) finish(c *child, pc *pcall, r pres) (Response, error) {
	pc.release()
	var resp Response
	if r.cpu != nil {
		resp.CPU = r.cpu.AsDuration()
	}
	if limit := cl.cfg.MaxMemoryBytes; limit > 0 {
		if rss, ok := c.residentBytes(false); ok && rss > limit {
			c.retire(fmt.Sprintf("resident memory %d bytes exceeds MaxMemoryBytes %d", rss, limit))
		}
	}
	if te := r.res.GetError(); te != nil {
		return resp, &TaskError{Code: te.GetCode(), Message: te.GetMessage(), Stack: te.GetStack()}
	}
	resp.Output = r.res.GetOutput()
	return resp, nil
}

// Close stops every child and returns once they are reaped, their process
// groups killed, and the client's goroutines ended. Each child is sent a
// shutdown and given KillGrace to exit, then SIGTERM, then SIGKILL after
// another KillGrace; if ctx ends first, the children still running are
// sent SIGKILL at once. Calls still waiting get their results if the
// children send them before they exit, and a *CrashError otherwise; later
// calls get ErrNotSent. The report says what it took; a second Close waits
// for the first and returns its report.
func (cl *Client) Close(ctx context.Context) CloseReport {
	cl.mu.Lock()
	first := !cl.closing
	cl.closing = true
	children := make([]*child, 0, len(cl.children))
	for c := range cl.children {
		children = append(children, c)
	}
	cl.mu.Unlock()
	if !first {
		<-cl.closed
		return cl.report
	}
	cl.cancel()
	for _, c := range children {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		cl.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range children {
			c.abort()
		}
		<-done
	}
	var rep CloseReport
	for _, c := range children {
		switch c.ending {
		case endTerminated:
			rep.Terminated++
		case endKilled:
			rep.Killed++
		default:
			rep.Exited++
		}
	}
	cl.report = rep
	close(cl.closed)
	return rep
}

// RSS returns the resident memory of the client's live children, in bytes
// (zero where it cannot be read).
func (cl *Client) RSS() uint64 {
	cl.mu.Lock()
	children := make([]*child, 0, len(cl.children))
	for c := range cl.children {
		children = append(children, c)
	}
	cl.mu.Unlock()
	var total uint64
	for _, c := range children {
		if n, ok := c.residentBytes(true); ok {
			total += uint64(n)
		}
	}
	return total
}

// PID returns the process id of the child taking tasks, or 0 while none
// does.
func (cl *Client) PID() int {
	if c := cl.cur.Load(); c != nil {
		return c.pid
	}
	return 0
}

// Ping asks the child taking tasks to answer a ping, and waits for the
// answer until ctx ends. Between a recycled child and the next one there is
// no child to ask: the client is healthy unless it is broken or closing
// (then the error wraps ErrNotSent), or the child died (a *CrashError).
func (cl *Client) Ping(ctx context.Context) error {
	cl.mu.Lock()
	refusal := cl.refusalLocked()
	cl.mu.Unlock()
	if refusal != nil {
		return refusal
	}
	c := cl.cur.Load()
	if c == nil {
		return nil
	}
	pong := make(chan struct{}, 1)
	c.mu.Lock()
	c.pingSeq++
	seq := c.pingSeq
	c.pings[seq] = pong
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pings, seq)
		c.mu.Unlock()
	}()
	select {
	case c.wch <- wframe{f: &protos.Frame{Body: &protos.Frame_Ping{Ping: &protos.HealthPing{Seq: seq}}}}:
	case <-c.dead:
		return c.deadError()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-pong:
		return nil
	case <-c.dead:
		return c.deadError()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pcall is one call waiting for its result. It holds the task's frame, so
// that a pooled pcall sends a task without allocating the frame's three
// messages; the writer is done with the frame once a result has come.
type pcall struct {
	done    chan pres
	written atomic.Bool // the writer is done with frame
	frame   protos.Frame
	task    protos.Frame_Task
	env     protos.TaskEnvelope
}

// pres is a result as the reader delivers it.
type pres struct {
	res *protos.TaskResult
	cpu *durationpb.Duration
}

var pcalls = sync.Pool{New: func() any { return &pcall{done: make(chan pres, 1)} }}

func newPcall() *pcall {
	pc := pcalls.Get().(*pcall)
	pc.written.Store(false)
	return pc
}

// taskFrame fills pc's frame with task id of req.
func (pc *pcall) taskFrame(id uint64, req *Request) *protos.Frame {
	pc.env.Reset()
	pc.env.Id, pc.env.Type, pc.env.Key, pc.env.Payload = strconv.FormatUint(id, 10), req.Type, req.Key, req.Payload
	if !req.Deadline.IsZero() {
		pc.env.Timeout = durationpb.New(max(time.Until(req.Deadline), time.Nanosecond))
	}
	pc.task.Task = &pc.env
	pc.frame.Reset()
	pc.frame.Body = &pc.task
	return &pc.frame
}

// release returns a call whose result was received to the pool. A call that
// ended otherwise is left to the garbage collector: a late result may still
// be sent to it, and the writer may still hold its frame.
func (pc *pcall) release() {
	pc.env.Payload = nil // do not pin the payload
	pcalls.Put(pc)
}

// ending is how a child's stop sequence ended it.
type ending uint8

const (
	endExited     ending = iota // on its own, or after shutdown
	endTerminated               // after SIGTERM
	endKilled                   // after SIGKILL
)

// child is one worker process and its pipes.
type child struct {
	cl  *Client
	cmd *exec.Cmd
	pid int
	log hclog.Logger

	stdin  *os.File // write end, owned by the writer
	stdout *os.File // read end, owned by the reader
	stderr *os.File // read end, owned by the stderr pump
	statm  *os.File // /proc/<pid>/statm; nil where there is no /proc

	wch      chan wframe        // frames for the writer
	ready    chan *protos.Ready // the handshake's answer
	dead     chan struct{}      // closed once no result can come any more
	exited   chan struct{}      // closed once the process is reaped
	stopReq  chan struct{}      // closed to start the stop sequence
	killReq  chan struct{}      // closed to skip its graceful part
	abortReq chan struct{}      // closed to go to SIGKILL at once
	stopOne  sync.Once
	killOne  sync.Once
	abortOne sync.Once
	ending   ending // set by stopLoop before exited closes... read after wg

	mu       sync.Mutex
	calls    map[uint64]*pcall // waiting for their results, by task id
	nextID   uint64
	sent     int64
	retired  bool        // takes no more tasks
	deadErr  *CrashError // why dead closed
	waitErr  error       // cmd.Wait's, once exited closed
	pings    map[uint64]chan struct{}
	pingSeq  uint64
	memMu    sync.Mutex
	memBuf   []byte
	stopping bool // we asked it to stop: its exit is no crash
}

// spawn starts a child and waits for its handshake, or until ctx ends. On
// error the child is killed (its goroutines end by themselves, and Close
// waits for them).
func (cl *Client) spawn(ctx context.Context) (*child, error) {
	cfg := cl.cfg
	startErr := func(pid int, reason string, err error) error {
		return &StartError{Command: cfg.Command, PID: pid, Reason: reason, Err: err}
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	pipes := make([][2]*os.File, 3)
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, startErr(0, err.Error(), err)
		}
		files = append(files, r, w)
		pipes[i] = [2]*os.File{r, w}
	}
	inR, inW, outR, outW, errR, errW := pipes[0][0], pipes[0][1], pipes[1][0], pipes[1][1], pipes[2][0], pipes[2][1]
	cmd := exec.Command(cfg.Command, cfg.Args...)
	cmd.Env, cmd.Dir = cfg.Env, cfg.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	setProcessGroup(cmd)

	cl.mu.Lock()
	if cl.closing {
		cl.mu.Unlock()
		closeAll()
		return nil, fmt.Errorf("%w: worker %s is closing", ErrNotSent, cfg.Name)
	}
	if err := cmd.Start(); err != nil {
		cl.mu.Unlock()
		closeAll()
		return nil, startErr(0, err.Error(), err)
	}
	// The child has its own copies of its ends.
	_, _, _ = inR.Close(), outW.Close(), errW.Close()
	c := &child{
		cl:       cl,
		cmd:      cmd,
		pid:      cmd.Process.Pid,
		stdin:    inW,
		stdout:   outR,
		stderr:   errR,
		wch:      make(chan wframe, cfg.Concurrency+8),
		ready:    make(chan *protos.Ready, 1),
		dead:     make(chan struct{}),
		exited:   make(chan struct{}),
		stopReq:  make(chan struct{}),
		killReq:  make(chan struct{}),
		abortReq: make(chan struct{}),
		calls:    map[uint64]*pcall{},
		pings:    map[uint64]chan struct{}{},
	}
	c.log = cl.log.With("pid", c.pid)
	// Opened now, while the pid is surely ours; read with ReadAt(0).
	if f, err := os.Open("/proc/" + strconv.Itoa(c.pid) + "/statm"); err == nil {
		c.statm = f
	} else if cfg.MaxMemoryBytes > 0 {
		c.log.Warn("cannot read the worker process's memory; MaxMemoryBytes is not enforced for it", "error", err)
	}
	cl.children[c] = struct{}{}
	cl.wg.Add(5)
	cl.mu.Unlock()
	go c.waitLoop()
	go c.readLoop()
	go c.writeLoop()
	go c.stderrLoop()
	go c.stopLoop()
	c.log.Debug("worker process started", "command", cfg.Command)

	c.wch <- wframe{f: &protos.Frame{Body: &protos.Frame_Hello{Hello: &protos.Hello{
		Version:       ProtocolVersion,
		Worker:        cfg.Name,
		Concurrency:   uint32(cfg.Concurrency),
		MaxFrameBytes: MaxFrameSize,
		KillGrace:     durationpb.New(cfg.KillGrace),
	}}}}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case r := <-c.ready:
		if v := r.GetVersion(); v != ProtocolVersion {
			c.kill()
			return nil, startErr(c.pid, fmt.Sprintf("speaks protocol version %d; allowed: %d", v, ProtocolVersion), ErrProtocol)
		}
		c.log.Debug("worker process ready", "types", r.GetTypes())
		return c, nil
	case <-c.dead:
		c.kill()
		return nil, startErr(c.pid, c.deadError().Reason+" before the handshake", nil)
	case <-timer.C:
		c.kill()
		return nil, startErr(c.pid, fmt.Sprintf("did not answer the handshake within %s (StartTimeout); killed", cfg.StartTimeout), nil)
	case <-ctx.Done():
		c.kill()
		<-c.exited
		return nil, ctx.Err()
	}
}

// register gives pc a task id on c, unless c takes no more tasks.
func (c *child) register(pc *pcall) (uint64, bool) {
	c.mu.Lock()
	if c.retired || c.deadErr != nil {
		c.mu.Unlock()
		return 0, false
	}
	c.nextID++
	id := c.nextID
	c.calls[id] = pc
	c.sent++
	var why string
	if limit := c.cl.cfg.MaxTasks; limit > 0 && c.sent >= limit {
		why = fmt.Sprintf("it was given MaxTasks (%d) tasks", limit)
		if !c.retireLocked(why) {
			why = ""
		}
	}
	c.mu.Unlock()
	if why != "" {
		c.recycled(why)
	}
	return id, true
}

// forget drops a call that was registered but not sent.
func (c *child) forget(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls, id)
	c.stopIfDrainedLocked()
}

// retire makes c take no more tasks; it stops once its calls are done.
func (c *child) retire(why string) {
	c.mu.Lock()
	retired := c.retireLocked(why)
	c.mu.Unlock()
	if retired {
		c.recycled(why)
	}
}

// retireLocked retires c and reports whether it was taking tasks until now.
func (c *child) retireLocked(why string) bool {
	if c.retired || c.deadErr != nil {
		return false
	}
	c.retired = true
	c.cl.cur.CompareAndSwap(c, nil)
	c.log.Debug("recycling worker process", "reason", why)
	c.stopIfDrainedLocked()
	return true
}

func (c *child) recycled(why string) {
	if f := c.cl.cfg.OnRecycle; f != nil {
		f(why)
	}
}

func (c *child) stopIfDrainedLocked() {
	if c.retired && len(c.calls) == 0 {
		c.shutdownLocked()
	}
}

// shutdown starts the stop sequence: shutdown frame, SIGTERM, SIGKILL.
func (c *child) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutdownLocked()
}

func (c *child) shutdownLocked() {
	c.stopping = true
	c.stopOne.Do(func() { close(c.stopReq) })
}

// kill starts the stop sequence without its graceful part: SIGTERM, and
// SIGKILL after KillGrace.
func (c *child) kill() {
	c.killOne.Do(func() { close(c.killReq) })
	c.shutdown()
}

// abort makes the stop sequence send SIGKILL at once.
func (c *child) abort() {
	c.abortOne.Do(func() { close(c.abortReq) })
	c.kill()
}

func (c *child) deadError() *CrashError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadErr
}

// residentBytes returns the child's resident memory in bytes, as VmRSS
// counts it, unless it cannot be read. Unless wait, it gives up at once if
// another goroutine is reading it (that one checks the limit).
func (c *child) residentBytes(wait bool) (int64, bool) {
	if wait {
		c.memMu.Lock()
	} else if !c.memMu.TryLock() {
		return 0, false
	}
	defer c.memMu.Unlock()
	if c.statm == nil {
		return 0, false // no /proc, or reaped
	}
	if c.memBuf == nil {
		c.memBuf = make([]byte, 128)
	}
	n, err := c.statm.ReadAt(c.memBuf, 0)
	if n == 0 && err != nil {
		return 0, false
	}
	// "size resident shared text lib data dt", in pages.
	fields := bytes.Fields(c.memBuf[:n])
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// readLoop reads the child's frames: the handshake's ready first, then
// results and pongs. When the stream ends, the child is dead.
func (c *child) readLoop() {
	defer c.cl.wg.Done()
	fr := NewFrameReader(c.stdout, 0)
	var f protos.Frame
	var err error
	handshake := true
	for err == nil {
		if err = fr.ReadFrame(&f); err != nil {
			break
		}
		switch body := f.GetBody().(type) {
		case *protos.Frame_Ready:
			if !handshake {
				err = fmt.Errorf("%w: a second ready frame", ErrProtocol)
				break
			}
			handshake = false
			c.ready <- body.Ready
		case *protos.Frame_Result:
			if handshake {
				err = fmt.Errorf("%w: a result before the handshake", ErrProtocol)
				break
			}
			err = c.deliver(body.Result, f.GetCpu())
		case *protos.Frame_Pong:
			c.mu.Lock()
			if ch := c.pings[body.Pong.GetSeq()]; ch != nil {
				ch <- struct{}{}
				delete(c.pings, body.Pong.GetSeq())
			}
			c.mu.Unlock()
		default:
			err = fmt.Errorf("%w: unexpected %s frame from the worker", ErrProtocol, FrameKind(&f))
		}
	}
	_ = c.stdout.Close()
	c.ended(err)
}

// deliver hands a result to its call.
func (c *child) deliver(r *protos.TaskResult, cpu *durationpb.Duration) error {
	id, perr := strconv.ParseUint(r.GetTaskId(), 10, 64)
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.calls[id]
	if perr != nil || pc == nil || !pc.written.Load() {
		return fmt.Errorf("%w: a result for task %q, which is not running", ErrProtocol, r.GetTaskId())
	}
	delete(c.calls, id)
	pc.done <- pres{res: r, cpu: cpu}
	c.stopIfDrainedLocked()
	return nil
}

// ended marks the child dead once its stdout has ended with err, and fails
// the calls still waiting.
func (c *child) ended(err error) {
	grace := c.cl.cfg.KillGrace
	var why string
	if err == io.EOF || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
		// It closed its stdout, which it does by exiting: wait for its status.
		t := time.NewTimer(grace)
		select {
		case <-c.exited:
		case <-t.C:
			c.kill()
			<-c.exited
		}
		t.Stop()
		c.mu.Lock()
		why = "exited: " + exitStatus(c.waitErr)
		c.mu.Unlock()
	} else {
		c.kill() // what it says can no longer be understood
		why = "broke the protocol: " + err.Error()
	}
	c.mu.Lock()
	c.deadErr = &CrashError{Worker: c.cl.cfg.Name, PID: c.pid, Reason: why}
	running, sent, expected := len(c.calls), 0, c.stopping && err == io.EOF
	for _, pc := range c.calls {
		if pc.written.Load() {
			sent++
		}
	}
	if sent > 0 {
		// The owner restarts the worker; calls that come meanwhile are not sent.
		c.cl.broken.CompareAndSwap(nil, c.deadErr)
	}
	c.mu.Unlock()
	close(c.dead)
	switch {
	case expected:
		c.log.Debug("worker process stopped", "status", why)
	case running > 0:
		c.log.Warn("worker process died under tasks", "status", why, "tasks", running)
	default:
		c.log.Warn("worker process died", "status", why)
	}
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// wframe is a frame for the writer; pc, for a task frame, learns when the
// writer is done with it.
type wframe struct {
	f  *protos.Frame
	pc *pcall
}

// writeLoop writes the frames of wch to the child's stdin, flushing when no
// more are waiting, so that frames sent close together leave in one write.
func (c *child) writeLoop() {
	defer c.cl.wg.Done()
	fw := NewFrameWriter(c.stdin, 0)
	var failed error
	write := func(w wframe) {
		if failed == nil {
			failed = fw.WriteFrame(w.f)
		}
		if w.pc != nil && failed == nil {
			w.pc.written.Store(true)
		}
	}
	for {
		select {
		case w := <-c.wch:
			write(w)
			for len(c.wch) > 0 {
				write(<-c.wch)
			}
			if failed == nil && c.cl.cfg.Concurrency > 1 {
				// Let runnable senders add their frames to this write.
				runtime.Gosched()
				for len(c.wch) > 0 {
					write(<-c.wch)
				}
			}
			if failed == nil {
				if failed = fw.Flush(); failed != nil {
					c.log.Debug("writing to worker process failed", "error", failed)
				}
			}
		case <-c.exited:
			_ = c.stdin.Close()
			return
		}
	}
}

// stderrLoop logs the child's stderr line by line.
func (c *child) stderrLoop() {
	defer c.cl.wg.Done()
	level := c.cl.cfg.StderrLevel
	br := bufio.NewReaderSize(c.stderr, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			c.log.Log(level, string(line))
		}
		if err != nil && err != bufio.ErrBufferFull {
			break
		}
	}
	_ = c.stderr.Close()
}

// waitLoop waits for the child to exit, kills its process group, reaps it
// (see reap), then lets the readers drain what it wrote before it exited,
// for at most KillGrace.
func (c *child) waitLoop() {
	defer c.cl.wg.Done()
	err := reap(c.cmd)
	c.mu.Lock()
	c.waitErr = err
	c.mu.Unlock()
	close(c.exited)
	drain := time.Now().Add(c.cl.cfg.KillGrace)
	_ = c.stdout.SetReadDeadline(drain)
	_ = c.stderr.SetReadDeadline(drain)
	_ = c.stdin.SetWriteDeadline(time.Now()) // unblocks a writer stuck on a full pipe
	if c.statm != nil {
		c.memMu.Lock()
		_ = c.statm.Close()
		c.statm = nil
		c.memMu.Unlock()
	}
	cl := c.cl
	cl.mu.Lock()
	delete(cl.children, c)
	cl.mu.Unlock()
}

// stopLoop runs the stop sequence once it is asked for: a shutdown frame
// and KillGrace to exit (skipped by kill), SIGTERM and KillGrace, SIGKILL
// (at once after abort).
func (c *child) stopLoop() {
	defer c.cl.wg.Done()
	select {
	case <-c.exited:
		return
	case <-c.stopReq:
	}
	grace := c.cl.cfg.KillGrace
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.killReq:
	default:
		select {
		case c.wch <- wframe{f: &protos.Frame{Body: &protos.Frame_Shutdown{Shutdown: &protos.Shutdown{}}}}:
		case <-c.exited:
			return
		case <-c.killReq:
		case <-t.C:
		}
		select {
		case <-c.exited:
			return
		case <-c.killReq:
		case <-t.C:
			c.log.Debug("worker process did not exit after shutdown; sending SIGTERM", "grace", grace)
		}
	}
	select {
	case <-c.abortReq:
	default:
		c.ending = endTerminated
		c.signal(sigTerm)
		t.Reset(grace) // Go 1.23 timers: no stale tick survives Reset
		select {
		case <-c.exited:
			return
		case <-c.abortReq:
		case <-t.C:
			c.log.Debug("worker process did not exit after SIGTERM; sending SIGKILL", "grace", grace)
		}
	}
	c.ending = endKilled
	c.signal(sigKill)
	<-c.exited
}
