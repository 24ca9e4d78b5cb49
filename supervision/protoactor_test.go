package supervision

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
)

// crash makes a child panic; its Started messages are reported on a channel.
type crash struct{}

type child struct {
	name    string
	started chan<- string
}

func (c *child) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		c.started <- c.name
	case crash:
		panic("crash " + c.name)
	}
}

type parent struct {
	names      []string
	started    chan<- string
	pids       chan<- []*actor.PID
	terminated chan<- string
}

func (p *parent) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Terminated:
		if p.terminated != nil {
			p.terminated <- msg.Who.Id
		}
	case *actor.Started:
		var pids []*actor.PID
		for _, n := range p.names {
			props := actor.PropsFromProducer(func() actor.Actor { return &child{name: n, started: p.started} })
			pid, err := ctx.SpawnNamed(props, n)
			if err != nil {
				panic(err)
			}
			pids = append(pids, pid)
		}
		p.pids <- pids
	}
}

// TestStrategyWithProtoactor runs the Strategy under a real actor system:
// the failing child and the children after it restart, after the backoff
// delay, through time.AfterFunc.
func TestStrategyWithProtoactor(t *testing.T) {
	events := make(chan Event, 16)
	s, err := NewStrategy(
		WithScope(RestForOne),
		WithBackoff(Backoff{Initial: time.Millisecond, Jitter: NoJitter}),
		WithEventHook(func(e Event) { events <- e }),
	)
	require.NoError(t, err)

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	started := make(chan string, 16)
	pidsCh := make(chan []*actor.PID, 1)
	props := actor.PropsFromProducer(func() actor.Actor {
		return &parent{names: []string{"a", "b", "c"}, started: started, pids: pidsCh}
	}, actor.WithSupervisor(s))
	root := system.Root.Spawn(props)
	defer func() {
		require.NoError(t, system.Root.StopFuture(root).Wait())
		system.Shutdown()
	}()

	pids := <-pidsCh
	require.ElementsMatch(t, []string{"a", "b", "c"}, []string{recv(t, started), recv(t, started), recv(t, started)})

	system.Root.Send(pids[1], crash{})
	require.ElementsMatch(t, []string{"b", "c"}, []string{recv(t, started), recv(t, started)})

	var kinds []EventKind
	for range 3 { // failed b, restarted b, restarted c
		kinds = append(kinds, recvEvent(t, events).Kind())
	}
	require.Equal(t, []EventKind{KindWorkerFailed, KindWorkerRestarted, KindWorkerRestarted}, kinds)
	select {
	case n := <-started:
		t.Fatalf("unexpected start of %s", n)
	default:
	}
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		return ""
	}
}

func recvEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		return nil
	}
}

// TestStrategyGiveUpWithProtoactor checks that a child over its restart
// intensity is stopped for good.
func TestStrategyGiveUpWithProtoactor(t *testing.T) {
	gaveUp := make(chan string, 1)
	s, err := NewStrategy(
		WithIntensity(Intensity{MaxRestarts: NoRestarts}),
		WithOnGiveUp(func(child *actor.PID, reason any) { gaveUp <- ReasonError(reason).Error() }),
	)
	require.NoError(t, err)

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	started := make(chan string, 16)
	terminated := make(chan string, 16)
	pidsCh := make(chan []*actor.PID, 1)
	props := actor.PropsFromProducer(func() actor.Actor {
		return &parent{names: []string{"a", "b"}, started: started, pids: pidsCh, terminated: terminated}
	}, actor.WithSupervisor(s))
	root := system.Root.Spawn(props)
	defer func() {
		require.NoError(t, system.Root.StopFuture(root).Wait())
		system.Shutdown()
	}()

	pids := <-pidsCh
	recv(t, started)
	recv(t, started)
	system.Root.Send(pids[0], crash{})
	require.Equal(t, "supervision: panic: crash a", recv(t, gaveUp))
	require.Equal(t, pids[0].Id, recv(t, terminated))
}
