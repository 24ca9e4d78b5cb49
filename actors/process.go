package actors

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
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
//   - Tasks that were never sent to a child that crashed (they were queued
//     for it, or came while the worker was restarting) do not fail: they run
//     on the worker's next child, or on another worker.
//   - After MaxTasks tasks, or once its resident memory exceeds
//     MaxMemoryBytes after a task, a child is recycled: it finishes the tasks
//     it has, then stops, and a new child takes the next ones. No task fails;
//     the recycle counts in PoolStats.Restarts and is reported as a
//     supervision.WorkerRestarted event whose Reason starts with "recycled: ".
//   - When the worker stops, its child is sent a shutdown and given
//     KillGrace to exit, then SIGTERM, then SIGKILL after another KillGrace.
//     A child still starting when the node stops is killed at once. The
//     child is always reaped.
//   - A command that cannot be started, or a child that fails its
//     handshake, is logged at Error once per distinct cause; the error is
//     shown as PoolStats.StartError until a worker of the pool starts.
//
// On Unix each child runs in a process group of its own, so that a
// terminal's Ctrl-C reaches the node only, and the signals above reach the
// child and whatever it started. On Linux the whole group is killed
// whenever the child ends, however it ends: whatever it started does not
// outlive it (see procworker.Client).
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
// waits for its handshake, or until ctx ends (the node is stopping).
func newProcessBackend(ctx context.Context, p *pool, w *worker) (backend, error) {
	cfg := *p.cfg.Process
	b := &procBackend{pool: p, worker: w}
	c, err := procworker.Start(ctx, procworker.ClientConfig{
		Command:        cfg.Command,
		Args:           cfg.Args,
		Env:            cfg.Env,
		Dir:            cfg.Dir,
		Name:           w.name,
		Concurrency:    p.cfg.Concurrency,
		StartTimeout:   cfg.StartTimeout,
		KillGrace:      cfg.KillGrace,
		MaxTasks:       cfg.MaxTasks,
		MaxMemoryBytes: cfg.MaxMemoryBytes,
		Logger:         p.node.logger.Named(w.name),
		StderrLevel:    cfg.StderrLevel,
		OnRecycle:      b.recycled,
	})
	if err != nil {
		if ctx.Err() == nil {
			p.proc.startFailed(p, w, err)
		}
		return nil, err
	}
	p.proc.started()
	b.c = c
	return b, nil
}

// procBackend runs one worker incarnation's tasks in a child process, over
// a procworker.Client. Its methods are safe for concurrent use by the
// incarnation's runners.
type procBackend struct {
	c      *procworker.Client
	pool   *pool
	worker *worker

	closing  atomic.Bool // close began: the incarnation is ending anyway
	reported atomic.Bool // a crash was returned to one call, which restarts the worker
}

var (
	_ backend     = (*procBackend)(nil)
	_ cpuCaller   = (*procBackend)(nil)
	_ pinger      = (*procBackend)(nil)
	_ rssReporter = (*procBackend)(nil)
)

// errNotSent is the error of a call whose task was never sent to a child:
// the worker's child crashed or the worker is stopping. The runner hands
// the task back to the worker's inbox, for its next incarnation (or, if it
// stops for good, the other workers); the task does not fail.
var errNotSent = errors.New("drover: task not sent to the worker process")

// call implements backend.
func (b *procBackend) call(ctx context.Context, f *Future) (out []byte, err, crash error) {
	out, _, err, crash = b.callCPU(ctx, f)
	return out, err, crash
}

// callCPU implements cpuCaller: call, with the CPU time the child reported
// for the task (zero if it reported none).
func (b *procBackend) callCPU(ctx context.Context, f *Future) (out []byte, cpu time.Duration, err, crash error) {
	resp, err := b.c.Call(ctx, procworker.Request{Type: f.x.typ, Key: f.routeKey(), Payload: f.payload})
	if err == nil {
		return resp.Output, resp.CPU, nil, nil
	}
	var te *procworker.TaskError
	var ce *procworker.CrashError
	switch {
	case errors.Is(err, procworker.ErrNotSent):
		return nil, 0, fmt.Errorf("%w: %w", errNotSent, err), nil
	case errors.As(err, &ce):
		err = fmt.Errorf("%w: %w", ErrWorkerCrashed, ce)
		if !b.closing.Load() && b.reported.CompareAndSwap(false, true) {
			return nil, 0, nil, err
		}
		return nil, 0, err, nil
	case errors.As(err, &te):
		return nil, resp.CPU, taskResultError(ctx, te), nil
	case errors.Is(err, procworker.ErrFrameTooLarge):
		return nil, 0, taskError("Payload", "is too large for process workers: %v", err), nil
	}
	return nil, 0, err, nil
}

// taskResultError converts a handler's error reported by a child.
func taskResultError(ctx context.Context, te *procworker.TaskError) error {
	switch te.Code {
	case protos.ErrorCode_ERROR_CODE_HANDLER, protos.ErrorCode_ERROR_CODE_UNSPECIFIED:
		return errors.New(te.Message)
	case protos.ErrorCode_ERROR_CODE_PANIC:
		return &PanicError{Value: te.Message, Stack: []byte(te.Stack)}
	case protos.ErrorCode_ERROR_CODE_CANCELED, protos.ErrorCode_ERROR_CODE_TIMEOUT:
		if err := ctx.Err(); err != nil {
			// The cancel the client sent: the worker names why (timeout or cancel).
			return fmt.Errorf("%s: %w", te.Message, err)
		}
	}
	return ResultError(&protos.TaskError{Code: te.Code, Message: te.Message, Stack: te.Stack})
}

// recycled counts a recycle as a restart of the worker and reports it.
func (b *procBackend) recycled(reason string) {
	p, w := b.pool, b.worker
	p.restarts.Add(1)
	p.mu.Lock()
	w.restarts++
	p.mu.Unlock()
	p.node.event(supervision.WorkerRestarted{Pool: p.cfg.Name, Worker: w.name, Reason: "recycled: " + reason, At: time.Now()})
	p.node.logger.Debug("worker process recycled", "worker", w.name, "reason", reason)
}

// close implements backend: it stops every child (shutdown, then SIGTERM,
// then SIGKILL, KillGrace apart) and returns once they and their process
// groups are gone.
func (b *procBackend) close() {
	b.closing.Store(true)
	rep := b.c.Close(context.Background())
	if rep.Terminated+rep.Killed > 0 {
		b.pool.node.logger.Debug("worker processes stopped by signal", "worker", b.worker.name, "terminated", rep.Terminated, "killed", rep.Killed)
	}
}

// rss returns the resident memory of the backend's live processes.
func (b *procBackend) rss() uint64 { return b.c.RSS() }

// ping asks the child taking tasks to answer a ping.
func (b *procBackend) ping(ctx context.Context) error {
	err := b.c.Ping(ctx)
	if errors.Is(err, procworker.ErrNotSent) || errors.Is(err, procworker.ErrCrashed) {
		return fmt.Errorf("%w: %w", ErrWorkerCrashed, err)
	}
	return err
}
