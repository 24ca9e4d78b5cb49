package actors

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSubmitterReusesRecords: a Submitter makes a few windows of records at
// most and reuses them, however many tasks run (a record is reused only
// once its result is delivered and its runner has let it go, so more than
// a window may be in use at a time).
func TestSubmitterReusesRecords(t *testing.T) {
	n, err := NewNode(WithPool(PoolConfig{Name: "p", Workers: 2, Concurrency: 2}),
		WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	require.NoError(t, err)
	defer func() { _, _ = n.Shutdown(context.Background()) }()
	const window = 16
	s, err := n.NewSubmitter(window)
	require.NoError(t, err)
	for i := range 20000 {
		for s.TrySubmit(Task{Type: "echo"}, uint64(i)) == nil {
		}
		_, err := s.Next(context.Background())
		require.NoError(t, err)
	}
	require.LessOrEqual(t, s.made.Load(), int64(4*window), "records are not reused")
}

// TestSubmitterWakesTheOtherNext: two Next calls wait; two results arrive
// together. The Next that wakes takes both from the runners' list, returns
// one and must wake the other for the second: nothing else will (no more
// results come, and the first caller does not call again).
func TestSubmitterWakesTheOtherNext(t *testing.T) {
	n, err := NewNode(WithPool(PoolConfig{Name: "p", Workers: 1}))
	require.NoError(t, err)
	defer func() { _, _ = n.Shutdown(context.Background()) }()
	s, err := n.NewSubmitter(2)
	require.NoError(t, err)
	p := n.pools[0]
	var recs []*Future
	s.mu.Lock()
	for tag := range uint64(2) {
		f := s.ready(s.popLocked(), tag)
		f.pool = p
		f.state.Store(jobClaimed) // as a runner leaves it: claimed, unheld by the pool
		f.lean.refs.Store(1)
		recs = append(recs, f)
	}
	s.held = 2
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan uint64, 2)
	for range 2 {
		go func() {
			if c, err := s.Next(ctx); err == nil {
				got <- c.Tag
			} else {
				got <- 99
			}
		}()
	}
	for s.sleepers.Load() < 2 { // both wait: the results are not there yet
		runtime.Gosched()
	}
	// Both results land before either Next looks, with one token: the
	// second runner found the first one's token still unread.
	s.dmu.Lock()
	s.ended = append(s.ended, recs...)
	s.dmu.Unlock()
	s.poke()
	tags := []uint64{<-got, <-got}
	require.ElementsMatch(t, []uint64{0, 1}, tags, "99: a Next waited out its context while a result was there")
}
