// Package actors is Drover's runtime and public face: a node whose root
// supervisor actor runs pools of workers, and the Submit path that feeds them.
//
// # Nodes, pools and workers
//
// NewNode starts a node on a protoactor actor system (its own, or one the
// service owns: WithActorSystem). The root actor spawns one supervisor actor
// per pool (WithPool), which spawns the pool's workers and restarts them
// one-for-one when they crash. A worker is an actor for the control plane
// (start, restart, stop) and owns the goroutines that run its tasks, so the
// per-task path never waits on an actor's mailbox.
//
// Worker kinds: KindCPU (one task at a time per worker, GOMAXPROCS workers
// by default), KindIO (many tasks in flight per worker), KindMixed, and
// KindProcess (workers that are OS processes, see ProcessConfig). A pool
// picks the worker for each task with a router strategy (package router):
// round-robin by default, or weighted, least-busy, random, p2c,
// consistent-hash.
//
// # The task contract
//
// A task names a handler registered by type (WithHandler, Node.Handle) or
// carries a local Go closure (Task.Func), a pool or worker kind, a priority,
// an optional timeout and routing key, and a payload of bytes, so that it can
// cross process and node boundaries.
//
// Every accepted task gets exactly one terminal result on its Future:
// success, or an error that wraps one of the package's sentinels
// (ErrTimeout, ErrCanceled, ErrPanic, ErrWorkerCrashed, ErrShuttingDown, ...)
// or the handler's own error. A task that is refused is refused at Submit,
// with an error, and was never accepted.
//
// # Backpressure
//
// Every pool's queue is bounded (PoolConfig.QueueCapacity). Submit waits for
// room and honours its context; TrySubmit returns ErrQueueFull at once.
// Nothing spins and nothing polls. Within a pool, a task never starts while a
// task of a higher priority waits.
//
// # Faults, scaling and limits
//
// A crashed worker restarts after an exponential backoff within a restart
// budget (PoolConfig.Restarts, Backoff, Scope, Decider); a handler panic
// fails only its task (a *PanicError with the stack) and restarts the
// worker at once. A pool whose workers all exceed their budget fails and is
// restarted within PoolConfig.PoolRestarts. Health probes, circuit
// breakers, quarantine of task IDs that keep crashing workers, retries of
// errors marked with Transient, stuck-worker replacement (StuckGrace) and
// shedding (Shed) are options of PoolConfig and Task. Dynamic pools scale
// between MinWorkers and MaxWorkers (ScalePolicy); WithResourceLimits
// refuses work by priority over memory and CPU limits (ErrResource). Every
// such step is an event on WithEventHook.
//
// # Defaults
//
// Each zero field of a PoolConfig (and of its Restarts, Backoff, Scale,
// Health, Breaker and Process) takes its default on its own. The pool's
// defaults and limits are constants listed together (MaxPoolWorkers,
// MaxConcurrency, MaxQueueCapacity, DefaultQueueCapacity, DefaultRestarts,
// and so on); Backoff, Health and Breaker take supervision's defaults.
// PoolConfig.WithDefaults returns a configuration as a node runs it.
//
// # Shutdown
//
// Node.Shutdown stops admission, drains queued and running tasks until its
// context ends, fails what remains with ErrShuttingDown, stops every actor
// and returns a ShutdownReport. No goroutine of the node outlives it, except
// handlers that ignore their context (counted as Abandoned).
//
// # Embedding in actor services
//
// A service that already runs protoactor actors can send a
// *protos.TaskEnvelope to a pool's PID (Node.PoolPID) with Request and
// receives one *protos.TaskResult back.
//
// # Logging
//
// The node is silent unless given an hclog logger (WithLogger); protoactor's
// slog output goes to the same logger through NewSlogHandler, its routine Info
// demoted to Debug.
package actors
