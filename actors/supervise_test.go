package actors_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/supervision"
)

// eventLog records supervision events.
type eventLog struct {
	mu     sync.Mutex
	events []supervision.Event
}

func (l *eventLog) hook(e supervision.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) count(k supervision.EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Kind() == k {
			n++
		}
	}
	return n
}

func TestPanicRestartsAreImmediateAndFree(t *testing.T) {
	var log eventLog
	// A budget of one restart and a backoff longer than the test: handler
	// panics touch neither.
	n := newNode(t, actors.WithEventHook(log.hook), actors.WithPool(actors.PoolConfig{
		Name: "p", Workers: 1,
		Restarts: supervision.Intensity{MaxRestarts: 1, Window: time.Hour},
		Backoff:  supervision.Backoff{Initial: time.Hour, Max: time.Hour},
	}))
	for i := range 3 {
		f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { panic(i) })
		require.NoError(t, err)
		require.ErrorIs(t, wait(t, f).Err, actors.ErrPanic)
	}
	eventually(t, "three restarts", func() bool {
		return log.count(supervision.KindWorkerRestarted) == 3 && n.Stats().Pools[0].Restarts == 3
	})
	eventually(t, "three failure events", func() bool { return log.count(supervision.KindWorkerFailed) == 3 })
}

// TestPanicsBackToBack: a worker whose next task is waiting when it
// restarts panics again at once, before its pool has heard that it
// started; that crash must still restart it, so that every task ends.
func TestPanicsBackToBack(t *testing.T) {
	log := newLifecycleLog()
	n := newNode(t, actors.WithEventHook(log.hook), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	const tasks = 100
	fs := make([]*actors.Future, 0, tasks)
	for i := range tasks {
		f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { panic(i) })
		require.NoError(t, err)
		fs = append(fs, f)
	}
	for _, f := range fs {
		require.ErrorIs(t, wait(t, f).Err, actors.ErrPanic)
	}
	// The worker came up once, then once after each panic.
	for i := range tasks + 1 {
		log.waitFor(t, fmt.Sprintf("worker up #%d", i+1), func(e supervision.Event) bool {
			s, ok := e.(supervision.WorkerStateChanged)
			return ok && s.From == "starting" && (s.To == "idle" || s.To == "busy")
		})
	}
	require.Equal(t, uint64(tasks), n.Stats().Pools[0].Restarts)
}
