// Package supervision holds Drover's restart policy as plain values: how
// long to wait before a restart, how many restarts are too many, what to do
// with a failure and whom it affects, when to stop calling something that
// keeps failing, and when a worker counts as unhealthy. The runtime
// (package actors) applies these values. Time is injected: every type that
// depends on it takes a clock (and Strategy an after function), defaulting
// to time.Now (and time.AfterFunc, whose callbacks are the only goroutines
// this package causes).
//
// # Backoff
//
// Backoff is exponential backoff with a cap and jitter, as a pure function
// of the attempt number and a random number: Backoff.Next(attempt, rnd).
// Attempts counts a worker's consecutive failures and forgets them once the
// worker has stayed up for a stable period, which gives Next its attempt.
//
// # Restart intensity
//
// Intensity bounds restarts with Erlang/OTP's meaning: more than MaxRestarts
// within Window and the supervisor gives up. An IntensityTracker applies it
// to one worker or one pool.
//
// # Directives and scopes
//
// A Decider maps a failure to a Directive (Restart, Stop, Resume,
// Escalate); a Scope (OneForOne, AllForOne, RestForOne) says which workers a
// restart covers.
//
// # protoactor strategy
//
// NewStrategy puts the above together as an actor.SupervisorStrategy for
// protoactor: it restarts a failed child after its backoff delay (scheduled
// through an injected after function, not a sleep), stops a child that
// exceeds its restart intensity, and reports what it does as events.
//
// # Circuit breaker
//
// Breaker stops calls to something that keeps failing: closed, open, then
// half-open with a few trial calls, on an injected clock. Admit hands out a
// Ticket and Done takes it back with one of three outcomes: Succeeded,
// Failed, or Skipped for a call that never ran, which neither closes a
// half-open breaker nor clears the failure count. Results from a generation
// the breaker has left are ignored. While closed, Admit and Done cost an
// atomic load or two, cheap enough for the per-task path.
//
// # Health checks
//
// HealthPolicy says how often and how patiently to probe a worker, and how
// many failed probes make it unhealthy; HealthTracker keeps the count.
//
// # Events
//
// Event values (WorkerStarted, WorkerFailed, WorkerRestarted, WorkerGaveUp,
// WorkerStuck, WorkerUnhealthy, PoolFailed, BreakerStateChanged) are plain
// data for an EventHook: what a user may want to react to.
//
// # Configuration
//
// In every configuration value a zero field means its default, and each
// type's doc lists the defaults; WithDefaults returns the value with them
// filled in. Validate and the constructors report a field outside its
// range as a *ConfigError, which names the field and the allowed range and
// matches ErrInvalidConfig.
//
// # Concurrency
//
// Configuration values and events are immutable and safe to share. Breaker
// and Strategy are safe for concurrent use. Attempts, IntensityTracker and
// HealthTracker belong to one owner (an actor) and are not.
package supervision
