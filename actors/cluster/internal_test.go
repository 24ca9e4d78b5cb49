package cluster

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/router"
)

func TestBatcher(t *testing.T) {
	t.Run("one item goes out alone", func(t *testing.T) {
		got := make(chan []int, 10)
		b := newBatcher(4, func(xs []int) { got <- xs })
		require.True(t, b.add(1))
		assert.Equal(t, []int{1}, <-got)
		b.close()
	})
	t.Run("items pile up while send runs, bounded by max", func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var batches [][]int
		first := make(chan struct{})
		b := newBatcher(3, func(xs []int) {
			mu.Lock()
			batches = append(batches, xs)
			n := len(batches)
			mu.Unlock()
			if n == 1 {
				close(first)
				<-release
			}
		})
		go b.add(0) // sent inline, on that goroutine
		<-first     // send is busy with [0]
		for i := 1; i <= 7; i++ {
			b.add(i)
		}
		close(release)
		b.close()
		assert.Equal(t, [][]int{{0}, {1, 2, 3}, {4, 5, 6}, {7}}, batches)
	})
	t.Run("close sends what is queued and refuses more", func(t *testing.T) {
		var sent []int
		block := make(chan struct{})
		started := make(chan struct{})
		b := newBatcher(10, func(xs []int) {
			if xs[0] == 0 {
				close(started)
				<-block
			}
			sent = append(sent, xs...)
		})
		go b.add(0)
		<-started
		b.add(1)
		b.add(2)
		go func() { close(block) }()
		b.close() // waits for the inline send of [0], then sends [1 2]
		assert.Equal(t, []int{0, 1, 2}, sent)
		assert.False(t, b.add(3))
	})
	t.Run("discard drops what is queued", func(t *testing.T) {
		var sent []int
		block := make(chan struct{})
		started := make(chan struct{})
		b := newBatcher(10, func(xs []int) {
			if xs[0] == 0 {
				close(started)
				<-block
			}
			sent = append(sent, xs...)
		})
		go b.add(0)
		<-started
		b.add(1)
		done := make(chan struct{})
		go func() { b.discard(); close(done) }()
		// discard drops [1] at once, then waits for the send in progress.
		require.Eventually(t, func() bool { return !b.add(2) }, 5*time.Second, time.Millisecond)
		close(block)
		<-done
		assert.Equal(t, []int{0}, sent)
	})
}

func TestPending(t *testing.T) {
	p := newPending()
	f1, f2, f3 := &call{}, &call{}, &call{}
	p.put(1, f1)
	p.put(2, f2)
	p.put(33, f3) // same shard as 1
	assert.Equal(t, 3, p.len())
	assert.Same(t, f1, p.take(1))
	assert.Nil(t, p.take(1), "taken twice")
	assert.False(t, p.takeIf(2, f1), "wrong future")
	assert.True(t, p.takeIf(2, f2))
	p.put(4, f1)
	got := p.takeWhere(func(f *call) bool { return f == f3 })
	assert.Equal(t, []*call{f3}, got)
	assert.Equal(t, 1, p.len())
	assert.Same(t, f1, p.take(4))
	assert.Zero(t, p.len())
}

func TestRoom(t *testing.T) {
	r := newRoom()
	r.signal() // nobody armed: nothing to do
	ch := r.arm()
	select {
	case <-ch:
		t.Fatal("woken before a signal")
	default:
	}
	r.signal()
	<-ch
	r.disarm()
	assert.NotEqual(t, ch, r.arm(), "a new channel after a signal")
	r.disarm()
}

func TestRefusedUnrun(t *testing.T) {
	tests := []struct {
		name string
		res  *protos.TaskResult
		want bool
	}{
		{"success", &protos.TaskResult{}, false},
		{"queue full", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_QUEUE_FULL}}, true},
		{"shutting down before it ran", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN}}, true},
		{"shutting down while it ran", &protos.TaskResult{Worker: "w1", Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN}}, false},
		{"no pool", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_NO_POOL}}, true},
		{"no handler", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_NO_HANDLER}}, true},
		{"circuit open", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_CIRCUIT_OPEN}}, true},
		{"handler error", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_HANDLER}}, false},
		{"timeout", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_TIMEOUT}}, false},
		{"invalid", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_INVALID_TASK}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, refusedUnrun(tt.res))
		})
	}
}

func TestWeightAndKind(t *testing.T) {
	tests := []struct {
		name string
		pl   *protos.PoolLoad
		w    int
		kind actors.Kind
	}{
		{"idle", &protos.PoolLoad{Capacity: 100, Kind: protos.WorkerKind_WORKER_KIND_IO}, 100, actors.KindIO},
		{"busy", &protos.PoolLoad{Capacity: 100, InFlight: 60, QueueDepth: 30, Kind: protos.WorkerKind_WORKER_KIND_MIXED}, 10, actors.KindMixed},
		{"full", &protos.PoolLoad{Capacity: 100, InFlight: 64, QueueDepth: 50}, 1, actors.KindCPU},
		{"huge", &protos.PoolLoad{Capacity: 1 << 30, Kind: protos.WorkerKind_WORKER_KIND_PROCESS}, router.MaxWeight, actors.KindProcess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.w, weight(tt.pl))
			assert.Equal(t, tt.kind, kindOf(tt.pl))
		})
	}
}

func TestTryPickAvoids(t *testing.T) {
	a, b := &peer{name: "a", routee: 1}, &peer{name: "b", routee: 2}
	s := router.NewRoundRobin()
	r := &route{pool: "p", strategy: s}
	targets := map[int]*target{1: {peer: a}, 2: {peer: b}}
	r.targets.Store(&targets)
	for _, p := range []*peer{a, b} {
		require.NoError(t, s.Add(router.Routee{ID: p.routee, Capacity: 10}))
		s.SetAvailable(p.routee, true)
	}
	for i := 0; i < 4; i++ {
		tg, ok := tryPick(r, 0, a)
		require.True(t, ok)
		assert.Same(t, b, tg.peer, "pick %d", i)
	}
	assert.Equal(t, 0, s.InFlight(1), "the extra slot on a was given back")
	assert.Equal(t, 4, s.InFlight(2))

	a.lost.Store(true)
	s.SetAvailable(2, false)
	_, ok := tryPick(r, 0, nil)
	assert.False(t, ok, "a lost peer is never picked")
	assert.Equal(t, 0, s.InFlight(1))
}

func TestMemberLostTellsSentFromNotSent(t *testing.T) {
	p := &peer{name: "b", address: "127.0.0.1:7002"}
	sent := memberLost(p, "lost its connection", true)
	unsent := memberLost(p, "left", false)
	for _, err := range []error{sent, unsent} {
		assert.ErrorIs(t, err, ErrMemberLost)
		assert.ErrorIs(t, err, actors.ErrWorkerCrashed)
	}
	assert.ErrorIs(t, sent, ErrNoAnswer)
	assert.NotErrorIs(t, sent, ErrNotSent)
	assert.Contains(t, sent.Error(), "outcome is unknown")
	assert.ErrorIs(t, unsent, ErrNotSent)
	assert.NotErrorIs(t, unsent, ErrNoAnswer)
	assert.Contains(t, unsent.Error(), "did not run")
}
