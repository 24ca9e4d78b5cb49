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

// CircuitOpenError is the error Breaker.Admit and Breaker.Allow return
// when they refuse a call. It wraps ErrCircuitOpen.
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

// Outcome is how an admitted call ended, as reported to Breaker.Done.
type Outcome uint8

const (
	// Succeeded: the call ran and succeeded. It clears a closed breaker's
	// failure count and closes a half-open one.
	Succeeded Outcome = iota + 1
	// Failed: the call ran and failed. It counts towards FailureThreshold
	// in a closed breaker and opens a half-open one.
	Failed
	// Skipped: the call did not run (refused further on, canceled, shed,
	// cut short by a shutdown), so it says nothing about what the breaker
	// guards. It changes neither the state nor the failure count; in a
	// half-open breaker it gives the call's trial slot back. An Outcome
	// outside the three counts as Skipped.
	Skipped
)

var outcomeNames = [...]string{Succeeded: "succeeded", Failed: "failed", Skipped: "skipped"}

// String returns "succeeded", "failed" or "skipped", or "Outcome(n)" for a
// value outside the set.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Ticket is a call's admission by Breaker.Admit: it names the generation
// the call was admitted in, and is handed back to Breaker.Done with the
// call's outcome. It is a small value; copy it freely. The zero Ticket
// belongs to no generation, so Done ignores it.
type Ticket struct {
	gen uint64
}

// Breaker is a circuit breaker: it stops calls to something that keeps
// failing and lets a few through again after a pause.
//
// Closed, it lets every call through; FailureThreshold consecutive failures
// open it. Open, it refuses calls; the first admission after ResetTimeout
// (by the breaker's clock) makes it half-open and admits a trial. Half-open,
// it admits up to HalfOpenTrials trials at once and refuses the rest; a
// success closes it and a failure opens it again. A trial that never
// reports is given up on after ResetTimeout, and its slot reused.
//
// # Two steps: Admit and Done
//
// Admit admits a call and returns a Ticket; once the call is over, Done
// reports it with one of three outcomes: Succeeded, Failed, or Skipped for
// a call that was admitted but never ran (refused by a later stage,
// canceled, shed, stopped by a shutdown). A Skipped call leaves the state
// and the failure count alone and, while half-open, frees its trial slot
// for another call: only calls that ran decide whether the breaker closes.
//
// Every transition (and every new round of half-open trials) starts a new
// generation, and a Ticket belongs to the generation it was admitted in.
// Done ignores a ticket from an earlier generation: the late result of a
// call admitted while closed cannot reopen a breaker that has since opened
// and closed, nor can a call admitted before a trial round close or reopen
// the breaker in that trial's place.
//
// # One step: Allow, Success and Failure
//
// Allow, Success and Failure are the older one-step form: Allow admits like
// Admit but keeps no ticket, and Success and Failure count for whatever
// state the breaker is in when they are called, so a late result that
// arrives while half-open counts as a trial's (results while open are
// ignored). There is no one-step Skipped. Prefer Admit and Done.
//
// A Breaker is safe for concurrent use. While it is closed, Admit and Allow
// cost one atomic load, and Done(t, Succeeded) and Success two when no
// failure is pending: no lock and no allocation.
type Breaker struct {
	sg       atomic.Uint64 // state | generation<<stateBits; written under mu
	failures atomic.Int64  // consecutive failures while closed; written under mu

	mu       sync.Mutex
	cfg      BreakerConfig
	now      func() time.Time
	openedAt time.Time // when the breaker last opened
	trials   int       // trials in flight in the current half-open round
	roundAt  time.Time // when the current half-open round began

	notifyMu   sync.Mutex
	pending    []transition // transitions not yet passed to OnStateChange
	delivering bool         // a goroutine is calling OnStateChange
}

// The state and the generation share one word, so that the closed fast
// path reads both with one atomic load.
const (
	stateBits = 2
	stateMask = 1<<stateBits - 1
)

func stateOf(sg uint64) State { return State(sg & stateMask) }
func genOf(sg uint64) uint64  { return sg >> stateBits }

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
	b := &Breaker{cfg: cfg.WithDefaults(), now: now}
	b.sg.Store(1 << stateBits) // generation 1, closed: the zero Ticket matches none
	return b, nil
}

// State returns the breaker's state. An open breaker whose reset timeout
// has passed stays Open until the next Admit or Allow.
func (b *Breaker) State() State { return stateOf(b.sg.Load()) }

// Admit returns a Ticket if a call may go ahead, and a *CircuitOpenError
// (wrapping ErrCircuitOpen) if not. Every admitted call must be reported
// once with Done, Skipped included: a half-open breaker holds the trial
// slot until then (or until ResetTimeout passes).
func (b *Breaker) Admit() (Ticket, error) {
	if sg := b.sg.Load(); stateOf(sg) == Closed {
		return Ticket{gen: genOf(sg)}, nil
	}
	return b.admitSlow()
}

func (b *Breaker) admitSlow() (Ticket, error) {
	b.mu.Lock()
	switch stateOf(b.sg.Load()) {
	case Open:
		now := b.now()
		if wait := b.cfg.ResetTimeout - now.Sub(b.openedAt); wait > 0 {
			b.mu.Unlock()
			return Ticket{}, &CircuitOpenError{RetryAfter: wait}
		}
		b.setLocked(HalfOpen)
		b.trials, b.roundAt = 1, now
		t := Ticket{gen: genOf(b.sg.Load())}
		b.mu.Unlock()
		b.deliver()
		return t, nil
	case HalfOpen:
		if b.trials >= b.cfg.HalfOpenTrials {
			now := b.now()
			if now.Sub(b.roundAt) < b.cfg.ResetTimeout {
				b.mu.Unlock()
				return Ticket{}, &CircuitOpenError{}
			}
			// The trials in flight never reported: start a new round, in a
			// new generation so that their late results are ignored.
			b.trials, b.roundAt = 0, now
			b.sg.Add(1 << stateBits)
		}
		b.trials++
	}
	t := Ticket{gen: genOf(b.sg.Load())}
	b.mu.Unlock()
	return t, nil
}

// Done reports how the call admitted with t ended. It does nothing if t
// belongs to an earlier generation than the breaker's (see Breaker).
func (b *Breaker) Done(t Ticket, o Outcome) {
	sg := b.sg.Load()
	if genOf(sg) != t.gen {
		return // a generation the breaker has left (or the zero Ticket)
	}
	if stateOf(sg) == Closed && (o == Skipped || o == Succeeded && b.failures.Load() == 0) {
		return
	}
	b.mu.Lock()
	if genOf(b.sg.Load()) != t.gen {
		b.mu.Unlock()
		return
	}
	moved := b.recordLocked(o)
	b.mu.Unlock()
	if moved {
		b.deliver()
	}
}

// Allow returns nil if a call may go ahead, and a *CircuitOpenError
// (wrapping ErrCircuitOpen) if not. It is Admit without the ticket: every
// nil return must be followed by one Success or Failure once the call is
// done.
func (b *Breaker) Allow() error {
	_, err := b.Admit()
	return err
}

// Success reports that a call admitted by Allow succeeded: it clears the
// failure count of a closed breaker and closes a half-open one, whenever
// the call was admitted.
func (b *Breaker) Success() {
	if stateOf(b.sg.Load()) == Closed && b.failures.Load() == 0 {
		return
	}
	b.record(Succeeded)
}

// Failure reports that a call admitted by Allow failed: it opens a closed
// breaker at the FailureThreshold-th consecutive failure, and a half-open
// one at once, whenever the call was admitted.
func (b *Breaker) Failure() { b.record(Failed) }

func (b *Breaker) record(o Outcome) {
	b.mu.Lock()
	moved := b.recordLocked(o)
	b.mu.Unlock()
	if moved {
		b.deliver()
	}
}

// recordLocked applies an outcome to the current state and reports whether
// the breaker moved. b.mu must be held.
func (b *Breaker) recordLocked(o Outcome) bool {
	switch stateOf(b.sg.Load()) {
	case Closed:
		switch o {
		case Succeeded:
			b.failures.Store(0)
		case Failed:
			if b.failures.Add(1) >= int64(b.cfg.FailureThreshold) {
				b.openLocked()
				return true
			}
		}
	case HalfOpen:
		switch o {
		case Succeeded:
			b.failures.Store(0)
			b.trials = 0
			b.setLocked(Closed)
			return true
		case Failed:
			b.openLocked()
			return true
		default: // Skipped: the trial never ran; free its slot
			if b.trials > 0 {
				b.trials--
			}
		}
	}
	return false
}

func (b *Breaker) openLocked() {
	b.failures.Store(0)
	b.trials = 0
	b.openedAt = b.now()
	b.setLocked(Open)
}

// setLocked moves to state to in a new generation and queues the
// transition for OnStateChange. b.mu must be held, so that the queue keeps
// the transitions' order.
func (b *Breaker) setLocked(to State) {
	old := b.sg.Load()
	from := stateOf(old)
	if from == to {
		return
	}
	b.sg.Store((genOf(old)+1)<<stateBits | uint64(to))
	if b.cfg.OnStateChange == nil {
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
