package actors_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
)

// TestLifecycleChaos runs worker crashes, CrashWorker, failing health
// probes, every Decider directive, pool failures and restarts, retries and
// breakers, process workers whose children exit, panic, write garbage or
// overrun, and a Shutdown at a random moment (from the event hook in some
// rounds), many rounds: every accepted task and every envelope gets exactly
// one result, Shutdown returns within its deadline plus the stop grace, no
// child process outlives it, and nothing reaches protoactor's dead letters.
func TestLifecycleChaos(t *testing.T) {
	rounds := 30
	if testing.Short() {
		rounds = 8
	}
	for round := range rounds {
		t.Run(fmt.Sprint(round), func(t *testing.T) { lifecycleChaosRound(t, uint64(round)) })
	}
}

func lifecycleChaosRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var rmu sync.Mutex
	random := func(n int) int {
		rmu.Lock()
		defer rmu.Unlock()
		return rng.IntN(n)
	}
	directives := []supervision.Directive{supervision.Restart, supervision.Restart, supervision.Stop, supervision.Resume, supervision.Escalate}
	decider := func(any) supervision.Directive { return directives[random(len(directives))] }
	fromHook := seed%3 == 0
	shutdownAt := time.Duration(random(30)) * time.Millisecond
	const drain = 50 * time.Millisecond
	const stopGrace = 200 * time.Millisecond

	sys := actor.NewActorSystem(actor.WithLoggerFactory(discardLogger))
	defer sys.Shutdown()
	var deadLetters sync.Map // description -> struct{}
	sys.EventStream.Subscribe(func(m any) {
		if d, ok := m.(*actor.DeadLetterEvent); ok {
			deadLetters.Store(fmt.Sprintf("%T to %s", d.Message, d.PID.GetId()), struct{}{})
		}
	})
	pidDir := t.TempDir()
	var n *actors.Node
	shutdownDone := make(chan time.Duration, 1)
	var shutOnce sync.Once
	shut := func() {
		shutOnce.Do(func() {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), drain)
			defer cancel()
			_, _ = n.Shutdown(ctx)
			shutdownDone <- time.Since(start)
		})
	}
	trigger := make(chan struct{})
	hook := func(e supervision.Event) {
		if !fromHook {
			return
		}
		select {
		case <-trigger:
			shut()
		default:
		}
	}
	backoff := supervision.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}
	health := &supervision.HealthPolicy{Interval: 2 * time.Millisecond, Timeout: 2 * time.Millisecond, FailureThreshold: 2}
	handler := func(ctx context.Context, p []byte) ([]byte, error) {
		switch p[0] {
		case 'p':
			panic("injected")
		case 't':
			return nil, actors.Transient(errors.New("flaky"))
		case 's':
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
		return p, nil
	}
	var err error
	n, err = actors.NewNode(actors.WithActorSystem(sys), actors.WithEventHook(hook), actors.WithStopGrace(stopGrace),
		actors.WithHandler("chaos", handler),
		actors.WithPool(actors.PoolConfig{Name: "a", Workers: 3, QueueCapacity: 64, Backoff: backoff, Decider: decider,
			Restarts: supervision.Intensity{MaxRestarts: 5, Window: time.Second}, PoolRestarts: supervision.Intensity{MaxRestarts: 3, Window: time.Second},
			Health: health, HealthCheck: func(context.Context, string) error {
				if random(20) == 0 {
					return errors.New("probe failed")
				}
				return nil
			}}),
		actors.WithPool(actors.PoolConfig{Name: "b", Kind: actors.KindIO, Workers: 2, Concurrency: 4, QueueCapacity: 64, Backoff: backoff,
			Breaker: &supervision.BreakerConfig{FailureThreshold: 3, ResetTimeout: 5 * time.Millisecond}}),
		actors.WithPool(actors.PoolConfig{Name: "c", Kind: actors.KindProcess, Workers: 2, Concurrency: 2, QueueCapacity: 64, Backoff: backoff,
			PoolRestarts: supervision.Intensity{MaxRestarts: 3, Window: time.Second},
			Process: &actors.ProcessConfig{Command: actors.BuildTestWorker(t), KillGrace: 50 * time.Millisecond,
				Env: append(os.Environ(), "DROVER_TESTWORKER_PIDDIR="+pidDir)}}))
	require.NoError(t, err)

	var futures sync.Map // *actors.Future -> struct{}
	var accepted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	payloads := []string{"ok", "ok", "ok", "p", "t", "s"}
	// The process pool's tasks: a type of the test worker and its payload.
	procTasks := [][2]string{{"echo", "x"}, {"echo", "x"}, {"sleep", "1ms"}, {"exit", ""}, {"panic", "p"}, {"garbage", ""}, {"hang", ""}}
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool := []string{"a", "b", "a", "c"}[i]
			for {
				select {
				case <-stop:
					return
				default:
				}
				task := actors.Task{Type: "chaos", Pool: pool, Payload: []byte(payloads[random(len(payloads))]),
					Timeout: 20 * time.Millisecond, Retry: actors.RetryPolicy{MaxAttempts: 2, Backoff: backoff}}
				if pool == "c" {
					pt := procTasks[random(len(procTasks))]
					task = actors.Task{Type: pt[0], Pool: pool, Payload: []byte(pt[1]), Timeout: 20 * time.Millisecond}
				}
				f, err := n.TrySubmit(task)
				if err == nil {
					accepted.Add(1)
					futures.Store(f, struct{}{})
				} else if errors.Is(err, actors.ErrShuttingDown) {
					return
				}
			}
		}()
	}
	var envelopes []*actor.Future
	var emu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		pid, _ := n.PoolPID("a")
		for range 200 {
			select {
			case <-stop:
				return
			default:
			}
			f := sys.Root.RequestFuture(pid, &protos.TaskEnvelope{Type: "chaos", Payload: []byte("ok")}, 20*time.Second)
			emu.Lock()
			envelopes = append(envelopes, f)
			emu.Unlock()
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		pace := time.NewTicker(time.Millisecond) // the killer's pace
		defer pace.Stop()
		for {
			select {
			case <-stop:
				return
			case <-pace.C:
			}
			_ = n.CrashWorker([]string{"a", "b", "c"}[random(3)], random(2))
		}
	}()

	<-time.After(shutdownAt) // the random moment of the Shutdown
	close(trigger)
	if !fromHook {
		shut()
	} else {
		// The hook shuts the node down on its next event; CrashWorker makes
		// events, and a node with no event left is shut down here.
		select {
		case <-time.After(time.Second):
			shut()
		case d := <-shutdownDone:
			shutdownDone <- d
		}
	}
	var took time.Duration
	select {
	case took = <-shutdownDone:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	close(stop)
	wg.Wait()
	require.Less(t, took, drain+stopGrace+2*time.Second, "Shutdown took too long")
	<-n.Done()
	entries, err := os.ReadDir(pidDir)
	require.NoError(t, err)
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		require.NoError(t, err)
		assert.False(t, alive(pid), "worker process %d outlived Shutdown", pid)
	}

	results := 0
	futures.Range(func(k, _ any) bool {
		f := k.(*actors.Future)
		select {
		case <-f.Done():
			results++
		case <-time.After(5 * time.Second):
			t.Errorf("an accepted task has no result")
			return false
		}
		return true
	})
	require.Equal(t, int(accepted.Load()), results)
	emu.Lock()
	defer emu.Unlock()
	for i, f := range envelopes {
		res, err := f.Result()
		require.NoError(t, err, "envelope %d got no answer", i)
		_, ok := res.(*protos.TaskResult)
		require.True(t, ok, "envelope %d: %T", i, res)
	}
	deadLetters.Range(func(k, _ any) bool {
		t.Errorf("dead letter: %s", k)
		return true
	})
}
