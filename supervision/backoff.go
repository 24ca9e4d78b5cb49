package supervision

import (
	"errors"
	"math"
	"time"
)

// Defaults for Backoff fields left at zero, and for NewAttempts' stable
// period. A pool (package actors) uses the same Backoff defaults.
const (
	defaultBackoffInitial    = 10 * time.Millisecond
	defaultBackoffMax        = 5 * time.Second
	defaultBackoffMultiplier = 2.0
	defaultBackoffJitter     = 0.2
	defaultStablePeriod      = 10 * time.Second
)

// NoJitter, given as Backoff.Jitter, turns jitter off (a zero Jitter means
// the default, 0.2). Any negative Jitter has the same effect.
const NoJitter = -1.0

// Backoff is an exponential backoff policy: the delay before restart attempt
// n (counting from 0) is
//
//	min(Max, Initial × Multiplierⁿ)
//
// spread by ±Jitter of itself and then clamped to [0, Max].
//
// Each zero field means its default, whatever the other fields are:
//
//	Initial     10ms
//	Max         5s, or Initial when Initial is larger
//	Multiplier  2
//	Jitter      0.2 (use NoJitter for none)
//
// Backoff is a plain value: its methods do not modify it and are safe for
// concurrent use.
type Backoff struct {
	// Initial is the delay before the first attempt. Allowed: >= 0.
	Initial time.Duration
	// Max caps every delay, jitter included. Allowed: >= 0, and >= Initial
	// once defaults are applied.
	Max time.Duration
	// Multiplier is the growth factor between attempts. Allowed: >= 1
	// (1 gives a constant delay).
	Multiplier float64
	// Jitter is the spread as a fraction of the delay. Allowed: <= 1;
	// negative means none.
	Jitter float64
}

// WithDefaults returns b with every zero field replaced by its default.
// Invalid values are left as they are (see Validate).
func (b Backoff) WithDefaults() Backoff {
	if b.Initial == 0 {
		b.Initial = defaultBackoffInitial
	}
	if b.Max == 0 {
		b.Max = max(defaultBackoffMax, b.Initial)
	}
	if b.Multiplier == 0 {
		b.Multiplier = defaultBackoffMultiplier
	}
	if b.Jitter == 0 {
		b.Jitter = defaultBackoffJitter
	}
	return b
}

// Validate reports every field outside its allowed range, each as a
// *ConfigError (joined with errors.Join when there are several); it returns
// nil for a valid Backoff, including the zero value.
func (b Backoff) Validate() error {
	var errs []error
	if err := checkNonNegative("Backoff.Initial", b.Initial); err != nil {
		errs = append(errs, err)
	}
	if err := checkNonNegative("Backoff.Max", b.Max); err != nil {
		errs = append(errs, err)
	}
	if b.Multiplier != 0 && !(b.Multiplier >= 1 && !math.IsInf(b.Multiplier, 1)) {
		errs = append(errs, configError("Backoff.Multiplier", b.Multiplier, ">= 1 and finite (0 means the default, 2)"))
	}
	if math.IsNaN(b.Jitter) || b.Jitter > 1 {
		errs = append(errs, configError("Backoff.Jitter", b.Jitter, "<= 1 (0 means the default, 0.2; negative means none)"))
	}
	if len(errs) == 0 {
		if d := b.WithDefaults(); d.Max < d.Initial {
			errs = append(errs, configError("Backoff.Max", d.Max, ">= Initial ("+d.Initial.String()+")"))
		}
	}
	return errors.Join(errs...)
}

// Next returns the delay before restart attempt number attempt, counting
// from 0 (the first restart after a stable period), for a random number rnd
// in [0, 1). rnd maps linearly onto [-Jitter, +Jitter]: 0.5 means no jitter.
//
// Next is pure: the same arguments give the same delay. The result is never
// negative and never above Max: jitter is applied after the cap and the sum
// is clamped to Max, so once the exponential term reaches Max the delays
// spread over [Max×(1-Jitter), Max].
//
// Next is defined for any input: a negative attempt counts as 0, rnd outside
// [0, 1) is clamped into it, and fields outside their range are clamped into
// it (a Multiplier below 1 counts as 1, a Jitter above 1 as 1, an Initial
// above Max as Max).
func (b Backoff) Next(attempt int, rnd float64) time.Duration {
	b = b.WithDefaults()
	if b.Max <= 0 || b.Initial <= 0 {
		return 0
	}
	mult := b.Multiplier
	if !(mult >= 1) { // also catches NaN
		mult = 1
	}
	attempt = max(attempt, 0)

	maxf := float64(b.Max)
	d := float64(b.Initial) * math.Pow(mult, float64(attempt))
	if !(d < maxf) { // also catches +Inf and NaN
		d = maxf
	}

	if j := b.Jitter; j > 0 {
		j = min(j, 1)
		switch {
		case !(rnd >= 0): // negative or NaN
			rnd = 0
		case rnd >= 1:
			rnd = math.Nextafter(1, 0)
		}
		d *= 1 + j*(2*rnd-1)
	}

	// Compare in float64 but return Max itself: converting a float64 near
	// math.MaxInt64 back to a Duration could overflow.
	if d >= maxf {
		return b.Max
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(d)
}

// Attempts counts a worker's consecutive failures, forgetting them once the
// worker has stayed up for a stable period. Its count drives Backoff.Next:
// the n-th consecutive failure waits Next(n-1, rnd).
//
// The stable period runs from the later of the last failure and the last
// call to Started; calling Started when the worker is actually back (after
// the backoff delay) keeps the delay itself out of the period.
//
// An Attempts is not safe for concurrent use: it belongs to one owner, such
// as the actor supervising the worker.
type Attempts struct {
	stable time.Duration
	now    func() time.Time
	n      int
	since  time.Time
}

// NewAttempts returns an Attempts with no failures recorded. A zero
// stablePeriod means the default, 10s; a negative one is a *ConfigError.
// A nil now means time.Now.
func NewAttempts(stablePeriod time.Duration, now func() time.Time) (*Attempts, error) {
	if err := checkNonNegative("StablePeriod", stablePeriod); err != nil {
		return nil, err
	}
	if stablePeriod == 0 {
		stablePeriod = defaultStablePeriod
	}
	if now == nil {
		now = time.Now
	}
	return &Attempts{stable: stablePeriod, now: now}, nil
}

// Failure records a failure and returns the number of consecutive failures,
// this one included: 1 for the first failure after a stable period.
func (a *Attempts) Failure() int {
	t := a.now()
	if a.n > 0 && t.Sub(a.since) >= a.stable {
		a.n = 0
	}
	a.n++
	a.since = t
	return a.n
}

// Started records that the worker is running again; the stable period
// starts over from now.
func (a *Attempts) Started() {
	a.since = a.now()
}

// Count returns the number of consecutive failures, or 0 if the worker has
// been stable since the last one.
func (a *Attempts) Count() int {
	if a.n > 0 && a.now().Sub(a.since) >= a.stable {
		return 0
	}
	return a.n
}

// Reset forgets every failure.
func (a *Attempts) Reset() {
	a.n = 0
	a.since = time.Time{}
}

// StablePeriod returns the stable period in effect (the default when
// NewAttempts got 0).
func (a *Attempts) StablePeriod() time.Duration { return a.stable }
