package actors

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

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

// ProcessConfig describes the child processes of a KindProcess pool. Each
// worker of the pool owns one child, started from Command; tasks and their
// results travel as frames over the child's stdin and stdout (see the
// procworker package, which a worker binary written in Go uses, and its
// PROTOCOL.md for other languages). Each line the child writes to stderr is
// logged under the worker's name. Zero fields take the defaults listed on
// each field. A ProcessConfig is read when the node starts and must not be
// changed afterwards.
//
// What happens to a worker's child:
//
//   - It is started when the worker starts and must answer the handshake
//     within StartTimeout, or it is killed and the worker's start fails (the
//     pool's supervision restarts the worker).
//   - A task whose context ends (timeout, cancel, forced stop) is canceled
//     in the child; a child that has not answered within KillGrace gets
//     SIGTERM, and SIGKILL after another KillGrace. The task keeps its
//     timeout or cancel error; the worker restarts with a new child.
//   - A child that exits, is killed, or writes anything that is not a frame
//     fails the tasks it was running with an error wrapping ErrWorkerCrashed,
//     and the worker restarts. A child that dies while idle is replaced at
//     the next task.
//   - After MaxTasks tasks, or once its resident memory exceeds
//     MaxMemoryBytes after a task, a child is recycled: it finishes the tasks
//     it has, then stops, and a new child takes the next ones. No task fails
//     and the worker does not restart.
//   - When the worker stops, its child is sent a shutdown and given
//     KillGrace to exit, then SIGTERM, then SIGKILL after another KillGrace.
//     The child is always reaped.
//
// On Unix each child runs in a process group of its own, so that a
// terminal's Ctrl-C reaches the node only, and the signals above reach the
// child and whatever it started.
type ProcessConfig struct {
	// Command is the path of the worker binary; required. A name without a
	// slash is looked up in PATH.
	Command string
	// Args are the command's arguments.
	Args []string
	// Env is the child's environment ("KEY=value"); nil means the node's.
	Env []string
	// Dir is the child's working directory; empty means the node's.
	Dir string
	// StartTimeout bounds the start-up handshake; zero means
	// DefaultProcessStartTimeout (10s).
	StartTimeout time.Duration
	// KillGrace is how long a child has to answer a cancel or a shutdown
	// before SIGTERM, and again before SIGKILL; zero means
	// DefaultProcessKillGrace (2s).
	KillGrace time.Duration
	// MaxMemoryBytes recycles a child whose resident memory (VmRSS, read
	// from /proc after each task) exceeds it; zero means no limit. Linux only.
	MaxMemoryBytes int64
	// MaxTasks recycles a child once it has been given that many tasks; zero
	// means no limit.
	MaxTasks int64
	// StderrLevel is the level at which the child's stderr lines are logged;
	// zero (hclog.NoLevel) means hclog.Info.
	StderrLevel hclog.Level
}

func (c ProcessConfig) withDefaults() ProcessConfig {
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultProcessStartTimeout
	}
	if c.KillGrace == 0 {
		c.KillGrace = DefaultProcessKillGrace
	}
	if c.StderrLevel == hclog.NoLevel {
		c.StderrLevel = hclog.Info
	}
	return c
}

func (c *ProcessConfig) validate(field string) error {
	switch {
	case c.Command == "":
		return configError(field+".Command", "is empty; allowed: the path of a worker binary")
	case c.StartTimeout < 0:
		return configError(field+".StartTimeout", "is %s; allowed: 0 (default %s) or more", c.StartTimeout, DefaultProcessStartTimeout)
	case c.KillGrace < 0:
		return configError(field+".KillGrace", "is %s; allowed: 0 (default %s) or more", c.KillGrace, DefaultProcessKillGrace)
	case c.MaxMemoryBytes < 0:
		return configError(field+".MaxMemoryBytes", "is %d; allowed: 0 (no limit) or more", c.MaxMemoryBytes)
	case c.MaxMemoryBytes > 0 && runtime.GOOS != "linux":
		return configError(field+".MaxMemoryBytes", "is %d; allowed on %s: 0 (memory is read from /proc, on linux only)", c.MaxMemoryBytes, runtime.GOOS)
	case c.MaxTasks < 0:
		return configError(field+".MaxTasks", "is %d; allowed: 0 (no limit) or more", c.MaxTasks)
	case c.StderrLevel < hclog.NoLevel || c.StderrLevel > hclog.Error:
		return configError(field+".StderrLevel", "is %d; allowed: 0 (info) or trace to error (1 to 5)", c.StderrLevel)
	}
	return nil
}

// newProcessBackend starts the child process of one worker incarnation and
// waits for its handshake.
func newProcessBackend(p *pool, w *worker) (backend, error) {
	return startProcBackend(procSpec{
		cfg:         *p.cfg.Process,
		worker:      w.name,
		concurrency: p.cfg.Concurrency,
		logger:      p.node.logger,
	})
}

// procSpec is what a process backend needs from its pool and worker.
type procSpec struct {
	cfg         ProcessConfig // with defaults
	worker      string
	concurrency int
	logger      hclog.Logger // the node's
}

// procBackend runs one worker incarnation's tasks in a child process (in a
// new one after a recycle or the death of an idle child). Its call is safe
// for concurrent use by the incarnation's runners.
//
// Each child has five goroutines, all counted in wg: a reader (frames from
// stdout), a writer (frames to stdin, batched), a stderr pump, a waiter
// (reaps the process) and a stopper (runs the shutdown and kill sequence).
type procBackend struct {
	spec procSpec
	log  hclog.Logger

	cur atomic.Pointer[child] // the child taking tasks; nil while none does

	mu       sync.Mutex
	closing  bool
	closed   chan struct{} // closed when closing becomes true
	starting chan struct{} // closed when the start in progress ends; nil if none
	children map[*child]struct{}
	wg       sync.WaitGroup

	// broken is set once a child died under a task: the worker restarts, and
	// tasks that reach the backend until then fail without being sent.
	broken   atomic.Pointer[error]
	reported atomic.Bool // the crash was returned to one call
}

var (
	_ backend     = (*procBackend)(nil)
	_ pinger      = (*procBackend)(nil)
	_ rssReporter = (*procBackend)(nil)
)

func startProcBackend(spec procSpec) (*procBackend, error) {
	b := &procBackend{
		spec:     spec,
		log:      spec.logger.Named(spec.worker),
		closed:   make(chan struct{}),
		children: map[*child]struct{}{},
	}
	c, err := b.spawn()
	if err != nil {
		b.close()
		return nil, err
	}
	b.cur.Store(c)
	return b, nil
}

// call implements backend.
func (b *procBackend) call(ctx context.Context, f *Future) ([]byte, error, error) {
	out, err, crash, _ := b.callCPU(ctx, f)
	return out, err, crash
}

// callCPU is call that also returns the CPU time the child reported for
// the task (zero if it reported none).
func (b *procBackend) callCPU(ctx context.Context, f *Future) (out []byte, err, crash error, cpu time.Duration) {
	if e := b.broken.Load(); e != nil {
		return nil, *e, nil, 0
	}
	if len(f.payload) > procworker.MaxFrameSize/2 {
		if err := checkFrameSize(f); err != nil {
			return nil, err, nil, 0
		}
	}
	pc := newPcall()
	c, id, err, crash := b.acquire(ctx, pc)
	if err != nil || crash != nil {
		return nil, err, crash, 0
	}
	frame := pc.taskFrame(id, f)
	if d, ok := ctx.Deadline(); ok {
		pc.env.Timeout = durationpb.New(max(time.Until(d), time.Nanosecond))
	}
	select {
	case c.wch <- wframe{frame, pc}: // the usual case: room in the writer's queue
	default:
		select {
		case c.wch <- wframe{frame, pc}:
		case <-ctx.Done():
			c.forget(id)
			return nil, ctx.Err(), nil, 0
		case <-c.dead:
			return b.died(c, pc)
		}
	}
	select {
	case r := <-pc.done:
		return b.finish(ctx, c, pc, r)
	case <-c.dead:
		return b.died(c, pc)
	case <-ctx.Done():
		return b.cancel(ctx, c, id, pc)
	}
}

// checkFrameSize refuses a task whose frame would exceed the frame limit.
func checkFrameSize(f *Future) error {
	env := &protos.TaskEnvelope{Id: strconv.FormatUint(1<<63, 10), Type: f.typ, Key: f.routeKey(), Payload: f.payload, Timeout: durationpb.New(time.Hour)}
	if n := proto.Size(&protos.Frame{Body: &protos.Frame_Task{Task: env}}); n > procworker.MaxFrameSize {
		return taskError("Payload", "makes a %d-byte frame; allowed for process workers: at most %d", n, procworker.MaxFrameSize)
	}
	return nil
}

// acquire registers pc with the child taking tasks, starting a child when
// none does. err is a task error (ctx ended, the backend is stopping or
// broken); crash says a child could not start.
func (b *procBackend) acquire(ctx context.Context, pc *pcall) (c *child, id uint64, err, crash error) {
	if c := b.cur.Load(); c != nil {
		if id, ok := c.register(pc); ok {
			return c, id, nil, nil
		}
	}
	b.mu.Lock()
	for {
		switch {
		case b.closing:
			b.mu.Unlock()
			return nil, 0, fmt.Errorf("%w: worker %s is stopping; the task was not sent", ErrWorkerCrashed, b.spec.worker), nil
		case b.broken.Load() != nil:
			b.mu.Unlock()
			return nil, 0, *b.broken.Load(), nil
		}
		if c := b.cur.Load(); c != nil {
			if id, ok := c.register(pc); ok {
				b.mu.Unlock()
				return c, id, nil, nil
			}
			b.cur.CompareAndSwap(c, nil) // retired or dead
		}
		if ch := b.starting; ch != nil {
			b.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, 0, ctx.Err(), nil
			}
			b.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		b.starting = ch
		b.mu.Unlock()
		c, err := b.spawn()
		b.mu.Lock()
		b.starting = nil
		close(ch)
		if err != nil {
			if b.closing {
				continue // reported as stopping above
			}
			b.mu.Unlock()
			err = fmt.Errorf("%w: worker %s: start: %w", ErrWorkerCrashed, b.spec.worker, err)
			if crash := b.breakDown(err); crash != nil {
				return nil, 0, nil, crash
			}
			return nil, 0, err, nil
		}
		b.cur.Store(c)
	}
}

// breakDown marks the backend broken by err and returns the error the
// caller returns: the crash for the first caller, which makes the worker
// restart, and a task error for the others.
func (b *procBackend) breakDown(err error) (crash error) {
	b.broken.CompareAndSwap(nil, &err)
	select {
	case <-b.closed:
		return nil // the incarnation is ending anyway
	default:
	}
	if b.reported.CompareAndSwap(false, true) {
		return err
	}
	return nil
}

// died ends a call whose child died before its result came.
func (b *procBackend) died(c *child, pc *pcall) (out []byte, err, crash error, cpu time.Duration) {
	select {
	case r := <-pc.done: // the result came just before the end
		return b.finish(context.Background(), c, pc, r)
	default:
	}
	c.mu.Lock()
	dead := c.deadErr
	c.mu.Unlock()
	if crash := b.breakDown(dead); crash != nil {
		return nil, nil, crash, 0
	}
	return nil, dead, nil, 0
}

// cancel ends a call whose context ended: it cancels the task in the child
// and waits up to KillGrace for its result. A child that does not answer is
// killed, and the worker restarts.
func (b *procBackend) cancel(ctx context.Context, c *child, id uint64, pc *pcall) (out []byte, err, crash error, cpu time.Duration) {
	grace := time.NewTimer(b.spec.cfg.KillGrace)
	defer grace.Stop()
	cancel := &protos.Frame{Body: &protos.Frame_Cancel{Cancel: &protos.Cancel{TaskId: strconv.FormatUint(id, 10)}}}
	expired := false
	select {
	case c.wch <- wframe{f: cancel}:
	case r := <-pc.done:
		return b.finish(ctx, c, pc, r)
	case <-c.dead:
		return b.died(c, pc)
	case <-grace.C:
		expired = true
	}
	if !expired {
		select {
		case r := <-pc.done:
			return b.finish(ctx, c, pc, r)
		case <-c.dead:
			return b.died(c, pc)
		case <-grace.C:
		}
	}
	err = fmt.Errorf("%w: worker %s: process %d did not end task %d within %s of its cancel; killed", ErrWorkerCrashed, b.spec.worker, c.pid, id, b.spec.cfg.KillGrace)
	b.log.Warn("killing worker process: a canceled task did not end", "pid", c.pid, "grace", b.spec.cfg.KillGrace)
	c.kill()
	crash = b.breakDown(err)
	return nil, fmt.Errorf("%w: %w", err, ctx.Err()), crash, 0
}

// finish turns the child's result into the call's, and recycles the child
// if it is over its memory limit.
func (b *procBackend) finish(ctx context.Context, c *child, pc *pcall, r pres) (out []byte, err, crash error, cpu time.Duration) {
	pc.release()
	if r.cpu != nil {
		cpu = r.cpu.AsDuration()
	}
	if max := b.spec.cfg.MaxMemoryBytes; max > 0 {
		if rss, ok := c.residentBytes(false); ok && rss > max {
			c.retire(fmt.Sprintf("resident memory %d bytes exceeds MaxMemoryBytes %d", rss, max))
		}
	}
	out, err = resultOf(ctx, r.res)
	return out, err, nil, cpu
}

// resultOf converts a result frame into a handler's output and error.
func resultOf(ctx context.Context, r *protos.TaskResult) ([]byte, error) {
	te := r.GetError()
	if te == nil {
		return r.GetOutput(), nil
	}
	switch te.GetCode() {
	case protos.ErrorCode_ERROR_CODE_HANDLER, protos.ErrorCode_ERROR_CODE_UNSPECIFIED:
		return nil, errors.New(te.GetMessage())
	case protos.ErrorCode_ERROR_CODE_PANIC:
		return nil, &PanicError{Value: te.GetMessage(), Stack: []byte(te.GetStack())}
	case protos.ErrorCode_ERROR_CODE_CANCELED, protos.ErrorCode_ERROR_CODE_TIMEOUT:
		if err := ctx.Err(); err != nil {
			// The cancel we sent: the worker names why (timeout or cancel).
			return nil, fmt.Errorf("%s: %w", te.GetMessage(), err)
		}
	}
	return nil, ResultError(te)
}

// close implements backend: it stops every child (shutdown, then SIGTERM,
// then SIGKILL, KillGrace apart), reaps them, and returns once all their
// goroutines have ended. Calls still waiting get their results if the
// children send them before they exit, and ErrWorkerCrashed otherwise.
func (b *procBackend) close() {
	b.mu.Lock()
	if !b.closing {
		b.closing = true
		close(b.closed)
	}
	children := make([]*child, 0, len(b.children))
	for c := range b.children {
		children = append(children, c)
	}
	b.mu.Unlock()
	for _, c := range children {
		c.shutdown()
	}
	b.wg.Wait()
}

// rss returns the resident memory of the backend's live processes, in
// bytes (zero where it cannot be read). It is safe for concurrent use.
func (b *procBackend) rss() uint64 {
	b.mu.Lock()
	children := make([]*child, 0, len(b.children))
	for c := range b.children {
		children = append(children, c)
	}
	b.mu.Unlock()
	var total uint64
	for _, c := range children {
		if n, ok := c.residentBytes(true); ok {
			total += uint64(n)
		}
	}
	return total
}

// ping asks the child taking tasks to answer a ping, and waits for the
// answer until ctx ends. Between a recycled child and the next one there is
// no child to ask: the backend is healthy unless it is broken or stopping.
func (b *procBackend) ping(ctx context.Context) error {
	if e := b.broken.Load(); e != nil {
		return *e
	}
	c := b.cur.Load()
	if c == nil {
		select {
		case <-b.closed:
			return fmt.Errorf("%w: worker %s is stopping", ErrWorkerCrashed, b.spec.worker)
		default:
			return nil
		}
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

func newPcall() *pcall { return pcalls.Get().(*pcall) }

// taskFrame fills pc's frame with task id of f.
func (pc *pcall) taskFrame(id uint64, f *Future) *protos.Frame {
	pc.written.Store(false)
	pc.env.Reset()
	pc.env.Id, pc.env.Type, pc.env.Key, pc.env.Payload = strconv.FormatUint(id, 10), f.typ, f.routeKey(), f.payload
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

// child is one worker process and its pipes.
type child struct {
	b   *procBackend
	cmd *exec.Cmd
	pid int
	log hclog.Logger

	stdin  *os.File // write end, owned by the writer
	stdout *os.File // read end, owned by the reader
	stderr *os.File // read end, owned by the stderr pump
	statm  *os.File // /proc/<pid>/statm; nil where there is no /proc

	wch     chan wframe        // frames for the writer
	ready   chan *protos.Ready // the handshake's answer
	dead    chan struct{}      // closed once no result can come any more
	exited  chan struct{}      // closed once the process is reaped
	stopReq chan struct{}      // closed to start the stop sequence
	killReq chan struct{}      // closed to skip its graceful part
	stopOne sync.Once
	killOne sync.Once

	mu       sync.Mutex
	calls    map[uint64]*pcall // waiting for their results, by task id
	nextID   uint64
	sent     int64
	retired  bool   // takes no more tasks
	deadErr  error  // why dead closed
	deadWhy  string // deadErr's reason alone
	waitErr  error  // cmd.Wait's, once exited closed
	pings    map[uint64]chan struct{}
	pingSeq  uint64
	memMu    sync.Mutex
	memBuf   []byte
	stopping bool // we asked it to stop: its exit is no crash
}

// spawn starts a child and waits for its handshake. On error the child is
// killed (its goroutines end by themselves, and close waits for them); the
// error does not name the worker.
func (b *procBackend) spawn() (*child, error) {
	cfg := b.spec.cfg
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return nil, b.startError(err)
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, b.startError(err)
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, b.startError(err)
	}
	cmd := exec.Command(cfg.Command, cfg.Args...)
	cmd.Env, cmd.Dir = cfg.Env, cfg.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	setProcessGroup(cmd)

	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		closeAll()
		return nil, errors.New("the worker is stopping")
	}
	if err := cmd.Start(); err != nil {
		b.mu.Unlock()
		closeAll()
		return nil, b.startError(err)
	}
	// The child has its own copies of its ends.
	_, _, _ = inR.Close(), outW.Close(), errW.Close()
	c := &child{
		b:       b,
		cmd:     cmd,
		pid:     cmd.Process.Pid,
		stdin:   inW,
		stdout:  outR,
		stderr:  errR,
		wch:     make(chan wframe, b.spec.concurrency+8),
		ready:   make(chan *protos.Ready, 1),
		dead:    make(chan struct{}),
		exited:  make(chan struct{}),
		stopReq: make(chan struct{}),
		killReq: make(chan struct{}),
		calls:   map[uint64]*pcall{},
		pings:   map[uint64]chan struct{}{},
	}
	c.log = b.log.With("pid", c.pid)
	// Opened now, while the pid is surely ours; read with ReadAt(0).
	if f, err := os.Open("/proc/" + strconv.Itoa(c.pid) + "/statm"); err == nil {
		c.statm = f
	} else if cfg.MaxMemoryBytes > 0 {
		c.log.Warn("cannot read the worker process's memory; MaxMemoryBytes is not enforced for it", "error", err)
	}
	b.children[c] = struct{}{}
	b.wg.Add(5)
	b.mu.Unlock()
	go c.waitLoop()
	go c.readLoop()
	go c.writeLoop()
	go c.stderrLoop()
	go c.stopLoop()
	c.log.Debug("worker process started", "command", cfg.Command)

	c.wch <- wframe{f: &protos.Frame{Body: &protos.Frame_Hello{Hello: &protos.Hello{
		Version:       procworker.ProtocolVersion,
		Worker:        b.spec.worker,
		Concurrency:   uint32(b.spec.concurrency),
		MaxFrameBytes: procworker.MaxFrameSize,
		KillGrace:     durationpb.New(cfg.KillGrace),
	}}}}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case r := <-c.ready:
		if v := r.GetVersion(); v != procworker.ProtocolVersion {
			c.kill()
			return nil, b.startError(fmt.Errorf("%w: process %d speaks protocol version %d; allowed: %d", procworker.ErrProtocol, c.pid, v, procworker.ProtocolVersion))
		}
		c.log.Debug("worker process ready", "types", r.GetTypes())
		return c, nil
	case <-c.dead:
		c.kill()
		c.mu.Lock()
		why := c.deadWhy
		c.mu.Unlock()
		return nil, b.startError(fmt.Errorf("process %d %s before the handshake", c.pid, why))
	case <-timer.C:
		c.kill()
		return nil, b.startError(fmt.Errorf("process %d did not answer the handshake within %s (StartTimeout); killed", c.pid, cfg.StartTimeout))
	case <-b.closed:
		c.kill()
		return nil, errors.New("the worker is stopping")
	}
}

func (b *procBackend) startError(err error) error {
	return fmt.Errorf("%s: %w", b.spec.cfg.Command, err)
}

// register gives pc a task id on c, unless c takes no more tasks.
func (c *child) register(pc *pcall) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.retired || c.deadErr != nil {
		return 0, false
	}
	c.nextID++
	c.calls[c.nextID] = pc
	c.sent++
	if max := c.b.spec.cfg.MaxTasks; max > 0 && c.sent >= max {
		c.retireLocked(fmt.Sprintf("it was given MaxTasks (%d) tasks", max))
	}
	return c.nextID, true
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
	defer c.mu.Unlock()
	c.retireLocked(why)
}

func (c *child) retireLocked(why string) {
	if c.retired || c.deadErr != nil {
		return
	}
	c.retired = true
	c.b.cur.CompareAndSwap(c, nil)
	c.log.Debug("recycling worker process", "reason", why)
	c.stopIfDrainedLocked()
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

func (c *child) deadError() error {
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
	defer c.b.wg.Done()
	fr := procworker.NewFrameReader(c.stdout, 0)
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
				err = fmt.Errorf("%w: a second ready frame", procworker.ErrProtocol)
				break
			}
			handshake = false
			c.ready <- body.Ready
		case *protos.Frame_Result:
			if handshake {
				err = fmt.Errorf("%w: a result before the handshake", procworker.ErrProtocol)
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
			err = fmt.Errorf("%w: unexpected %s frame from the worker", procworker.ErrProtocol, procworker.FrameKind(&f))
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
		return fmt.Errorf("%w: a result for task %q, which is not running", procworker.ErrProtocol, r.GetTaskId())
	}
	delete(c.calls, id)
	pc.done <- pres{res: r, cpu: cpu}
	c.stopIfDrainedLocked()
	return nil
}

// ended marks the child dead once its stdout has ended with err, and fails
// the calls still waiting.
func (c *child) ended(err error) {
	grace := c.b.spec.cfg.KillGrace
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
	c.deadErr = fmt.Errorf("%w: worker %s: process %d %s", ErrWorkerCrashed, c.b.spec.worker, c.pid, why)
	c.deadWhy = why
	running, expected := len(c.calls), c.stopping && err == io.EOF
	if running > 0 {
		// The worker restarts; tasks that reach it meanwhile are not sent.
		c.b.broken.CompareAndSwap(nil, &c.deadErr)
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
	defer c.b.wg.Done()
	fw := procworker.NewFrameWriter(c.stdin, 0)
	var failed error
	write := func(w wframe) {
		if failed == nil {
			failed = fw.WriteFrame(w.f)
		}
		if w.pc != nil {
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
			if failed == nil && c.b.spec.concurrency > 1 {
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
	defer c.b.wg.Done()
	level := c.b.spec.cfg.StderrLevel
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

// waitLoop reaps the child, then lets the readers drain what it wrote
// before it exited, for at most KillGrace (longer only if something it
// started holds the pipes open).
func (c *child) waitLoop() {
	defer c.b.wg.Done()
	err := c.cmd.Wait()
	c.mu.Lock()
	c.waitErr = err
	c.mu.Unlock()
	close(c.exited)
	drain := time.Now().Add(c.b.spec.cfg.KillGrace)
	_ = c.stdout.SetReadDeadline(drain)
	_ = c.stderr.SetReadDeadline(drain)
	_ = c.stdin.SetWriteDeadline(time.Now()) // unblocks a writer stuck on a full pipe
	if c.statm != nil {
		c.memMu.Lock()
		_ = c.statm.Close()
		c.statm = nil
		c.memMu.Unlock()
	}
	b := c.b
	b.mu.Lock()
	delete(b.children, c)
	b.mu.Unlock()
}

// stopLoop runs the stop sequence once it is asked for: a shutdown frame
// and KillGrace to exit (skipped by kill), SIGTERM and KillGrace, SIGKILL.
func (c *child) stopLoop() {
	defer c.b.wg.Done()
	select {
	case <-c.exited:
		return
	case <-c.stopReq:
	}
	grace := c.b.spec.cfg.KillGrace
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
	c.terminate()
	t.Reset(grace) // Go 1.23 timers: no stale tick survives Reset
	select {
	case <-c.exited:
		return
	case <-t.C:
	}
	c.log.Debug("worker process did not exit after SIGTERM; sending SIGKILL", "grace", grace)
	c.forceKill()
	<-c.exited
}
