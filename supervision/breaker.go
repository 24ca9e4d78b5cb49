package supervision

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for BreakerConfig fields left at zero.
const (
	defaultBreakerFailureThreshold = 5
	defaultBreakerResetTimeout     = 10 * time.Second
	defaultBreakerHalfOpenTrials   = 1
)

// State is a circuit breaker's state. The zero State is Closed.
type State int32

const (
	// Closed lets every call through and counts consecutive failures.
	Closed State = iota
	// Open refuses every call until the reset timeout has passed.
	Open
	// HalfOpen lets a few trial calls through; the first result decides
	// whether the breaker closes or opens again.
	HalfOpen
)

var stateNames = [...]string{Closed: "closed", Open: "open", HalfOpen: "half-open"}

// String returns "closed", "open" or "half-open", or "State(n)" for a value
// outside the set.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// BreakerConfig configures a Breaker. A zero field means its default:
//
//	FailureThreshold  5
//	ResetTimeout      10s
//	HalfOpenTrials    1
//
// BreakerConfig is a plain value, safe for concurrent use.
type BreakerConfig struct {
	// FailureThreshold is the number of consecutive failures that opens a
	// closed breaker. Allowed: >= 0.
	FailureThreshold int
	// ResetTimeout is how long an open breaker refuses calls before it lets
	// trials through. Allowed: >= 0.
	ResetTimeout time.Duration
	// HalfOpenTrials is the number of trial calls a half-open breaker lets
	// through at once. Allowed: >= 0.
	HalfOpenTrials int
	// OnStateChange, if not nil, is called after each transition, outside
	// the breaker's lock, so it may call the breaker. Calls come in the
	// order of the transitions and one at a time, but not necessarily on
	// the goroutine whose call caused the transition.
	OnStateChange func(from, to State)
}

// WithDefaults returns c with every zero field replaced by its default.
func (c BreakerConfig) WithDefaults() BreakerConfig {
	if c.FailureThreshold == 0 {
		c.FailureThreshold = defaultBreakerFailureThreshold
	}
	if c.ResetTimeout == 0 {
		c.ResetTimeout = defaultBreakerResetTimeout
	}
	if c.HalfOpenTrials == 0 {
		c.HalfOpenTrials = defaultBreakerHalfOpenTrials
	}
	return c
}

// Validate reports every field outside its allowed range as a *ConfigError
// (joined with errors.Join when there are several); it returns nil for a
// valid BreakerConfig, including the zero value.
func (c BreakerConfig) Validate() error {
	return errors.Join(
		checkNonNegativeInt("BreakerConfig.FailureThreshold", c.FailureThreshold),
		checkNonNegative("BreakerConfig.ResetTimeout", c.ResetTimeout),
		checkNonNegativeInt("BreakerConfig.HalfOpenTrials", c.HalfOpenTrials),
	)
}

// CircuitOpenError is the error Breaker.Allow returns when it refuses a
// call. It wraps ErrCircuitOpen.
type CircuitOpenError struct {
	// RetryAfter is how long the breaker stays open, as of the refused call;
	// 0 when it is half-open with every trial slot taken.
	RetryAfter time.Duration
}

// Error describes the refusal, starting with ErrCircuitOpen's text.
func (e *CircuitOpenError) Error() string {
	if e.RetryAfter > 0 {
		return ErrCircuitOpen.Error() + " (retry in " + e.RetryAfter.String() + ")"
	}
	return ErrCircuitOpen.Error() + " (half-open, trials in flight)"
}

// Unwrap returns ErrCircuitOpen.
func (e *CircuitOpenError) Unwrap() error { return ErrCircuitOpen }

// Breaker is a circuit breaker: it stops calls to something that keeps
// failing and lets a few through again after a pause.
//
// Closed, it lets every call through; FailureThreshold consecutive failures
// open it. Open, it refuses calls; the first Allow after ResetTimeout (by
// the breaker's clock) makes it half-open and admits a trial. Half-open, it
// admits up to HalfOpenTrials trials at once and refuses the rest; a
// success closes it and a failure opens it again. A trial that never
// reports is given up on after ResetTimeout, and its slot reused.
//
// Callers report the outcome of every admitted call with Success or
// Failure. The breaker cannot tell a trial's result from the late result of
// a call admitted before it opened: a late success or failure that arrives
// while half-open counts as a trial's. Results that arrive while open are
// ignored.
//
// A Breaker is safe for concurrent use. While it is closed, Allow costs one
// atomic load and Success two (when no failure is pending): no lock.
type Breaker struct {
	state    atomic.Int32 // State; written under mu
	failures atomic.Int64 // consecutive failures while closed; written under mu

	mu       sync.Mutex
	cfg      BreakerConfig
	now      func() time.Time
	openedAt time.Time // when the breaker last opened
	trials   int       // trials admitted in the current half-open round
	roundAt  time.Time // when the current half-open round began

	notifyMu   sync.Mutex
	pending    []transition // transitions not yet passed to OnStateChange
	delivering bool         // a goroutine is calling OnStateChange
}

type transition struct{ from, to State }

// NewBreaker returns a closed Breaker, or a *ConfigError if cfg is not
// valid. A nil now means time.Now.
func NewBreaker(cfg BreakerConfig, now func() time.Time) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{cfg: cfg.WithDefaults(), now: now}, nil
}

// State returns the breaker's state. An open breaker whose reset timeout
// has passed stays Open until the next Allow.
func (b *Breaker) State() State { return State(b.state.Load()) }

// Allow returns nil if a call may go ahead, and a *CircuitOpenError
// (wrapping ErrCircuitOpen) if not. Every nil return must be followed by
// one Success or Failure once the call is done.
func (b *Breaker) Allow() error {
	if State(b.state.Load()) == Closed {
		return nil
	}
	b.mu.Lock()
	switch State(b.state.Load()) {
	case Open:
		now := b.now()
		if wait := b.cfg.ResetTimeout - now.Sub(b.openedAt); wait > 0 {
			b.mu.Unlock()
			return &CircuitOpenError{RetryAfter: wait}
		}
		b.setLocked(HalfOpen)
		b.trials, b.roundAt = 1, now
		b.mu.Unlock()
		b.deliver()
		return nil
	case HalfOpen:
		if b.trials >= b.cfg.HalfOpenTrials {
			now := b.now()
			if now.Sub(b.roundAt) < b.cfg.ResetTimeout {
				b.mu.Unlock()
				return &CircuitOpenError{}
			}
			// The trials in flight never reported: start a new round.
			b.trials, b.roundAt = 0, now
		}
		b.trials++
	}
	b.mu.Unlock()
	return nil
}

// Success reports that an admitted call succeeded: it clears the failure
// count of a closed breaker and closes a half-open one.
func (b *Breaker) Success() {
	if State(b.state.Load()) == Closed && b.failures.Load() == 0 {
		return
	}
	moved := false
	b.mu.Lock()
	switch State(b.state.Load()) {
	case Closed:
		b.failures.Store(0)
	case HalfOpen:
		b.failures.Store(0)
		b.trials = 0
		b.setLocked(Closed)
		moved = true
	}
	b.mu.Unlock()
	if moved {
		b.deliver()
	}
}

// Failure reports that an admitted call failed: it opens a closed breaker
// at the FailureThreshold-th consecutive failure, and a half-open one at
// once.
func (b *Breaker) Failure() {
	moved := false
	b.mu.Lock()
	switch State(b.state.Load()) {
	case Closed:
		if b.failures.Add(1) >= int64(b.cfg.FailureThreshold) {
			b.openLocked()
			moved = true
		}
	case HalfOpen:
		b.openLocked()
		moved = true
	}
	b.mu.Unlock()
	if moved {
		b.deliver()
	}
}

func (b *Breaker) openLocked() {
	b.failures.Store(0)
	b.trials = 0
	b.openedAt = b.now()
	b.setLocked(Open)
}

// setLocked moves to state to and queues the transition for OnStateChange.
// b.mu must be held, so that the queue keeps the transitions' order.
func (b *Breaker) setLocked(to State) {
	from := State(b.state.Swap(int32(to)))
	if b.cfg.OnStateChange == nil || from == to {
		return
	}
	b.notifyMu.Lock()
	b.pending = append(b.pending, transition{from, to})
	b.notifyMu.Unlock()
}

// deliver passes queued transitions to OnStateChange, one at a time and in
// order, unless another goroutine is already doing so. b.mu must not be
// held.
func (b *Breaker) deliver() {
	if b.cfg.OnStateChange == nil {
		return
	}
	b.notifyMu.Lock()
	if b.delivering {
		b.notifyMu.Unlock()
		return
	}
	b.delivering = true
	finished := false
	defer func() {
		if !finished { // OnStateChange panicked: let the next caller deliver.
			b.notifyMu.Lock()
			b.delivering = false
			b.notifyMu.Unlock()
		}
	}()
	for len(b.pending) > 0 {
		t := b.pending[0]
		b.pending = b.pending[1:]
		b.notifyMu.Unlock()
		b.cfg.OnStateChange(t.from, t.to)
		b.notifyMu.Lock()
	}
	b.pending = nil
	b.delivering = false
	finished = true
	b.notifyMu.Unlock()
}
