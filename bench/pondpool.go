package bench

import "github.com/alitto/pond/v2"

// pondImpl runs tasks on a pond v2 pool of at most Workers goroutines with
// its unbounded queue; each Submit returns pond's task future, and Await
// waits on the oldest one.
func pondImpl() Impl {
	return Impl{Name: "pond", Start: startPondPool}
}

var _ Pool = (*pondPool)(nil)

type pondPool struct {
	pool    pond.Pool
	futures fifo[pond.Task]
}

func startPondPool(cfg Config) (Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &pondPool{
		pool:    pond.NewPool(cfg.Workers),
		futures: newFIFO[pond.Task](cfg.MaxInFlight),
	}, nil
}

func (p *pondPool) Submit(task func()) error {
	if p.pool.Stopped() {
		return ErrClosed
	}
	p.futures.push(p.pool.Submit(task))
	return nil
}

func (p *pondPool) Await() error {
	return p.futures.pop().Wait()
}

func (p *pondPool) Close() error {
	p.pool.StopAndWait()
	return nil
}
