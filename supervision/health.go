package supervision

import (
	"errors"
	"time"
)

// Defaults for HealthPolicy fields left at zero.
const (
	defaultHealthInterval         = time.Second
	defaultHealthTimeout          = 500 * time.Millisecond
	defaultHealthFailureThreshold = 3
)

// HealthPolicy says how a worker's liveness is probed: a probe every
// Interval, each failing if not answered within Timeout, and the worker
// declared unhealthy after FailureThreshold consecutive failed probes.
//
// Each zero field means its default, whatever the other fields are:
//
//	Interval          1s
//	Timeout           500ms
//	FailureThreshold  3
//
// HealthPolicy is a plain value, safe for concurrent use.
type HealthPolicy struct {
	// Interval is the time between probes. Allowed: >= 0.
	Interval time.Duration
	// Timeout is how long a probe may take. Allowed: >= 0, and <= Interval
	// once defaults are applied, so that probes never overlap.
	Timeout time.Duration
	// FailureThreshold is the number of consecutive failed probes that
	// makes a worker unhealthy. Allowed: >= 0.
	FailureThreshold int
}

// WithDefaults returns p with every zero field replaced by its default.
func (p HealthPolicy) WithDefaults() HealthPolicy {
	if p.Interval == 0 {
		p.Interval = defaultHealthInterval
	}
	if p.Timeout == 0 {
		p.Timeout = defaultHealthTimeout
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = defaultHealthFailureThreshold
	}
	return p
}

// Validate reports every field outside its allowed range as a *ConfigError
// (joined with errors.Join when there are several); it returns nil for a
// valid HealthPolicy, including the zero value.
func (p HealthPolicy) Validate() error {
	errs := []error{
		checkNonNegative("HealthPolicy.Interval", p.Interval),
		checkNonNegative("HealthPolicy.Timeout", p.Timeout),
		checkNonNegativeInt("HealthPolicy.FailureThreshold", p.FailureThreshold),
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if d := p.WithDefaults(); d.Timeout > d.Interval {
		return configError("HealthPolicy.Timeout", d.Timeout, "<= Interval ("+d.Interval.String()+")")
	}
	return nil
}

// HealthTracker turns a worker's probe results into a verdict: unhealthy
// after FailureThreshold consecutive failures, healthy again at the first
// success. A new tracker is healthy.
//
// A HealthTracker is not safe for concurrent use: it belongs to one owner,
// such as the actor probing the worker.
type HealthTracker struct {
	threshold int
	failures  int
	unhealthy bool
}

// NewHealthTracker returns a healthy tracker for p, or a *ConfigError if p
// is not valid.
func NewHealthTracker(p HealthPolicy) (*HealthTracker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &HealthTracker{threshold: p.WithDefaults().FailureThreshold}, nil
}

// Observe records a probe result and reports whether this result made the
// worker unhealthy; it is true once per run of failures, at the
// FailureThreshold-th. A success clears the failures and makes the worker
// healthy.
func (h *HealthTracker) Observe(ok bool) (becameUnhealthy bool) {
	if ok {
		h.failures = 0
		h.unhealthy = false
		return false
	}
	h.failures++
	if !h.unhealthy && h.failures >= h.threshold {
		h.unhealthy = true
		return true
	}
	return false
}

// Healthy reports whether the worker is healthy.
func (h *HealthTracker) Healthy() bool { return !h.unhealthy }

// Failures returns the number of consecutive failed probes.
func (h *HealthTracker) Failures() int { return h.failures }
