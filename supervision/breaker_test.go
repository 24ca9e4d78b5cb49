package supervision

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBreakerConfig(t *testing.T) {
	assert.Equal(t, BreakerConfig{FailureThreshold: 5, ResetTimeout: 10 * time.Second, HalfOpenTrials: 1}, BreakerConfig{}.WithDefaults())

	tests := []struct {
		name    string
		in      BreakerConfig
		wantErr []string
	}{
		{name: "zero", in: BreakerConfig{}},
		{name: "explicit", in: BreakerConfig{FailureThreshold: 1, ResetTimeout: time.Second, HalfOpenTrials: 3}},
		{name: "all negative", in: BreakerConfig{FailureThreshold: -1, ResetTimeout: -time.Second, HalfOpenTrials: -2},
			wantErr: []string{
				"supervision: BreakerConfig.FailureThreshold is -1; allowed: >= 0 (0 means the default)",
				"supervision: BreakerConfig.ResetTimeout is -1s; allowed: >= 0 (0 means the default)",
				"supervision: BreakerConfig.HalfOpenTrials is -2; allowed: >= 0 (0 means the default)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertConfigErrors(t, tt.in.Validate(), tt.wantErr)
			_, err := NewBreaker(tt.in, nil)
			assertConfigErrors(t, err, tt.wantErr)
		})
	}
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "closed", Closed.String())
	assert.Equal(t, "open", Open.String())
	assert.Equal(t, "half-open", HalfOpen.String())
	assert.Equal(t, "State(5)", State(5).String())
}

func TestBreaker(t *testing.T) {
	const s = time.Second
	type step struct {
		op    string        // "allow", "ok" (Success), "fail" (Failure), "wait"
		d     time.Duration // for "wait"
		want  string        // for "allow": "" (admitted), or the refusal's message
		state State         // State() after the step
	}
	open := func(retry string) string { return "supervision: circuit open (retry in " + retry + ")" }
	const full = "supervision: circuit open (half-open, trials in flight)"

	tests := []struct {
		name  string
		cfg   BreakerConfig
		steps []step
	}{
		{"closed admits and counts consecutive failures", BreakerConfig{FailureThreshold: 3, ResetTimeout: 10 * s}, []step{
			{op: "allow", state: Closed}, {op: "fail", state: Closed},
			{op: "allow", state: Closed}, {op: "fail", state: Closed},
			{op: "allow", state: Closed}, {op: "fail", state: Open},
			{op: "allow", want: open("10s"), state: Open},
		}},
		{"a success clears the count", BreakerConfig{FailureThreshold: 2, ResetTimeout: 10 * s}, []step{
			{op: "fail", state: Closed}, {op: "ok", state: Closed},
			{op: "fail", state: Closed}, {op: "ok", state: Closed},
			{op: "fail", state: Closed}, {op: "fail", state: Open},
		}},
		{"open until the reset timeout, then one trial", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			{op: "fail", state: Open},
			{op: "wait", d: 4 * s, state: Open},
			{op: "allow", want: open("6s"), state: Open},
			{op: "wait", d: 6*s - 1, state: Open},
			{op: "allow", want: open("1ns"), state: Open},
			{op: "wait", d: 1, state: Open}, // stays Open until an Allow
			{op: "allow", state: HalfOpen},
			{op: "allow", want: full, state: HalfOpen},
		}},
		{"a trial success closes", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			{op: "fail", state: Open}, {op: "wait", d: 10 * s, state: Open},
			{op: "allow", state: HalfOpen}, {op: "ok", state: Closed},
			{op: "allow", state: Closed}, {op: "allow", state: Closed},
		}},
		{"a trial failure reopens for another timeout", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			{op: "fail", state: Open}, {op: "wait", d: 15 * s, state: Open},
			{op: "allow", state: HalfOpen}, {op: "wait", d: 2 * s, state: HalfOpen},
			{op: "fail", state: Open},
			{op: "allow", want: open("10s"), state: Open},
			{op: "wait", d: 10 * s, state: Open},
			{op: "allow", state: HalfOpen},
		}},
		{"half-open admits HalfOpenTrials at once", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s, HalfOpenTrials: 3}, []step{
			{op: "fail", state: Open}, {op: "wait", d: 10 * s, state: Open},
			{op: "allow", state: HalfOpen}, {op: "allow", state: HalfOpen}, {op: "allow", state: HalfOpen},
			{op: "allow", want: full, state: HalfOpen},
			{op: "ok", state: Closed},
			{op: "ok", state: Closed}, // the other trials report late
			{op: "fail", state: Open}, // threshold 1: a late failure opens again
		}},
		{"trials that never report are given up after the reset timeout", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			{op: "fail", state: Open}, {op: "wait", d: 10 * s, state: Open},
			{op: "allow", state: HalfOpen},
			{op: "wait", d: 9 * s, state: HalfOpen},
			{op: "allow", want: full, state: HalfOpen},
			{op: "wait", d: s, state: HalfOpen},
			{op: "allow", state: HalfOpen},
			{op: "allow", want: full, state: HalfOpen},
		}},
		{"results while open are ignored", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			{op: "fail", state: Open}, {op: "wait", d: 5 * s, state: Open},
			{op: "ok", state: Open}, {op: "fail", state: Open},
			{op: "allow", want: open("5s"), state: Open},
		}},
		{"defaults: five failures open", BreakerConfig{}, []step{
			{op: "fail", state: Closed}, {op: "fail", state: Closed}, {op: "fail", state: Closed},
			{op: "fail", state: Closed}, {op: "fail", state: Open},
			{op: "allow", want: open("10s"), state: Open},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			b, err := NewBreaker(tt.cfg, clock.Now)
			require.NoError(t, err)
			require.Equal(t, Closed, b.State())
			for i, st := range tt.steps {
				switch st.op {
				case "allow":
					err := b.Allow()
					if st.want == "" {
						require.NoError(t, err, "step %d", i)
					} else {
						require.EqualError(t, err, st.want, "step %d", i)
						require.ErrorIs(t, err, ErrCircuitOpen, "step %d", i)
					}
				case "ok":
					b.Success()
				case "fail":
					b.Failure()
				case "wait":
					clock.Advance(st.d)
				}
				require.Equal(t, st.state, b.State(), "step %d (%s)", i, st.op)
			}
		})
	}
}

func TestBreakerOpenErrorRetryAfter(t *testing.T) {
	clock := newFakeClock()
	b, err := NewBreaker(BreakerConfig{FailureThreshold: 1, ResetTimeout: time.Minute}, clock.Now)
	require.NoError(t, err)
	b.Failure()
	clock.Advance(20 * time.Second)
	var oe *CircuitOpenError
	require.True(t, errors.As(b.Allow(), &oe))
	assert.Equal(t, 40*time.Second, oe.RetryAfter)
}

func TestBreakerOnStateChange(t *testing.T) {
	clock := newFakeClock()
	var got []string
	var b *Breaker
	b, err := NewBreaker(BreakerConfig{
		FailureThreshold: 2,
		ResetTimeout:     time.Second,
		OnStateChange: func(from, to State) {
			// Called outside the lock: the breaker may be used here.
			got = append(got, from.String()+">"+to.String()+"("+b.State().String()+")")
			_ = b.Allow()
		},
	}, clock.Now)
	require.NoError(t, err)

	b.Failure()
	b.Failure() // closed > open
	clock.Advance(time.Second)
	require.NoError(t, b.Allow()) // open > half-open; the callback's Allow is refused
	b.Failure()                   // half-open > open
	clock.Advance(time.Second)
	require.NoError(t, b.Allow()) // open > half-open
	b.Success()                   // half-open > closed
	b.Success()                   // no change
	assert.Equal(t, []string{
		"closed>open(open)",
		"open>half-open(half-open)",
		"half-open>open(open)",
		"open>half-open(half-open)",
		"half-open>closed(closed)",
	}, got)
}

func TestBreakerOnStateChangeReentrant(t *testing.T) {
	// A callback that causes a transition itself: the nested transition is
	// delivered after the current call returns, in order.
	clock := newFakeClock()
	var got []string
	var b *Breaker
	b, err := NewBreaker(BreakerConfig{
		FailureThreshold: 1,
		ResetTimeout:     time.Second,
		OnStateChange: func(from, to State) {
			got = append(got, from.String()+">"+to.String())
			if to == HalfOpen {
				b.Failure() // half-open > open, from inside the callback
			}
		},
	}, clock.Now)
	require.NoError(t, err)
	b.Failure()
	clock.Advance(time.Second)
	require.NoError(t, b.Allow())
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>open"}, got)
	assert.Equal(t, Open, b.State())
}

func TestBreakerOnStateChangePanics(t *testing.T) {
	clock := newFakeClock()
	calls := 0
	b, err := NewBreaker(BreakerConfig{
		FailureThreshold: 1,
		ResetTimeout:     time.Second,
		OnStateChange: func(from, to State) {
			calls++
			if calls == 1 {
				panic("callback failed")
			}
		},
	}, clock.Now)
	require.NoError(t, err)
	assert.Panics(t, b.Failure)
	assert.Equal(t, Open, b.State(), "the transition happened before the callback")
	clock.Advance(time.Second)
	require.NoError(t, b.Allow())
	assert.Equal(t, 2, calls, "later transitions are still delivered")
}

func TestBreakerConcurrent(t *testing.T) {
	// Hammer the breaker from several goroutines; -race checks the
	// synchronization, and the callback checks that transitions arrive one
	// at a time and in order (each from is the previous to).
	clock := newFakeClock()
	var (
		mu       sync.Mutex
		last     = Closed
		inside   int
		problems []string
		changes  int
	)
	b, err := NewBreaker(BreakerConfig{
		FailureThreshold: 3,
		ResetTimeout:     time.Millisecond,
		HalfOpenTrials:   2,
		OnStateChange: func(from, to State) {
			mu.Lock()
			inside++
			if inside != 1 {
				problems = append(problems, "concurrent callbacks")
			}
			if from != last {
				problems = append(problems, "out of order: "+from.String()+" after "+last.String())
			}
			last = to
			changes++
			inside--
			mu.Unlock()
		},
	}, clock.Now)
	require.NoError(t, err)

	const goroutines, calls = 4, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				if i%50 == 0 {
					clock.Advance(time.Millisecond)
				}
				if g%2 == 1 { // two-step, with every outcome
					tk, err := b.Admit()
					if err != nil {
						continue
					}
					b.Done(tk, []Outcome{Succeeded, Failed, Failed, Skipped}[(i+g)%4])
					continue
				}
				if b.Allow() != nil {
					continue
				}
				if (i+g)%4 != 0 { // mostly failures, so that the breaker moves
					b.Failure()
				} else {
					b.Success()
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems)
	assert.Positive(t, changes)
	assert.Equal(t, last, b.State())
}

func TestOutcomeString(t *testing.T) {
	assert.Equal(t, "succeeded", Succeeded.String())
	assert.Equal(t, "failed", Failed.String())
	assert.Equal(t, "skipped", Skipped.String())
	assert.Equal(t, "Outcome(0)", Outcome(0).String())
	assert.Equal(t, "Outcome(9)", Outcome(9).String())
}

func TestBreakerTwoStep(t *testing.T) {
	const s = time.Second
	type step struct {
		op    string        // "admit" (keeps the ticket as id), "done" (id's ticket, with o), "wait"
		id    string        // ticket name for "admit" and "done"
		o     Outcome       // for "done"
		d     time.Duration // for "wait"
		want  string        // for "admit": "" (admitted), or the refusal's message
		state State         // State() after the step
	}
	admit := func(id string, st State) step { return step{op: "admit", id: id, state: st} }
	refused := func(want string, st State) step { return step{op: "admit", want: want, state: st} }
	done := func(id string, o Outcome, st State) step { return step{op: "done", id: id, o: o, state: st} }
	wait := func(d time.Duration, st State) step { return step{op: "wait", d: d, state: st} }
	open := func(retry string) string { return "supervision: circuit open (retry in " + retry + ")" }
	const full = "supervision: circuit open (half-open, trials in flight)"
	// openThenHalf opens a threshold-1 breaker, waits out the reset timeout
	// and takes the first trial as "trial".
	openThenHalf := []step{admit("first", Closed), done("first", Failed, Open), wait(10*s, Open), admit("trial", HalfOpen)}
	with := func(prefix []step, more ...step) []step { return append(append([]step(nil), prefix...), more...) }

	tests := []struct {
		name  string
		cfg   BreakerConfig
		steps []step
	}{
		{"closed: failures count, a success clears them", BreakerConfig{FailureThreshold: 2, ResetTimeout: 10 * s}, []step{
			admit("a", Closed), admit("b", Closed), admit("c", Closed), admit("d", Closed),
			done("a", Failed, Closed), done("b", Succeeded, Closed),
			done("c", Failed, Closed), done("d", Failed, Open),
			refused(open("10s"), Open),
		}},
		{"Skipped never resets the failure count", BreakerConfig{FailureThreshold: 2, ResetTimeout: 10 * s}, []step{
			admit("a", Closed), admit("b", Closed), admit("c", Closed),
			done("a", Failed, Closed), done("b", Skipped, Closed), done("c", Failed, Open),
		}},
		{"a refused trial leaves it half-open and frees the slot", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, with(openThenHalf,
			refused(full, HalfOpen),
			done("trial", Skipped, HalfOpen),
			admit("trial2", HalfOpen), // the slot is free again
			refused(full, HalfOpen),
			done("trial2", Succeeded, Closed),
		)},
		{"Skipped trials never close, however many", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s, HalfOpenTrials: 2}, with(openThenHalf,
			admit("t2", HalfOpen), refused(full, HalfOpen),
			done("trial", Skipped, HalfOpen), done("t2", Skipped, HalfOpen),
			done("t2", Skipped, HalfOpen), // a second report frees nothing more
			admit("t3", HalfOpen), admit("t4", HalfOpen), refused(full, HalfOpen),
			done("t3", Failed, Open),
		)},
		{"a trial failure reopens", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, with(openThenHalf,
			done("trial", Failed, Open), refused(open("10s"), Open),
		)},
		{"a late failure from a closed generation does not reopen a breaker that closed", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			admit("early", Closed), admit("late", Closed),
			done("early", Failed, Open), wait(10*s, Open),
			admit("trial", HalfOpen), done("trial", Succeeded, Closed),
			done("late", Failed, Closed),                    // admitted two generations ago
			admit("now", Closed), done("now", Failed, Open), // a current failure still counts
		}},
		{"a late success does not close a reopened breaker", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			admit("early", Closed), admit("late", Closed),
			done("early", Failed, Open), wait(10*s, Open),
			admit("trial", HalfOpen),
			done("late", Succeeded, HalfOpen), // not the trial's result
			done("trial", Failed, Open),
			done("late", Succeeded, Open),
			wait(10*s, Open), admit("trial2", HalfOpen),
			done("late", Succeeded, HalfOpen),
			done("trial", Succeeded, HalfOpen), // the previous round's trial
			done("trial2", Succeeded, Closed),
		}},
		{"a late failure does not count against a closed breaker's new generation", BreakerConfig{FailureThreshold: 2, ResetTimeout: 10 * s}, []step{
			admit("a", Closed), admit("b", Closed), admit("late", Closed),
			done("a", Failed, Closed), done("b", Failed, Open), wait(10*s, Open),
			admit("trial", HalfOpen), done("trial", Succeeded, Closed),
			admit("c", Closed), done("c", Failed, Closed),
			done("late", Failed, Closed), // would have been the second in a row
		}},
		{"trials given up after the reset timeout report into nothing", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, with(openThenHalf,
			wait(10*s, HalfOpen),
			admit("round2", HalfOpen), // a new round, a new generation
			refused(full, HalfOpen),
			done("trial", Skipped, HalfOpen), // frees no slot of this round
			refused(full, HalfOpen),
			done("trial", Failed, HalfOpen),
			done("round2", Succeeded, Closed),
		)},
		{"the zero Ticket is ignored", BreakerConfig{FailureThreshold: 1, ResetTimeout: 10 * s}, []step{
			done("never admitted", Failed, Closed),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			b, err := NewBreaker(tt.cfg, clock.Now)
			require.NoError(t, err)
			tickets := map[string]Ticket{}
			for i, st := range tt.steps {
				switch st.op {
				case "admit":
					tk, err := b.Admit()
					if st.want == "" {
						require.NoError(t, err, "step %d", i)
						tickets[st.id] = tk
					} else {
						require.EqualError(t, err, st.want, "step %d", i)
						require.ErrorIs(t, err, ErrCircuitOpen, "step %d", i)
						require.Equal(t, Ticket{}, tk, "step %d", i)
					}
				case "done":
					b.Done(tickets[st.id], st.o)
				case "wait":
					clock.Advance(st.d)
				}
				require.Equal(t, st.state, b.State(), "step %d (%s %s %s)", i, st.op, st.id, st.o)
			}
		})
	}
}

func TestBreakerTwoStepClosedPathDoesNotAllocate(t *testing.T) {
	b, err := NewBreaker(BreakerConfig{}, nil)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		tk, err := b.Admit()
		if err != nil {
			t.Fatal(err)
		}
		b.Done(tk, Succeeded)
		b.Done(tk, Skipped)
	})
	assert.Zero(t, allocs)
}
