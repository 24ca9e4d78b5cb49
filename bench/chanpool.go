package bench

import "sync"

// chanImpl is the limit: Workers goroutines read tasks from one buffered
// channel and reply on another, both sized to MaxInFlight, so neither a
// Submit nor a reply ever waits while the window holds.
func chanImpl() Impl {
	return Impl{Name: "chan", Start: startChanPool}
}

var _ Pool = (*chanPool)(nil)

type chanPool struct {
	tasks   chan func()
	results chan struct{}
	wg      sync.WaitGroup
	closed  bool
}

func startChanPool(cfg Config) (Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &chanPool{
		tasks:   make(chan func(), cfg.MaxInFlight),
		results: make(chan struct{}, cfg.MaxInFlight),
	}
	p.wg.Add(cfg.Workers)
	for range cfg.Workers {
		go p.work()
	}
	return p, nil
}

func (p *chanPool) work() {
	defer p.wg.Done()
	for task := range p.tasks {
		task()
		p.results <- struct{}{}
	}
}

func (p *chanPool) Submit(task func()) error {
	if p.closed {
		return ErrClosed
	}
	p.tasks <- task
	return nil
}

func (p *chanPool) Await() error {
	<-p.results
	return nil
}

func (p *chanPool) Close() error {
	if !p.closed {
		p.closed = true
		close(p.tasks)
		p.wg.Wait()
	}
	return nil
}
