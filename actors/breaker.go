package actors

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/drover-go/drover/supervision"
)

// BreakerScope says which task results count for a pool's own circuit
// breaker (PoolConfig.Breaker). Every result counts for its task type's
// breaker whatever the scope.
type BreakerScope uint8

const (
	// BreakerPoolFaults, the zero value, counts for the pool's breaker only
	// what says something about the pool: a success of any type closes or
	// clears it, and a worker lost under its task (ErrWorkerCrashed,
	// ErrWorkerStuck) counts as a failure. A handler's own failure (its
	// error, a panic, a timeout) counts only for its type's breaker, so one
	// failing task type does not get the healthy types refused, unless it
	// keeps crashing workers, which takes capacity from every type.
	BreakerPoolFaults BreakerScope = iota
	// BreakerAllResults counts every result for the pool's breaker as it
	// does for the type's: enough failures of any type, handler errors
	// included, refuse every type of the pool.
	BreakerAllResults
)

var breakerScopeNames = [...]string{BreakerPoolFaults: "pool-faults", BreakerAllResults: "all-results"}

// String returns "pool-faults" or "all-results", or "BreakerScope(n)".
func (s BreakerScope) String() string {
	if int(s) < len(breakerScopeNames) {
		return breakerScopeNames[s]
	}
	return "BreakerScope(" + strconv.Itoa(int(s)) + ")"
}

func (s BreakerScope) valid() bool { return int(s) < len(breakerScopeNames) }

// breakers holds a pool's circuit breakers: one for the pool and one per
// task type, created on first use. A task is admitted only if both allow
// it; its result counts for its type's breaker, and for the pool's as the
// pool's BreakerScope says.
type breakers struct {
	pool   *pool
	cfg    supervision.BreakerConfig
	scope  BreakerScope
	whole  *supervision.Breaker
	byType sync.Map // task type -> *supervision.Breaker
}

// breakerTicket is what an admitted task keeps until its result: its
// admission by the pool's breaker and by its type's.
type breakerTicket struct {
	set        *breakers // the breakers that admitted it (Reconfigure may replace the pool's)
	whole, typ supervision.Ticket
	br         *supervision.Breaker // the type's breaker; nil: not admitted
}

func newBreakers(p *pool, cfg supervision.BreakerConfig, scope BreakerScope) (*breakers, error) {
	b := &breakers{pool: p, cfg: cfg, scope: scope}
	whole, err := b.make("")
	if err != nil {
		return nil, err
	}
	b.whole = whole
	return b, nil
}

func (b *breakers) make(taskType string) (*supervision.Breaker, error) {
	cfg := b.cfg
	user := cfg.OnStateChange
	p := b.pool
	cfg.OnStateChange = func(from, to supervision.State) {
		p.node.event(supervision.BreakerStateChanged{Pool: p.cfg.Name, TaskType: taskType, From: from, To: to, At: time.Now()})
		if user != nil {
			user(from, to)
		}
	}
	return supervision.NewBreaker(cfg, time.Now)
}

func (b *breakers) forType(taskType string) *supervision.Breaker {
	if v, ok := b.byType.Load(taskType); ok {
		return v.(*supervision.Breaker)
	}
	nb, _ := b.make(taskType) // the config was validated with the pool's
	v, _ := b.byType.LoadOrStore(taskType, nb)
	return v.(*supervision.Breaker)
}

// allow admits a task of the type and returns its ticket, or returns an
// error wrapping ErrCircuitOpen. If the type's breaker refuses, the pool's
// admission is given back as Skipped. Every ticket returned must reach done
// or skip exactly once.
func (b *breakers) allow(taskType string) (breakerTicket, error) {
	whole, err := b.whole.Admit()
	if err != nil {
		return breakerTicket{}, fmt.Errorf("%w: pool %q: %w", ErrCircuitOpen, b.pool.cfg.Name, err)
	}
	br := b.forType(taskType)
	typ, err := br.Admit()
	if err != nil {
		b.whole.Done(whole, supervision.Skipped) // the task never ran
		return breakerTicket{}, fmt.Errorf("%w: pool %q, task type %q: %w", ErrCircuitOpen, b.pool.cfg.Name, taskType, err)
	}
	return breakerTicket{set: b, whole: whole, typ: typ, br: br}, nil
}

// skip gives back the admission of a task that was refused after allow:
// it never ran, so it counts for neither breaker.
func (b *breakers) skip(t breakerTicket) {
	if t.br == nil {
		return
	}
	t.br.Done(t.typ, supervision.Skipped)
	b.whole.Done(t.whole, supervision.Skipped)
}

// done counts an admitted task's terminal result (see outcomeOf and
// BreakerScope).
func (b *breakers) done(t breakerTicket, err error) {
	if t.br == nil {
		return
	}
	o := outcomeOf(err)
	t.br.Done(t.typ, o)
	b.whole.Done(t.whole, b.scope.poolOutcome(o, err))
}

// poolOutcome returns what a task's outcome o (for its type's breaker)
// counts as for the pool's breaker.
func (s BreakerScope) poolOutcome(o supervision.Outcome, err error) supervision.Outcome {
	if o == supervision.Failed && s == BreakerPoolFaults && !isPoolFault(err) {
		return supervision.Skipped // the handler's failure, not the pool's
	}
	return o
}

// outcomeOf maps a task's terminal error to a breaker outcome: nil
// succeeded; a task that did not run or was cut short from outside
// (canceled, shed, shutting down, refused) is skipped; anything else (the
// handler's error, a panic, a timeout, a crashed or stuck worker) failed.
func outcomeOf(err error) supervision.Outcome {
	switch {
	case err == nil:
		return supervision.Succeeded
	case errors.Is(err, ErrCanceled), errors.Is(err, ErrShed), errors.Is(err, ErrShuttingDown),
		errors.Is(err, ErrQueueFull), errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrResource):
		return supervision.Skipped
	default:
		return supervision.Failed
	}
}

// isPoolFault reports whether a failed task's error is the pool's: its
// worker was lost under it.
func isPoolFault(err error) bool {
	return errors.Is(err, ErrWorkerCrashed) || errors.Is(err, ErrWorkerStuck)
}

// states returns the pool's breaker states: "" for the pool, then each task type.
func (b *breakers) states() map[string]supervision.State {
	m := map[string]supervision.State{"": b.whole.State()}
	b.byType.Range(func(k, v any) bool {
		m[k.(string)] = v.(*supervision.Breaker).State()
		return true
	})
	return m
}

// breakerTicket returns the ticket f was admitted with; the zero ticket,
// which counts for nothing, if its pool has no breakers.
func (f *Future) breakerTicket() breakerTicket {
	if f.x == nil {
		return breakerTicket{}
	}
	return f.x.breaker
}
