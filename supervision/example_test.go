package supervision_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/drover-go/drover/supervision"
)

func ExampleBackoff_Next() {
	b := supervision.Backoff{Jitter: supervision.NoJitter} // defaults otherwise
	var delays []string
	for attempt := range 10 {
		delays = append(delays, b.Next(attempt, 0).String())
	}
	fmt.Println(strings.Join(delays, " "))

	// With jitter, rnd in [0, 1) spreads the delay by ±Jitter.
	j := supervision.Backoff{Initial: time.Second, Jitter: 0.2}
	fmt.Println(j.Next(0, 0), j.Next(0, 0.5), j.Next(0, 0.75))
	// Output:
	// 10ms 20ms 40ms 80ms 160ms 320ms 640ms 1.28s 2.56s 5s
	// 800ms 1s 1.1s
}

func ExampleBackoff_Validate() {
	err := supervision.Backoff{Multiplier: 0.5}.Validate()
	fmt.Println(err)
	fmt.Println(errors.Is(err, supervision.ErrInvalidConfig))
	// Output:
	// supervision: Backoff.Multiplier is 0.5; allowed: >= 1 and finite (0 means the default, 2)
	// true
}

func ExampleAttempts() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a, _ := supervision.NewAttempts(10*time.Second, clock)
	b := supervision.Backoff{Jitter: supervision.NoJitter}

	for range 3 {
		n := a.Failure()
		fmt.Println("failure", n, "restart in", b.Next(n-1, 0))
	}
	now = now.Add(10 * time.Second) // up and stable
	n := a.Failure()
	fmt.Println("failure", n, "restart in", b.Next(n-1, 0))
	// Output:
	// failure 1 restart in 10ms
	// failure 2 restart in 20ms
	// failure 3 restart in 40ms
	// failure 1 restart in 10ms
}

func ExampleIntensityTracker() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	t, _ := supervision.NewIntensityTracker(supervision.Intensity{MaxRestarts: 2, Window: time.Minute}, clock)

	for i := range 3 {
		fmt.Println("restart", i+1, "exceeded:", t.Record())
		now = now.Add(10 * time.Second)
	}
	now = now.Add(time.Minute)
	fmt.Println("a minute later, exceeded:", t.Record())
	// Output:
	// restart 1 exceeded: false
	// restart 2 exceeded: false
	// restart 3 exceeded: true
	// a minute later, exceeded: false
}

func ExampleBreaker() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b, _ := supervision.NewBreaker(supervision.BreakerConfig{
		FailureThreshold: 2,
		ResetTimeout:     5 * time.Second,
		OnStateChange: func(from, to supervision.State) {
			fmt.Println("breaker:", from, "->", to)
		},
	}, func() time.Time { return now })

	call := func(o supervision.Outcome) {
		t, err := b.Admit()
		if err != nil {
			fmt.Println("refused:", err, errors.Is(err, supervision.ErrCircuitOpen))
			return
		}
		// ... make the call, then say how it went:
		b.Done(t, o)
	}
	call(supervision.Failed)
	call(supervision.Failed)
	call(supervision.Succeeded)
	now = now.Add(5 * time.Second)
	call(supervision.Skipped) // the trial never ran: still half-open
	fmt.Println("state:", b.State())
	call(supervision.Succeeded)
	// Output:
	// breaker: closed -> open
	// refused: supervision: circuit open (retry in 5s) true
	// breaker: open -> half-open
	// state: half-open
	// breaker: half-open -> closed
}

func ExampleHealthTracker() {
	h, _ := supervision.NewHealthTracker(supervision.HealthPolicy{FailureThreshold: 2})
	for _, ok := range []bool{true, false, false, false, true} {
		became := h.Observe(ok)
		fmt.Println(ok, became, h.Healthy())
	}
	// Output:
	// true false true
	// false false true
	// false true false
	// false false false
	// true false true
}

func ExampleParseScope() {
	s, err := supervision.ParseScope("rest-for-one")
	fmt.Println(s, err)
	_, err = supervision.ParseScope("one_for_all")
	fmt.Println(err)
	// Output:
	// rest-for-one <nil>
	// supervision: Scope is "one_for_all"; allowed: "one-for-one", "all-for-one" or "rest-for-one"
}

// logSupervisor is a stand-in for the actor context protoactor passes to a
// strategy: it prints what the strategy asks.
type logSupervisor struct{ children []*actor.PID }

func (s logSupervisor) Children() []*actor.PID      { return s.children }
func (logSupervisor) EscalateFailure(reason, _ any) { fmt.Println("escalate", reason) }
func (logSupervisor) RestartChildren(pids ...*actor.PID) {
	fmt.Println("restart", ids(pids))
}
func (logSupervisor) StopChildren(pids ...*actor.PID)   { fmt.Println("stop", ids(pids)) }
func (logSupervisor) ResumeChildren(pids ...*actor.PID) { fmt.Println("resume", ids(pids)) }

func ids(pids []*actor.PID) []string {
	out := make([]string, len(pids))
	for i, p := range pids {
		out[i] = p.Id
	}
	return out
}

func ExampleNewStrategy() {
	// In a real supervisor: actor.PropsFromProducer(newPool, actor.WithSupervisor(strategy)).
	strategy, err := supervision.NewStrategy(
		supervision.WithScope(supervision.RestForOne),
		supervision.WithBackoff(supervision.Backoff{Jitter: supervision.NoJitter}),
		supervision.WithIntensity(supervision.Intensity{MaxRestarts: 1, Window: time.Minute}),
		supervision.WithAfter(func(d time.Duration, f func()) {
			fmt.Println("in", d, "...")
			f()
		}),
		supervision.WithOnGiveUp(func(child *actor.PID, reason any) {
			fmt.Println("gave up on", child.Id, "after", reason)
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, b, c := actor.NewPID("nonhost", "a"), actor.NewPID("nonhost", "b"), actor.NewPID("nonhost", "c")
	sup := logSupervisor{children: []*actor.PID{a, b, c}}

	strategy.HandleFailure(nil, sup, b, nil, "crash", nil)
	strategy.HandleFailure(nil, sup, b, nil, "crash again", nil)
	// Output:
	// in 10ms ...
	// restart [b c]
	// stop [b]
	// gave up on b after crash again
}
