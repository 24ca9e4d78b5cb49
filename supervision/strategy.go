package supervision

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// StrategyOption configures NewStrategy.
type StrategyOption func(*strategyConfig)

type strategyConfig struct {
	decider   Decider
	backoff   Backoff
	intensity Intensity
	stable    time.Duration
	scope     Scope
	pool      string
	now       func() time.Time
	after     func(time.Duration, func())
	rand      func() float64
	onGiveUp  func(child *actor.PID, reason any)
	hook      EventHook
	contained func(reason any) bool
	name      func(child *actor.PID) string
}

// WithDecider sets the Decider; the default is DefaultDecider.
func WithDecider(d Decider) StrategyOption { return func(c *strategyConfig) { c.decider = d } }

// WithBackoff sets the delay before each restart; the default is the zero
// Backoff, that is 10ms doubling up to 5s with 20% jitter. Zero fields of b
// take their defaults one by one.
func WithBackoff(b Backoff) StrategyOption { return func(c *strategyConfig) { c.backoff = b } }

// WithIntensity sets the restart intensity applied to each child; the
// default is the zero Intensity, that is more than 5 restarts in 10s. Zero
// fields of in take their defaults one by one.
func WithIntensity(in Intensity) StrategyOption {
	return func(c *strategyConfig) { c.intensity = in }
}

// WithStablePeriod sets how long a child must stay up after a restart for
// its backoff to start over from the first delay; the default is 10s.
func WithStablePeriod(d time.Duration) StrategyOption {
	return func(c *strategyConfig) { c.stable = d }
}

// WithScope sets which children a restart covers; the default is OneForOne.
func WithScope(s Scope) StrategyOption { return func(c *strategyConfig) { c.scope = s } }

// WithPool names the pool the strategy supervises, for the Pool field of
// its events.
func WithPool(name string) StrategyOption { return func(c *strategyConfig) { c.pool = name } }

// WithClock sets the clock; the default is time.Now.
func WithClock(now func() time.Time) StrategyOption { return func(c *strategyConfig) { c.now = now } }

// WithAfter sets how a delayed restart is scheduled: after(d, f) must call
// f once, on any goroutine, d after the call. The default uses
// time.AfterFunc. Tests pass a fake that runs f when they choose.
func WithAfter(after func(d time.Duration, f func())) StrategyOption {
	return func(c *strategyConfig) { c.after = after }
}

// WithRand sets the source of the random numbers in [0, 1) that spread the
// backoff delays; the default is math/rand/v2's Float64. It must be safe
// for concurrent use if the strategy is shared between supervisors.
func WithRand(rnd func() float64) StrategyOption { return func(c *strategyConfig) { c.rand = rnd } }

// WithOnGiveUp sets a function called when a child exceeds its restart
// intensity and is stopped, on the supervisor's goroutine, after the stop
// was requested. It must not block.
func WithOnGiveUp(f func(child *actor.PID, reason any)) StrategyOption {
	return func(c *strategyConfig) { c.onGiveUp = f }
}

// WithContained sets a function that tells failures the child contained
// (a panic it recovered from while running one task) from crashes. A
// contained failure whose directive is Restart restarts the child at once:
// it neither waits for a backoff delay nor counts toward the child's attempts
// or restart intensity, since the failed work was the task's, not the
// child's. The default treats every failure as a crash.
func WithContained(f func(reason any) bool) StrategyOption {
	return func(c *strategyConfig) { c.contained = f }
}

// WithChildName sets how the strategy's events name a child; the default
// is the child PID's Id. A pool names its workers as its other events do.
func WithChildName(f func(child *actor.PID) string) StrategyOption {
	return func(c *strategyConfig) { c.name = f }
}

// WithEventHook sets a function that receives the strategy's events
// (WorkerFailed, WorkerRestarted, WorkerGaveUp). It is called from the
// supervisor's goroutine and from the goroutines that run delayed
// restarts, so it must be safe for concurrent use.
func WithEventHook(h EventHook) StrategyOption { return func(c *strategyConfig) { c.hook = h } }

// Strategy is a protoactor SupervisorStrategy with Drover's restart policy:
// a Decider picks the directive; a restart waits for the child's Backoff
// delay and covers the children its Scope says; a child that restarts more
// often than its Intensity allows is stopped for good.
//
// On a failure the Strategy asks the Decider and then:
//
//   - Restart: counts the failure in the child's Attempts and restart
//     intensity. If the intensity is exceeded it stops the child, emits
//     WorkerGaveUp and calls the OnGiveUp function. Otherwise it picks the
//     children to restart (the child alone; every child; or the child and
//     those after it in Supervisor.Children order, see RestForOne) and
//     restarts them Backoff.Next(attempt-1) later, through the after
//     function. Meanwhile the failed child's mailbox stays suspended and
//     its siblings run on. A child already covered by a scheduled restart
//     is left to that restart.
//   - Stop: stops the failed child only, whatever the Scope. An unknown
//     directive counts as Stop.
//   - Resume: resumes the failed child only.
//   - Escalate: fails the supervisor, so that its own supervisor decides.
//
// The Strategy keeps its own per-child counts on its injected clock and
// ignores protoactor's RestartStatistics. It forgets a child when it stops
// it, when Forget is called, and once the child has been quiet for the
// longer of the intensity window and the stable period.
//
// Its events carry the pool name given to WithPool and name each child by
// its PID's Id, or as WithChildName says. Like protoactor's own strategies, it also publishes an
// actor.SupervisorEvent on the actor system's event stream for every
// directive it applies.
//
// A scheduled restart is not cancelled if the supervisor stops first; it
// then reaches a dead PID and is dropped by protoactor.
//
// A Strategy is safe for concurrent use, so one may serve several
// supervisors of the same actor system (children are told apart by PID).
type Strategy struct {
	cfg strategyConfig

	mu        sync.Mutex
	children  map[string]*childState // failing children, by pidKey
	pending   map[string]struct{}    // children covered by a scheduled restart
	quiet     time.Duration          // a child quiet this long is forgotten
	lastSweep time.Time
}

type childState struct {
	attempts  *Attempts
	intensity *IntensityTracker
	last      time.Time // last failure or restart
}

var _ actor.SupervisorStrategy = (*Strategy)(nil)

// NewStrategy returns a Strategy, or an error (wrapping ErrInvalidConfig)
// if an option is invalid. With no options it restarts every failed child
// alone (OneForOne), after 10ms doubling up to 5s with 20% jitter (the
// zero Backoff), starts the backoff over once a child has stayed up for
// 10s, and stops a child restarted more than 5 times in 10s (the zero
// Intensity).
func NewStrategy(opts ...StrategyOption) (*Strategy, error) {
	var c strategyConfig
	for _, o := range opts {
		o(&c)
	}
	errs := []error{c.backoff.Validate(), c.intensity.Validate(), c.scope.validate()}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.decider == nil {
		c.decider = DefaultDecider
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.after == nil {
		c.after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	// Validate the stable period once, here, rather than at every failure.
	a, err := NewAttempts(c.stable, c.now)
	if err != nil {
		return nil, err
	}
	c.stable = a.StablePeriod()
	c.backoff = c.backoff.WithDefaults()
	c.intensity = c.intensity.WithDefaults()
	return &Strategy{
		cfg:      c,
		children: make(map[string]*childState),
		pending:  make(map[string]struct{}),
		quiet:    max(c.intensity.Window, c.stable),
	}, nil
}

// Forget drops the Strategy's counts for child, as if it had never failed.
// Call it when a child stops for good by other means than the Strategy.
func (s *Strategy) Forget(child *actor.PID) {
	s.mu.Lock()
	delete(s.children, pidKey(child))
	s.mu.Unlock()
}

// HandleFailure implements actor.SupervisorStrategy. protoactor calls it on
// the supervisor's goroutine.
func (s *Strategy) HandleFailure(system *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, message any) {
	directive := s.cfg.decider(reason)
	switch directive {
	case Restart:
		s.restart(system, supervisor, child, reason)
		return
	case Resume:
		s.emitFailed(child, reason, Resume, 0)
		publish(system, child, reason, Resume)
		supervisor.ResumeChildren(child)
	case Escalate:
		s.emitFailed(child, reason, Escalate, 0)
		// Not published: the supervisor's own supervisor does it.
		supervisor.EscalateFailure(reason, message)
	default:
		s.emitFailed(child, reason, directive, 0)
		s.Forget(child)
		publish(system, child, reason, Stop)
		supervisor.StopChildren(child)
	}
}

func (s *Strategy) restart(system *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, reason any) {
	var targets []*actor.PID
	switch s.cfg.scope {
	case AllForOne:
		// Copy: protoactor's Children returns the supervisor's own slice.
		targets = append([]*actor.PID(nil), supervisor.Children()...)
	case RestForOne:
		targets = restFrom(supervisor.Children(), child)
	}
	if len(targets) == 0 {
		targets = []*actor.PID{child}
	}

	if s.cfg.contained != nil && s.cfg.contained(reason) {
		s.emitFailed(child, reason, Restart, 0)
		s.restartNow(system, supervisor, child, targets, reason, 0, 0)
		return
	}

	key := pidKey(child)
	s.mu.Lock()
	now := s.cfg.now()
	s.sweepLocked(now)
	st := s.children[key]
	if st == nil {
		st = s.newChildState()
		s.children[key] = st
	}
	st.last = now
	attempt := st.attempts.Failure()
	if st.intensity.Record() {
		restarts := st.intensity.Count()
		delete(s.children, key)
		s.mu.Unlock()

		s.emitFailed(child, reason, Restart, attempt)
		publish(system, child, reason, Stop)
		supervisor.StopChildren(child)
		s.emit(WorkerGaveUp{Pool: s.cfg.pool, Worker: s.childName(child), Reason: ReasonError(reason), Restarts: restarts, At: now})
		if s.cfg.onGiveUp != nil {
			s.cfg.onGiveUp(child, reason)
		}
		return
	}
	delay := s.cfg.backoff.Next(attempt-1, s.cfg.rand())
	// Leave children a scheduled restart already covers to that restart.
	n := 0
	for _, pid := range targets {
		k := pidKey(pid)
		if _, ok := s.pending[k]; !ok {
			s.pending[k] = struct{}{}
			targets[n] = pid
			n++
		}
	}
	targets = targets[:n]
	s.mu.Unlock()

	s.emitFailed(child, reason, Restart, attempt)
	if len(targets) == 0 {
		return
	}
	s.cfg.after(delay, func() {
		s.restartNow(system, supervisor, child, targets, reason, attempt, delay)
	})
}

// restartNow runs when a restart's delay is over, on the goroutine the
// after function chose. Supervisor.RestartChildren only sends system
// messages, which protoactor allows from any goroutine.
func (s *Strategy) restartNow(system *actor.ActorSystem, supervisor actor.Supervisor, failed *actor.PID, targets []*actor.PID, reason any, attempt int, delay time.Duration) {
	s.mu.Lock()
	now := s.cfg.now()
	for _, pid := range targets {
		k := pidKey(pid)
		delete(s.pending, k)
		if st := s.children[k]; st != nil {
			st.attempts.Started()
			st.last = now
		}
	}
	s.mu.Unlock()

	publish(system, failed, reason, Restart)
	supervisor.RestartChildren(targets...)
	if s.cfg.hook == nil {
		return
	}
	for _, pid := range targets {
		e := WorkerRestarted{Pool: s.cfg.pool, Worker: s.childName(pid), Delay: delay, At: now}
		if samePID(pid, failed) {
			e.Attempt = attempt
		}
		s.cfg.hook(e)
	}
}

func (s *Strategy) newChildState() *childState {
	// The configuration was validated in NewStrategy: these cannot fail.
	a, _ := NewAttempts(s.cfg.stable, s.cfg.now)
	t, _ := NewIntensityTracker(s.cfg.intensity, s.cfg.now)
	return &childState{attempts: a, intensity: t}
}

// sweepLocked forgets children that have been quiet long enough for their
// counts to have lapsed, at most once per quiet period. Forgetting them
// changes nothing but memory: a fresh state gives the same answers.
func (s *Strategy) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < s.quiet {
		return
	}
	s.lastSweep = now
	for k, st := range s.children {
		if now.Sub(st.last) >= s.quiet {
			delete(s.children, k)
		}
	}
}

func (s *Strategy) emitFailed(child *actor.PID, reason any, d Directive, attempt int) {
	if s.cfg.hook == nil {
		return
	}
	s.cfg.hook(WorkerFailed{
		Pool: s.cfg.pool, Worker: s.childName(child), Reason: ReasonError(reason),
		Directive: d, Attempt: attempt, At: s.cfg.now(),
	})
}

func (s *Strategy) emit(e Event) {
	if s.cfg.hook != nil {
		s.cfg.hook(e)
	}
}

// publish tells protoactor's event stream, as its own strategies do.
func publish(system *actor.ActorSystem, child *actor.PID, reason any, d Directive) {
	if system == nil || system.EventStream == nil {
		return
	}
	system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: d.actorDirective()})
}

// restFrom returns child and the children after it, or nil if child is not
// among them.
func restFrom(children []*actor.PID, child *actor.PID) []*actor.PID {
	for i, pid := range children {
		if samePID(pid, child) {
			return append([]*actor.PID(nil), children[i:]...)
		}
	}
	return nil
}

func samePID(a, b *actor.PID) bool {
	return a.GetId() == b.GetId() && a.GetAddress() == b.GetAddress()
}

func pidKey(pid *actor.PID) string { return pid.GetAddress() + "/" + pid.GetId() }

// childName names a child in events (WithChildName).
func (s *Strategy) childName(pid *actor.PID) string {
	if s.cfg.name != nil {
		return s.cfg.name(pid)
	}
	return pid.GetId()
}
