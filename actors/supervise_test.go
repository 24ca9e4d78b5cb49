package actors_test

import (
	"context"
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
