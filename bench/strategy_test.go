package bench

import (
	"testing"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/router"
)

// BenchmarkStrategies runs empty tasks with results, 1,000 in flight,
// through a Drover pool of 4 io workers (4 tasks each at once) under each
// router strategy, beside the plain-channel pool in the same run.
//
//	go test -run '^$' -bench BenchmarkStrategies ./bench/
func BenchmarkStrategies(b *testing.B) {
	cfg := Config{Workers: 4, MaxInFlight: 1000}
	run := func(b *testing.B, p Pool) {
		b.Helper()
		defer p.Close()
		b.ReportAllocs()
		b.ResetTimer()
		inFlight := 0
		for range b.N {
			if inFlight == cfg.MaxInFlight {
				if err := p.Await(); err != nil {
					b.Fatal(err)
				}
				inFlight--
			}
			if err := p.Submit(func() {}); err != nil {
				b.Fatal(err)
			}
			inFlight++
		}
		for ; inFlight > 0; inFlight-- {
			if err := p.Await(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	}
	b.Run("chan", func(b *testing.B) {
		p, err := chanImpl().Start(cfg)
		if err != nil {
			b.Fatal(err)
		}
		run(b, p)
	})
	for _, name := range router.Names() {
		b.Run(name, func(b *testing.B) {
			node, err := actors.NewNode(actors.WithPool(actors.PoolConfig{
				Name: droverPoolName, Kind: actors.KindIO, Workers: cfg.Workers, Concurrency: 4,
				Strategy: name, QueueCapacity: cfg.MaxInFlight,
			}))
			if err != nil {
				b.Fatal(err)
			}
			run(b, &droverPool{node: node, futures: newFIFO[*actors.Future](cfg.MaxInFlight)})
		})
	}
}
