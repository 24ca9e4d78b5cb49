package bench

import (
	"time"

	"github.com/panjf2000/ants/v2"
)

// antsReleaseTimeout bounds the wait for an ants pool's goroutines on Close.
const antsReleaseTimeout = 10 * time.Second

// antsImpl runs tasks on an ants v2 pool of Workers goroutines, its generic
// pool-with-func form (no closure per task), replying on a channel sized to
// MaxInFlight. ants has no queue: a Submit while every worker is busy parks
// the caller, so the pool is a Parker.
func antsImpl() Impl {
	return Impl{Name: "ants", Start: startAntsPool}
}

type antsPool struct {
	pool    *ants.PoolWithFuncGeneric[func()]
	results chan struct{}
}

var _ Parker = (*antsPool)(nil)

func startAntsPool(cfg Config) (Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	results := make(chan struct{}, cfg.MaxInFlight)
	pool, err := ants.NewPoolWithFuncGeneric(cfg.Workers, func(task func()) {
		task()
		results <- struct{}{}
	}, ants.WithLogger(discardPrintf{}))
	if err != nil {
		return nil, err
	}
	return &antsPool{pool: pool, results: results}, nil
}

func (p *antsPool) Submit(task func()) error { return p.pool.Invoke(task) }

func (p *antsPool) Await() error {
	<-p.results
	return nil
}

func (p *antsPool) Parked() int { return p.pool.Waiting() }

func (p *antsPool) Close() error {
	if p.pool.IsClosed() {
		return nil
	}
	return p.pool.ReleaseTimeout(antsReleaseTimeout)
}

// discardPrintf is a logger that prints nothing.
type discardPrintf struct{}

func (discardPrintf) Printf(string, ...any) {}
