package actors

import (
	"time"

	"github.com/drover-go/drover/router"
)

// The defaults and limits of a pool, in one table. NewNode gives each zero
// field of a PoolConfig, ScalePolicy and ProcessConfig its default from
// here (one field at a time: setting one field never resets another), and
// refuses a field outside its limits with an error that names the field and
// the allowed range. Package actors/config reads its pool defaults and
// limits from here too.
//
// A pool's Backoff, Health and Breaker take supervision's defaults, listed
// on supervision.Backoff, HealthPolicy and BreakerConfig. Its two restart
// budgets are pool-specific: a bare supervision.Intensity defaults to 5
// restarts within 10s, while a pool's workers get DefaultRestarts within
// DefaultRestartsWindow and the pool itself DefaultPoolRestarts within
// DefaultPoolRestartsWindow.
const (
	// MaxPoolWorkers bounds PoolConfig.Workers, MinWorkers and MaxWorkers.
	MaxPoolWorkers = 1 << 16
	// MaxConcurrency bounds PoolConfig.Concurrency.
	MaxConcurrency = 1 << 16
	// MaxQueueCapacity bounds PoolConfig.QueueCapacity.
	MaxQueueCapacity = 1 << 26
	// MaxWeight bounds each of PoolConfig.Weights (router.MaxWeight).
	MaxWeight = router.MaxWeight

	// DefaultIOWorkers is the number of workers of an io or process pool.
	// A cpu or mixed pool has one per GOMAXPROCS.
	DefaultIOWorkers = 4
	// DefaultMinWorkers is the lower bound of a dynamic pool
	// (PoolConfig.MaxWorkers set).
	DefaultMinWorkers = 1

	// DefaultCPUConcurrency, DefaultIOConcurrency and DefaultMixedConcurrency
	// are the tasks one worker runs at once, by kind; a process pool's
	// workers take DefaultCPUConcurrency.
	DefaultCPUConcurrency   = 1
	DefaultIOConcurrency    = 64
	DefaultMixedConcurrency = 4

	// DefaultStrategy names the router strategy of a pool.
	DefaultStrategy = router.NameRoundRobin
	// DefaultQueueCapacity bounds the tasks a pool queues.
	DefaultQueueCapacity = 1024

	// DefaultRestarts and DefaultRestartsWindow are the defaults of
	// PoolConfig.Restarts, each worker's budget: MaxRestarts and Window.
	// The budget is generous because the backoff (10ms doubling up to 5s)
	// already slows a crashing worker down.
	DefaultRestarts       = 100
	DefaultRestartsWindow = 10 * time.Second
	// DefaultPoolRestarts and DefaultPoolRestartsWindow are the defaults of
	// PoolConfig.PoolRestarts, the pool's own budget: MaxRestarts and Window.
	DefaultPoolRestarts       = 3
	DefaultPoolRestartsWindow = time.Minute
	// DefaultStablePeriod is how long a restarted worker must stay up for
	// its backoff to start over (a bare supervision.Strategy waits 10s).
	DefaultStablePeriod = time.Second

	// DefaultQuarantineAfter is the number of worker crashes a task ID may
	// cause before it is quarantined.
	DefaultQuarantineAfter = 3
	// DefaultStuckGrace is how long a handler may run past its deadline
	// before its worker counts as stuck; a process pool's default is
	// 2*KillGrace + DefaultStuckGrace.
	DefaultStuckGrace = time.Second

	// The defaults of ScalePolicy's fields.
	DefaultScaleInterval        = 250 * time.Millisecond
	DefaultScaleUpUtilization   = 0.8
	DefaultScaleUpAfter         = 2
	DefaultScaleDownUtilization = 0.3
	DefaultScaleCooldown        = 5 * time.Second

	// DefaultResourceInterval is ResourceLimits.Interval's default, and
	// DefaultResourceWindowIntervals its Window's, in intervals.
	DefaultResourceInterval        = time.Second
	DefaultResourceWindowIntervals = 5

	// DefaultProcessStartTimeout bounds a child's start-up handshake.
	DefaultProcessStartTimeout = 10 * time.Second
	// DefaultProcessKillGrace is how long a child has to answer a cancel or
	// a shutdown before SIGTERM, and again before SIGKILL.
	DefaultProcessKillGrace = 2 * time.Second
)
