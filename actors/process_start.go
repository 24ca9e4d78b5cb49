package actors

import (
	"context"
	"errors"
	"sync"

	"github.com/drover-go/drover/actors/procworker"
)

// procState is what a pool knows about its workers' process starts. The
// zero value is ready to use.
type procState struct {
	once    sync.Once
	haltCtx context.Context // ends when the node stops the pool: starts abort
	halt    context.CancelFunc

	mu       sync.Mutex
	startErr string // the last start error since a worker last started
	logged   string // the cause last logged at Error, reset by a start
}

func (s *procState) init() {
	s.once.Do(func() { s.haltCtx, s.halt = context.WithCancel(context.Background()) })
}

// ctx returns the context of the pool's process starts: it ends once
// stopStarts is called.
func (s *procState) ctx() context.Context {
	s.init()
	return s.haltCtx
}

// stopStarts aborts the starts in progress and those to come: their
// children are killed and reaped. The node calls it when it stops its
// actors, so that a worker still starting does not hold the stop up.
func (s *procState) stopStarts() {
	s.init()
	s.halt()
}

// halting reports whether stopStarts was called.
func (s *procState) halting() bool { return s.ctx().Err() != nil }

// startFailed records err as the pool's start error and logs it at Error,
// unless its cause was the last one logged (a command that cannot start
// fails at every restart: one line says it).
func (s *procState) startFailed(p *pool, w *worker, err error) {
	cause := err.Error()
	var se *procworker.StartError
	if errors.As(err, &se) {
		cause = se.Reason
	}
	s.mu.Lock()
	s.startErr = err.Error()
	first := s.logged != cause
	s.logged = cause
	s.mu.Unlock()
	if first {
		p.node.logger.Error("worker process cannot start; the worker restarts with backoff", "pool", p.cfg.Name, "worker", w.name, "error", err)
	}
}

// started clears the start error once a worker has started.
func (s *procState) started() {
	s.mu.Lock()
	s.startErr, s.logged = "", ""
	s.mu.Unlock()
}

// startError returns the pool's start error, or "".
func (s *procState) startError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startErr
}
