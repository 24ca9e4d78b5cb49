package actors

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/drover-go/drover/supervision"
)

// breakers holds a pool's circuit breakers: one for the pool and one per
// task type, created on first use. A task is admitted only if both allow
// it; its result counts for both.
type breakers struct {
	pool   *pool
	cfg    supervision.BreakerConfig
	whole  *supervision.Breaker
	byType sync.Map // task type -> *supervision.Breaker
}

func newBreakers(p *pool, cfg supervision.BreakerConfig) (*breakers, error) {
	b := &breakers{pool: p, cfg: cfg}
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

// allow admits a task of the type, or returns an error wrapping
// ErrCircuitOpen. A trial slot taken from one breaker is given back if the
// other refuses.
func (b *breakers) allow(taskType string) error {
	if err := b.whole.Allow(); err != nil {
		return fmt.Errorf("%w: pool %q: %w", ErrCircuitOpen, b.pool.cfg.Name, err)
	}
	if err := b.forType(taskType).Allow(); err != nil {
		b.whole.Success() // neutral: the task never ran
		return fmt.Errorf("%w: pool %q, task type %q: %w", ErrCircuitOpen, b.pool.cfg.Name, taskType, err)
	}
	return nil
}

// report counts a task's result: handler errors, panics, timeouts and
// crashes are failures; success, cancellation, shedding and shutdown are not.
func (b *breakers) report(taskType string, err error) {
	failed := err != nil && !errors.Is(err, ErrCanceled) && !errors.Is(err, ErrShed) && !errors.Is(err, ErrShuttingDown)
	for _, br := range []*supervision.Breaker{b.whole, b.forType(taskType)} {
		if failed {
			br.Failure()
		} else {
			br.Success()
		}
	}
}

// States returns the pool's breaker states: "" for the pool, then each task type.
func (b *breakers) states() map[string]supervision.State {
	m := map[string]supervision.State{"": b.whole.State()}
	b.byType.Range(func(k, v any) bool {
		m[k.(string)] = v.(*supervision.Breaker).State()
		return true
	})
	return m
}
