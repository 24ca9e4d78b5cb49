package supervision

import (
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeTimers records the functions scheduled through After and runs them
// when the test calls Fire.
type fakeTimers struct {
	mu     sync.Mutex
	delays []time.Duration // every delay ever scheduled
	queue  []func()        // scheduled, not yet fired
}

func (ft *fakeTimers) After(d time.Duration, f func()) {
	ft.mu.Lock()
	ft.delays = append(ft.delays, d)
	ft.queue = append(ft.queue, f)
	ft.mu.Unlock()
}

// Fire runs every scheduled function, in order, and returns how many ran.
func (ft *fakeTimers) Fire() int {
	ft.mu.Lock()
	q := ft.queue
	ft.queue = nil
	ft.mu.Unlock()
	for _, f := range q {
		f()
	}
	return len(q)
}

func (ft *fakeTimers) Pending() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.queue)
}

func (ft *fakeTimers) Delays() []time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]time.Duration(nil), ft.delays...)
}

// fakeSupervisor records what a strategy asks of it, as "op:id,id" strings.
type fakeSupervisor struct {
	mu       sync.Mutex
	children []*actor.PID
	calls    []string
}

var _ actor.Supervisor = (*fakeSupervisor)(nil)

func newFakeSupervisor(ids ...string) *fakeSupervisor {
	s := &fakeSupervisor{}
	for _, id := range ids {
		s.children = append(s.children, actor.NewPID("nonhost", id))
	}
	return s
}

func (s *fakeSupervisor) child(id string) *actor.PID {
	for _, pid := range s.children {
		if pid.Id == id {
			return pid
		}
	}
	return actor.NewPID("nonhost", id)
}

func (s *fakeSupervisor) Children() []*actor.PID { return s.children }

func (s *fakeSupervisor) EscalateFailure(reason, message any) {
	s.record("escalate", nil)
}

func (s *fakeSupervisor) RestartChildren(pids ...*actor.PID) { s.record("restart", pids) }
func (s *fakeSupervisor) StopChildren(pids ...*actor.PID)    { s.record("stop", pids) }
func (s *fakeSupervisor) ResumeChildren(pids ...*actor.PID)  { s.record("resume", pids) }

func (s *fakeSupervisor) record(op string, pids []*actor.PID) {
	ids := make([]string, len(pids))
	for i, pid := range pids {
		ids[i] = pid.Id
	}
	s.mu.Lock()
	s.calls = append(s.calls, op+":"+strings.Join(ids, ","))
	s.mu.Unlock()
}

// Calls returns the calls recorded since the last Calls.
func (s *fakeSupervisor) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// eventLog is an EventHook that keeps the events' strings.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) Hook(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// Take returns the events' strings recorded since the last Take.
func (l *eventLog) Take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.events))
	for i, e := range l.events {
		out[i] = e.String()
	}
	l.events = nil
	return out
}
