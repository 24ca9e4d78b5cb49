package actors

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/drover-go/drover/supervision"
)

// PoolConfig declares a pool of workers. Each zero field takes the default
// listed on it, one field at a time (within Restarts, Backoff, Scale, Health
// and Breaker too); the defaults and limits are the constants named there
// (see MaxPoolWorkers). WithDefaults shows the result.
type PoolConfig struct {
	// Name identifies the pool; required, unique within a node.
	Name string
	// Kind is the worker kind; the zero value is KindCPU.
	Kind Kind
	// Workers is the number of workers, 1 to MaxPoolWorkers; zero means
	// GOMAXPROCS for cpu and mixed, DefaultIOWorkers (4) for io and process.
	Workers int
	// MinWorkers and MaxWorkers make the pool dynamic when MaxWorkers is
	// set: it starts with Workers (default MinWorkers) and scales between
	// the bounds with its load, as Scale says. MinWorkers defaults to
	// DefaultMinWorkers (1); MaxWorkers is at most MaxPoolWorkers.
	// Without MaxWorkers the pool is fixed at Workers.
	MinWorkers, MaxWorkers int
	// Scale tunes a dynamic pool's autoscaler.
	Scale ScalePolicy
	// Concurrency is the number of tasks one worker runs at once, 1 to
	// MaxConcurrency; zero means DefaultCPUConcurrency (1) for cpu and
	// process, DefaultIOConcurrency (64) for io and DefaultMixedConcurrency
	// (4) for mixed.
	Concurrency int
	// Strategy names the router strategy (see router.Names); zero means
	// DefaultStrategy ("round-robin").
	Strategy string
	// Weights gives worker i the weight Weights[i] for the "weighted"
	// strategy (other strategies keep it and ignore it), each 1 to
	// MaxWeight; workers past the end of the list, and every worker without
	// Weights, weigh 1. Node.SetWorkerWeight and Node.Reconfigure change
	// them at run time.
	Weights []int
	// QueueCapacity bounds the number of queued tasks, 1 to
	// MaxQueueCapacity; zero means DefaultQueueCapacity (1024).
	QueueCapacity int
	// TaskTimeout is the default timeout of the pool's tasks; zero means none.
	TaskTimeout time.Duration
	// Restarts is each worker's restart budget: a worker that crashes more
	// often is stopped for good. A zero MaxRestarts means DefaultRestarts
	// (100) and a zero Window DefaultRestartsWindow (10s), not
	// supervision.Intensity's own defaults. A handler panic restarts the
	// worker at once and does not count: the runner recovered it and only
	// that task failed.
	Restarts supervision.Intensity
	// TotalRestarts bounds the restarts of all the pool's workers together,
	// as an Erlang/OTP supervisor's intensity does across its children: a
	// crash that would make more than MaxRestarts worker restarts within
	// Window fails the pool to the root instead, which restarts it within
	// PoolRestarts or gives it up. A zero MaxRestarts (the default) sets no
	// such bound, so only each worker's Restarts applies; a zero Window
	// with a MaxRestarts means supervision.Intensity's default (10s). Handler
	// panics do not count, as for Restarts.
	TotalRestarts supervision.Intensity
	// Scope says which workers a crash restarts: supervision.OneForOne (the
	// default: the crashed worker), AllForOne (every worker of the pool) or
	// RestForOne (the crashed worker and those started after it).
	Scope supervision.Scope
	// Decider maps a crash to a directive; nil restarts. Restart: the
	// worker restarts after its backoff, within Restarts. Stop: it stops for
	// good, even the last one (the pool then has no worker left and the
	// root decides, see PoolRestarts). Resume: it keeps its actor and gets
	// fresh runners at once, uncounted. Escalate: the whole pool fails to
	// the root, which restarts it within PoolRestarts or gives it up. A
	// handler panic reaches it as a *PanicError.
	Decider supervision.Decider
	// Backoff delays each restart of a crashed worker (not those after a
	// handler panic); the attempt count resets once a worker has stayed up
	// for StablePeriod. Each zero field takes supervision.Backoff's default:
	// Initial 10ms, Max 5s, Multiplier 2, Jitter 0.2 (NoJitter for none).
	Backoff supervision.Backoff
	// StablePeriod is how long a restarted worker must stay up for its
	// backoff to start again from Initial; zero means DefaultStablePeriod
	// (1s).
	StablePeriod time.Duration
	// Aging lifts a queued task by one priority level for every Aging it
	// has waited, so that a steady stream of high-priority work cannot
	// starve low priorities for ever. Zero means strict priority order.
	Aging time.Duration
	// Shed lets a task that finds the queue full displace the newest queued
	// task of the lowest priority below its own; the displaced task ends
	// with ErrShed. Without Shed (the default) a full queue refuses
	// (TrySubmit) or waits (Submit).
	Shed bool
	// StuckGrace is how long a handler may run past its task's deadline
	// before its worker counts as stuck: the worker leaves routing and is
	// replaced, and the handler's goroutine is abandoned (Go cannot stop a
	// goroutine). Zero means DefaultStuckGrace (1s), and for a process pool
	// 2*KillGrace + DefaultStuckGrace, so that the child is killed first.
	StuckGrace time.Duration
	// PoolRestarts is the pool's own budget: when every worker has
	// exceeded its restart budget the pool has failed, and the root restarts
	// it (all its workers, after the pool's Backoff) if the pool has failed
	// no more often than this; queued tasks wait for the restart. Past it,
	// or with MaxRestarts set to supervision.NoRestarts, the pool stops for
	// good: its queued tasks and new submissions fail with ErrWorkerCrashed.
	// A zero MaxRestarts means DefaultPoolRestarts (3) and a zero Window
	// DefaultPoolRestartsWindow (1 minute).
	PoolRestarts supervision.Intensity
	// Health, when set, probes every worker each Health.Interval; a worker
	// that fails Health.FailureThreshold probes in a row is unhealthy: it
	// leaves routing and restarts. Zero fields take supervision's defaults.
	Health *supervision.HealthPolicy
	// HealthCheck, when set with Health, is run by each probe (off the
	// worker's task goroutines, with a context that ends at Health.Timeout);
	// an error fails the probe. Without it a probe checks that the worker's
	// actor (and a process worker's child) answers.
	HealthCheck func(ctx context.Context, worker string) error
	// Breaker, when set, gives the pool a circuit breaker, and one per task
	// type: while one is open, Submit refuses the pool's (or the type's)
	// tasks at once with ErrCircuitOpen. For a type's breaker, a handler
	// error, a panic, a timeout or a crashed worker is a failure; a task
	// that did not run or was cut short from outside (canceled, shed,
	// refused, shutting down) counts for nothing, and a refused half-open
	// trial frees its slot. By default the pool's breaker counts only
	// crashed and stuck workers as failures, so one failing type does not
	// get the others refused; BreakerScope says so, and can make every
	// result count for the pool's breaker too.
	Breaker *supervision.BreakerConfig
	// BreakerScope says which results count for the pool's own breaker
	// (see Breaker): BreakerPoolFaults (the zero value) or
	// BreakerAllResults. It has no effect without Breaker.
	BreakerScope BreakerScope
	// QuarantineAfter is the number of worker crashes (handler panics
	// included) a task with an ID may cause before that ID is quarantined:
	// refused at Submit and never retried. Zero means DefaultQuarantineAfter
	// (3); NoQuarantine turns it off.
	QuarantineAfter int
	// Retry is the retry policy of the pool's tasks that have none of
	// their own (Task.Retry.MaxAttempts 0): a handler error marked
	// Transient runs the task again, up to MaxAttempts runs in all. The
	// zero value retries nothing.
	Retry RetryPolicy
	// Process configures the child processes of a KindProcess pool; it is
	// required for that kind and ignored for the others.
	Process *ProcessConfig
}

// NoQuarantine, as PoolConfig.QuarantineAfter, never quarantines a task.
const NoQuarantine = -1

// WithDefaults returns c with each zero field set to its default, as
// NewNode does before it checks c: the defaults listed on PoolConfig's
// fields, those of ScalePolicy and ProcessConfig, and supervision's for
// Backoff, Health and Breaker. A field given stays as it is, even when it
// is out of range.
func (c PoolConfig) WithDefaults() PoolConfig {
	procs := runtime.GOMAXPROCS(0)
	if c.Kind == KindProcess && c.Process != nil {
		pc := c.Process.withDefaults()
		c.Process = &pc
	}
	if c.MaxWorkers > 0 && c.MinWorkers == 0 {
		c.MinWorkers = DefaultMinWorkers
	}
	if c.Workers == 0 && c.MaxWorkers > 0 {
		c.Workers = c.MinWorkers
	}
	if c.Workers == 0 {
		switch c.Kind {
		case KindIO, KindProcess:
			c.Workers = DefaultIOWorkers
		default:
			c.Workers = procs
		}
	}
	if c.MaxWorkers == 0 {
		c.MinWorkers, c.MaxWorkers = c.Workers, c.Workers
	}
	c.Scale = c.Scale.withDefaults()
	if c.Concurrency == 0 {
		switch c.Kind {
		case KindIO:
			c.Concurrency = DefaultIOConcurrency
		case KindMixed:
			c.Concurrency = DefaultMixedConcurrency
		default:
			c.Concurrency = DefaultCPUConcurrency
		}
	}
	if c.Strategy == "" {
		c.Strategy = DefaultStrategy
	}
	if c.QueueCapacity == 0 {
		c.QueueCapacity = DefaultQueueCapacity
	}
	c.Restarts = intensityOr(c.Restarts, DefaultRestarts, DefaultRestartsWindow)
	c.PoolRestarts = intensityOr(c.PoolRestarts, DefaultPoolRestarts, DefaultPoolRestartsWindow)
	if c.TotalRestarts.MaxRestarts != 0 {
		c.TotalRestarts = c.TotalRestarts.WithDefaults()
	}
	c.Backoff = c.Backoff.WithDefaults()
	if c.StablePeriod == 0 {
		c.StablePeriod = DefaultStablePeriod
	}
	if c.QuarantineAfter == 0 {
		c.QuarantineAfter = DefaultQuarantineAfter
	}
	if c.Health != nil {
		h := c.Health.WithDefaults()
		c.Health = &h
	}
	if c.Breaker != nil {
		b := c.Breaker.WithDefaults()
		c.Breaker = &b
	}
	if c.StuckGrace == 0 {
		c.StuckGrace = DefaultStuckGrace
		if c.Kind == KindProcess && c.Process != nil && c.Process.KillGrace > 0 {
			// Let the backend's own cancel, SIGTERM, SIGKILL sequence run first.
			c.StuckGrace = 2*c.Process.KillGrace + DefaultStuckGrace
		}
	}
	return c
}

// withDefaults is WithDefaults, for the package's own callers.
func (c PoolConfig) withDefaults() PoolConfig { return c.WithDefaults() }

// intensityOr returns in with a zero MaxRestarts set to maxRestarts and a
// zero Window set to window: a pool's budgets have defaults of their own.
func intensityOr(in supervision.Intensity, maxRestarts int, window time.Duration) supervision.Intensity {
	if in.MaxRestarts == 0 {
		in.MaxRestarts = maxRestarts
	}
	if in.Window == 0 {
		in.Window = window
	}
	return in
}

// Validate reports whether NewNode and Node.Reconfigure would take c: it
// checks c with its defaults filled in, and returns the error they would,
// wrapping ErrInvalidConfig and naming the field and its allowed range.
func (c PoolConfig) Validate() error { return c.WithDefaults().validate() }

func (c PoolConfig) validate() error {
	field := func(name string) string { return fmt.Sprintf("pool %q: %s", c.Name, name) }
	switch {
	case c.Name == "":
		return configError("PoolConfig.Name", "is empty; a pool needs a name")
	case !c.Kind.valid():
		return configError(field("Kind"), "is %d; allowed: cpu, io, mixed, process", c.Kind)
	case c.Kind == KindProcess && c.Process == nil:
		return configError(field("Process"), "is missing; a process pool needs a command")
	case c.Workers < 1 || c.Workers > MaxPoolWorkers:
		return configError(field("Workers"), "is %d; allowed: 1 to %d", c.Workers, MaxPoolWorkers)
	case c.MaxWorkers > MaxPoolWorkers:
		return configError(field("MaxWorkers"), "is %d; allowed: 0 (a fixed pool) to %d", c.MaxWorkers, MaxPoolWorkers)
	case c.MinWorkers < 1 || c.MinWorkers > c.MaxWorkers:
		return configError(field("MinWorkers"), "is %d; allowed: 1 to MaxWorkers (%d)", c.MinWorkers, c.MaxWorkers)
	case c.Workers < c.MinWorkers || c.Workers > c.MaxWorkers:
		return configError(field("Workers"), "is %d; allowed: MinWorkers (%d) to MaxWorkers (%d)", c.Workers, c.MinWorkers, c.MaxWorkers)
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return configError(field("Concurrency"), "is %d; allowed: 1 to %d", c.Concurrency, MaxConcurrency)
	case len(c.Weights) > MaxPoolWorkers:
		return configError(field("Weights"), "has %d entries; allowed: at most %d", len(c.Weights), MaxPoolWorkers)
	case c.QueueCapacity < 1 || c.QueueCapacity > MaxQueueCapacity:
		return configError(field("QueueCapacity"), "is %d; allowed: 1 to %d", c.QueueCapacity, MaxQueueCapacity)
	case c.TaskTimeout < 0:
		return configError(field("TaskTimeout"), "is %s; allowed: 0 (none) or more", c.TaskTimeout)
	case c.QuarantineAfter < NoQuarantine:
		return configError(field("QuarantineAfter"), "is %d; allowed: 1 or more, 0 (default %d) or NoQuarantine (-1)", c.QuarantineAfter, DefaultQuarantineAfter)
	case c.Aging < 0:
		return configError(field("Aging"), "is %s; allowed: 0 (strict priority) or more", c.Aging)
	case c.StuckGrace < 0:
		return configError(field("StuckGrace"), "is %s; allowed: 0 (default) or more", c.StuckGrace)
	case c.MaxWorkers > c.MinWorkers && c.Scale.validate(field) != nil:
		return c.Scale.validate(field)
	case !c.BreakerScope.valid():
		return configError(field("BreakerScope"), "is %d; allowed: BreakerPoolFaults (0) or BreakerAllResults (1)", c.BreakerScope)
	case c.StablePeriod < 0:
		return configError(field("StablePeriod"), "is %s; allowed: 0 (default) or more", c.StablePeriod)
	}
	if c.Retry.MaxAttempts < 0 || c.Retry.MaxAttempts > MaxRetryAttempts {
		return configError(field("Retry.MaxAttempts"), "is %d; allowed: 0 or 1 (no retry) to %d", c.Retry.MaxAttempts, MaxRetryAttempts)
	}
	if err := c.Retry.Backoff.Validate(); err != nil {
		return fmt.Errorf("%w: pool %q: Retry: %w", ErrInvalidConfig, c.Name, err)
	}
	for i, w := range c.Weights {
		if w < 1 || w > MaxWeight {
			return configError(field(fmt.Sprintf("Weights[%d]", i)), "is %d; allowed: 1 to %d", w, MaxWeight)
		}
	}
	if err := c.Backoff.Validate(); err != nil {
		return fmt.Errorf("%w: pool %q: %w", ErrInvalidConfig, c.Name, err)
	}
	if c.Health != nil {
		if err := c.Health.Validate(); err != nil {
			return fmt.Errorf("%w: pool %q: Health: %w", ErrInvalidConfig, c.Name, err)
		}
	}
	if c.Breaker != nil {
		if err := c.Breaker.Validate(); err != nil {
			return fmt.Errorf("%w: pool %q: Breaker: %w", ErrInvalidConfig, c.Name, err)
		}
	}
	if err := c.PoolRestarts.Validate(); err != nil {
		return fmt.Errorf("%w: pool %q: PoolRestarts: %w", ErrInvalidConfig, c.Name, err)
	}
	if err := c.Restarts.Validate(); err != nil {
		return fmt.Errorf("%w: pool %q: Restarts: %w", ErrInvalidConfig, c.Name, err)
	}
	if err := c.TotalRestarts.Validate(); err != nil {
		return fmt.Errorf("%w: pool %q: TotalRestarts: %w", ErrInvalidConfig, c.Name, err)
	}
	if c.Kind == KindProcess {
		return c.Process.validate(field("Process"))
	}
	return nil
}
