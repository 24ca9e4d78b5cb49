package supervision

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// strategyHarness wires a Strategy to fakes.
type strategyHarness struct {
	s      *Strategy
	clock  *fakeClock
	timers *fakeTimers
	sup    *fakeSupervisor
	events *eventLog
	gaveUp []string
}

func newHarness(t *testing.T, children []string, opts ...StrategyOption) *strategyHarness {
	t.Helper()
	h := &strategyHarness{clock: newFakeClock(), timers: &fakeTimers{}, sup: newFakeSupervisor(children...), events: &eventLog{}}
	base := []StrategyOption{
		WithClock(h.clock.Now),
		WithAfter(h.timers.After),
		WithRand(func() float64 { return 0.5 }), // no jitter
		WithPool("p"),
		WithEventHook(h.events.Hook),
		WithOnGiveUp(func(child *actor.PID, reason any) {
			h.gaveUp = append(h.gaveUp, child.Id+":"+ReasonError(reason).Error())
		}),
	}
	s, err := NewStrategy(append(base, opts...)...)
	require.NoError(t, err)
	h.s = s
	return h
}

func (h *strategyHarness) fail(id string, reason any) {
	h.s.HandleFailure(nil, h.sup, h.sup.child(id), actor.NewRestartStatistics(), reason, "msg")
}

func TestNewStrategyInvalid(t *testing.T) {
	tests := []struct {
		name    string
		opts    []StrategyOption
		wantErr []string
	}{
		{name: "bad backoff", opts: []StrategyOption{WithBackoff(Backoff{Multiplier: 0.5})},
			wantErr: []string{"supervision: Backoff.Multiplier is 0.5; allowed: >= 1 and finite (0 means the default, 2)"}},
		{name: "bad intensity", opts: []StrategyOption{WithIntensity(Intensity{Window: -1})},
			wantErr: []string{"supervision: Intensity.Window is -1ns; allowed: >= 0 (0 means the default)"}},
		{name: "bad scope", opts: []StrategyOption{WithScope(Scope(9))},
			wantErr: []string{"supervision: Scope is 9; allowed: OneForOne, AllForOne or RestForOne"}},
		{name: "bad stable period", opts: []StrategyOption{WithStablePeriod(-time.Second)},
			wantErr: []string{"supervision: StablePeriod is -1s; allowed: >= 0 (0 means the default)"}},
		{name: "several", opts: []StrategyOption{WithBackoff(Backoff{Initial: -1}), WithScope(Scope(-1))},
			wantErr: []string{
				"supervision: Backoff.Initial is -1ns; allowed: >= 0 (0 means the default)",
				"supervision: Scope is -1; allowed: OneForOne, AllForOne or RestForOne",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewStrategy(tt.opts...)
			assertConfigErrors(t, err, tt.wantErr)
			assert.Nil(t, s)
		})
	}
}

func TestStrategyDirectives(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		scope     Scope
		directive Directive
		wantCalls []string // before any timer fires
		wantFired []string // after the timers fire
		wantEvent []string
	}{
		{name: "restart one-for-one", scope: OneForOne, directive: Restart,
			wantFired: []string{"restart:b"},
			wantEvent: []string{
				"worker-failed pool=p worker=b directive=restart attempt=1 reason=boom",
				"worker-restarted pool=p worker=b attempt=1 delay=10ms",
			}},
		{name: "restart all-for-one", scope: AllForOne, directive: Restart,
			wantFired: []string{"restart:a,b,c"},
			wantEvent: []string{
				"worker-failed pool=p worker=b directive=restart attempt=1 reason=boom",
				"worker-restarted pool=p worker=a attempt=0 delay=10ms",
				"worker-restarted pool=p worker=b attempt=1 delay=10ms",
				"worker-restarted pool=p worker=c attempt=0 delay=10ms",
			}},
		{name: "restart rest-for-one", scope: RestForOne, directive: Restart,
			wantFired: []string{"restart:b,c"},
			wantEvent: []string{
				"worker-failed pool=p worker=b directive=restart attempt=1 reason=boom",
				"worker-restarted pool=p worker=b attempt=1 delay=10ms",
				"worker-restarted pool=p worker=c attempt=0 delay=10ms",
			}},
		{name: "stop stops only the child, whatever the scope", scope: AllForOne, directive: Stop,
			wantCalls: []string{"stop:b"},
			wantEvent: []string{"worker-failed pool=p worker=b directive=stop attempt=0 reason=boom"}},
		{name: "resume resumes only the child", scope: RestForOne, directive: Resume,
			wantCalls: []string{"resume:b"},
			wantEvent: []string{"worker-failed pool=p worker=b directive=resume attempt=0 reason=boom"}},
		{name: "escalate", scope: OneForOne, directive: Escalate,
			wantCalls: []string{"escalate:"},
			wantEvent: []string{"worker-failed pool=p worker=b directive=escalate attempt=0 reason=boom"}},
		{name: "unknown directive stops", scope: OneForOne, directive: Directive(42),
			wantCalls: []string{"stop:b"},
			wantEvent: []string{"worker-failed pool=p worker=b directive=Directive(42) attempt=0 reason=boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotReason any
			h := newHarness(t, []string{"a", "b", "c"},
				WithScope(tt.scope),
				WithDecider(func(reason any) Directive { gotReason = reason; return tt.directive }))
			h.fail("b", boom)
			assert.Equal(t, boom, gotReason)
			assert.Equal(t, tt.wantCalls, h.sup.Calls())
			h.timers.Fire()
			assert.Equal(t, tt.wantFired, h.sup.Calls())
			assert.Equal(t, tt.wantEvent, h.events.Take())
			assert.Empty(t, h.gaveUp)
		})
	}
}

func TestStrategyBackoff(t *testing.T) {
	const ms = time.Millisecond
	type step struct {
		fail  string        // child to fail, or ""
		fire  bool          // fire the pending timers
		wait  time.Duration // advance the clock
		delay time.Duration // the delay scheduled by this step's failure
	}
	tests := []struct {
		name  string
		opts  []StrategyOption
		steps []step
	}{
		{"consecutive failures back off exponentially", nil, []step{
			{fail: "a", delay: 10 * ms}, {fire: true},
			{fail: "a", delay: 20 * ms}, {fire: true},
			{fail: "a", delay: 40 * ms}, {fire: true},
			{fail: "a", delay: 80 * ms}, {fire: true},
		}},
		{"children back off independently", []StrategyOption{WithIntensity(Intensity{MaxRestarts: 10})}, []step{
			{fail: "a", delay: 10 * ms}, {fire: true},
			{fail: "a", delay: 20 * ms}, {fire: true},
			{fail: "b", delay: 10 * ms}, {fire: true},
			{fail: "a", delay: 40 * ms}, {fire: true},
		}},
		{"a stable period starts the backoff over", nil, []step{
			{fail: "a", delay: 10 * ms}, {fire: true},
			{fail: "a", delay: 20 * ms}, {fire: true},
			{wait: 10 * time.Second},
			{fail: "a", delay: 10 * ms}, {fire: true},
		}},
		{"the stable period counts from the restart, not the failure", []StrategyOption{WithStablePeriod(time.Second)}, []step{
			{fail: "a", delay: 10 * ms},
			{wait: 900 * ms}, {fire: true}, // restarted 900ms after the failure
			{wait: 500 * ms},
			{fail: "a", delay: 20 * ms}, // up only 500ms: still consecutive
		}},
		{"backoff options apply", []StrategyOption{WithBackoff(Backoff{Initial: time.Second, Max: 3 * time.Second, Multiplier: 3})}, []step{
			{fail: "a", delay: time.Second}, {fire: true},
			{fail: "a", delay: 3 * time.Second}, {fire: true},
			{fail: "a", delay: 3 * time.Second}, {fire: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []string{"a", "b"}, tt.opts...)
			for i, st := range tt.steps {
				h.clock.Advance(st.wait)
				if st.fire {
					require.Equal(t, 1, h.timers.Fire(), "step %d", i)
				}
				if st.fail != "" {
					before := len(h.timers.Delays())
					h.fail(st.fail, "boom")
					delays := h.timers.Delays()
					require.Len(t, delays, before+1, "step %d", i)
					require.Equal(t, st.delay, delays[before], "step %d", i)
				}
			}
		})
	}
}

func TestStrategyJitter(t *testing.T) {
	h := newHarness(t, []string{"a"}, WithRand(func() float64 { return 0 }))
	h.fail("a", "boom")
	assert.Equal(t, []time.Duration{8 * time.Millisecond}, h.timers.Delays())
}

func TestStrategyIntensity(t *testing.T) {
	h := newHarness(t, []string{"a", "b"},
		WithIntensity(Intensity{MaxRestarts: 2, Window: time.Minute}))

	h.fail("a", "boom")
	h.timers.Fire()
	h.fail("a", "boom")
	h.timers.Fire()
	assert.Equal(t, []string{"restart:a", "restart:a"}, h.sup.Calls())
	h.events.Take()

	h.fail("a", "boom") // third restart in a minute: give up
	assert.Equal(t, []string{"stop:a"}, h.sup.Calls())
	assert.Zero(t, h.timers.Pending())
	assert.Equal(t, []string{"a:supervision: panic: boom"}, h.gaveUp)
	assert.Equal(t, []string{
		"worker-failed pool=p worker=a directive=restart attempt=3 reason=supervision: panic: boom",
		"worker-gave-up pool=p worker=a restarts=3 reason=supervision: panic: boom",
	}, h.events.Take())

	// The child is forgotten: a new child under the same PID starts afresh.
	h.fail("a", "boom")
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 10 * time.Millisecond}, h.timers.Delays())

	// Intensity is per child.
	h.fail("b", "boom")
	assert.Equal(t, 2, h.timers.Fire())
	assert.Equal(t, []string{"restart:a", "restart:b"}, h.sup.Calls())
}

func TestStrategyNoRestarts(t *testing.T) {
	h := newHarness(t, []string{"a"}, WithIntensity(Intensity{MaxRestarts: NoRestarts}))
	h.fail("a", errors.New("boom"))
	assert.Equal(t, []string{"stop:a"}, h.sup.Calls())
	assert.Equal(t, []string{"a:boom"}, h.gaveUp)
}

func TestStrategyCoalescesPendingRestarts(t *testing.T) {
	tests := []struct {
		name      string
		scope     Scope
		fails     []string // in order, before any timer fires
		wantTimer int
		wantCalls []string
	}{
		{"all-for-one: a second failure is covered by the first restart", AllForOne,
			[]string{"a", "b"}, 1, []string{"restart:a,b,c"}},
		{"rest-for-one: a later child is covered", RestForOne,
			[]string{"a", "c"}, 1, []string{"restart:a,b,c"}},
		{"rest-for-one: an earlier child restarts the rest", RestForOne,
			[]string{"b", "a"}, 2, []string{"restart:b,c", "restart:a"}},
		{"one-for-one: children are independent", OneForOne,
			[]string{"a", "b"}, 2, []string{"restart:a", "restart:b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []string{"a", "b", "c"}, WithScope(tt.scope))
			for _, id := range tt.fails {
				h.fail(id, "boom")
			}
			assert.Equal(t, tt.wantTimer, h.timers.Fire())
			assert.Equal(t, tt.wantCalls, h.sup.Calls())

			// Once fired, nothing is pending: the next failure schedules again.
			h.fail("a", "boom")
			assert.Equal(t, 1, h.timers.Fire())
		})
	}
}

func TestStrategyRestForOneUnknownChild(t *testing.T) {
	h := newHarness(t, []string{"a", "b"}, WithScope(RestForOne))
	h.fail("z", "boom") // not among Children: restart it alone
	h.timers.Fire()
	assert.Equal(t, []string{"restart:z"}, h.sup.Calls())
}

func TestStrategyDoesNotModifyChildren(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, WithScope(AllForOne))
	h.fail("a", "boom")
	h.fail("c", "boom") // filters pending children: must work on a copy
	ids := make([]string, 0, 3)
	for _, pid := range h.sup.Children() {
		ids = append(ids, pid.Id)
	}
	assert.Equal(t, []string{"a", "b", "c"}, ids)
}

func TestStrategyForgets(t *testing.T) {
	stopOn := func(reason any) Directive {
		if reason == "stop" {
			return Stop
		}
		return Restart
	}
	h := newHarness(t, []string{"a", "b", "c"}, WithDecider(stopOn),
		WithStablePeriod(time.Second), WithIntensity(Intensity{Window: 5 * time.Second}))
	for _, id := range []string{"a", "b", "c"} {
		h.fail(id, "boom")
	}
	h.timers.Fire()
	require.Len(t, h.s.children, 3)

	h.s.Forget(h.sup.child("b"))
	require.Len(t, h.s.children, 2, "Forget")

	h.fail("c", "stop")
	require.Len(t, h.s.children, 1, "Stop forgets the child")

	// Quiet for the longer of window and stable period: swept at the next
	// failure.
	h.clock.Advance(5 * time.Second)
	h.fail("b", "boom")
	assert.Len(t, h.s.children, 1, "a was swept, b is new")
	assert.Contains(t, h.s.children, pidKey(h.sup.child("b")))
}

func TestStrategyDefaults(t *testing.T) {
	s, err := NewStrategy()
	require.NoError(t, err)
	assert.Equal(t, OneForOne, s.cfg.scope)
	assert.Equal(t, Backoff{}.WithDefaults(), s.cfg.backoff)
	assert.Equal(t, Intensity{}.WithDefaults(), s.cfg.intensity)
	assert.Equal(t, 10*time.Second, s.cfg.stable)
	assert.Equal(t, Restart, s.cfg.decider("anything"))
}

func TestStrategyContained(t *testing.T) {
	contained := errors.New("task panicked")
	h := newHarness(t, []string{"a"},
		WithIntensity(Intensity{MaxRestarts: 1, Window: time.Minute}),
		WithContained(func(reason any) bool { return reason == contained }))

	// Contained failures restart at once, however many, and count nothing.
	for range 5 {
		h.fail("a", contained)
	}
	assert.Zero(t, h.timers.Pending())
	assert.Equal(t, []string{"restart:a", "restart:a", "restart:a", "restart:a", "restart:a"}, h.sup.Calls())
	assert.Empty(t, h.gaveUp)

	// A crash still waits for its backoff and counts toward the intensity.
	h.fail("a", "crash")
	assert.Equal(t, []time.Duration{10 * time.Millisecond}, h.timers.Delays())
	h.timers.Fire()
	h.fail("a", "crash")
	assert.Equal(t, []string{"a:supervision: panic: crash"}, h.gaveUp)
}
