package supervision

import (
	"errors"
	"time"
)

// Defaults for Intensity fields left at zero.
const (
	defaultMaxRestarts     = 5
	defaultIntensityWindow = 10 * time.Second
)

// NoRestarts, given as Intensity.MaxRestarts, allows no restart at all: the
// first one exceeds the intensity. (A zero MaxRestarts means the default.)
const NoRestarts = -1

// Intensity bounds how often something may restart, with Erlang/OTP's
// meaning: more than MaxRestarts restarts within any Window exceeds it, and
// the supervisor gives up (stops the worker, or fails the pool).
//
// Each zero field means its default, whatever the other field is:
//
//	MaxRestarts  5 (use NoRestarts for none)
//	Window       10s
//
// With exponential backoff between restarts, an intensity only trips for a
// worker that fails fast: with the defaults, a worker that crashes as soon as
// it starts is restarted 5 times and given up on at its sixth failure, about
// 0.3s after the first (10+20+40+80+160ms of backoff), while a worker that
// fails every 30s restarts for ever.
//
// Intensity is a plain value, safe for concurrent use.
type Intensity struct {
	// MaxRestarts is the number of restarts allowed within Window.
	// Allowed: >= 0, or NoRestarts.
	MaxRestarts int
	// Window is the sliding period restarts are counted over. Allowed: >= 0.
	Window time.Duration
}

// WithDefaults returns in with every zero field replaced by its default.
func (in Intensity) WithDefaults() Intensity {
	if in.MaxRestarts == 0 {
		in.MaxRestarts = defaultMaxRestarts
	}
	if in.Window == 0 {
		in.Window = defaultIntensityWindow
	}
	return in
}

// Validate reports every field outside its allowed range as a *ConfigError
// (joined with errors.Join when there are several); it returns nil for a
// valid Intensity, including the zero value.
func (in Intensity) Validate() error {
	var errs []error
	if in.MaxRestarts < NoRestarts {
		errs = append(errs, configError("Intensity.MaxRestarts", in.MaxRestarts, ">= 0 (0 means the default), or NoRestarts (-1)"))
	}
	if err := checkNonNegative("Intensity.Window", in.Window); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// IntensityTracker applies an Intensity to a stream of restarts, one per
// worker or one per pool. It remembers at most MaxRestarts+1 restart times.
//
// An IntensityTracker is not safe for concurrent use: it belongs to one
// owner, such as the actor supervising the worker or the pool.
type IntensityTracker struct {
	max    int // restarts allowed within window; 0 for NoRestarts
	window time.Duration
	now    func() time.Time
	times  []time.Time // restart times within the window, oldest first
}

// NewIntensityTracker returns a tracker with no restarts recorded, or a
// *ConfigError if in is not valid. A nil now means time.Now.
func NewIntensityTracker(in Intensity, now func() time.Time) (*IntensityTracker, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	in = in.WithDefaults()
	if now == nil {
		now = time.Now
	}
	return &IntensityTracker{max: max(in.MaxRestarts, 0), window: in.Window, now: now}, nil
}

// Record records a restart now and reports whether the restarts within the
// window now number more than MaxRestarts. Once exceeded, Record keeps
// reporting true until enough old restarts have left the window, or Reset.
func (t *IntensityTracker) Record() (exceeded bool) {
	now := t.now()
	t.prune(now)
	if len(t.times) > t.max {
		// Only the newest max+1 times matter for the verdict.
		n := copy(t.times, t.times[1:])
		t.times = t.times[:n]
	}
	t.times = append(t.times, now)
	return len(t.times) > t.max
}

// Count returns the number of restarts recorded within the window, as of
// now (at most MaxRestarts+1).
func (t *IntensityTracker) Count() int {
	t.prune(t.now())
	return len(t.times)
}

// Exceeded reports whether the restarts within the window, as of now,
// number more than MaxRestarts, without recording one.
func (t *IntensityTracker) Exceeded() bool {
	return t.Count() > t.max
}

// Reset forgets every restart.
func (t *IntensityTracker) Reset() {
	t.times = t.times[:0]
}

// prune drops restart times that are Window or more before now.
func (t *IntensityTracker) prune(now time.Time) {
	i := 0
	for i < len(t.times) && now.Sub(t.times[i]) >= t.window {
		i++
	}
	if i > 0 {
		n := copy(t.times, t.times[i:])
		t.times = t.times[:n]
	}
}
