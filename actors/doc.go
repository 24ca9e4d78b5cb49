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
// # The lean path
//
// Submit returns a *Future per task, a heap object the caller may keep as
// long as it likes. A caller that runs many tasks and only wants their
// results can use a Submitter (Node.NewSubmitter) instead: it keeps a window
// of task records and reuses each once its result is delivered and its
// runner has let it go, so that at steady state a task costs no heap object
// of Drover's. Results come back by value from Next, in the order tasks
// end, with the tag the caller gave Submit; exactly one per accepted task,
// as for Submit. Everything that may reach a record later (its runner, a
// deadline timer, a context watcher, a stuck check, a forced shutdown)
// holds it, and the record is reused only once every hold is released, so
// a late timer can never reach another task's record. The lean path takes
// every task but those with retries. ExampleSubmitter shows it.
//
// # Timings
//
// A task reads no clock unless it must: one with a timeout, or with
// Task.Timed, or about one in TimingSampleEvery of the others, which feed
// the pool's queue-wait and run-time histograms. The Result of an untimed
// task has zero Queued and Run. Tasks that arrive over the wire (the task
// API, a cluster member, an envelope to a pool's PID) are Timed, so their
// results carry their timings back.
//
// # Faults, scaling and limits
//
// A crashed worker restarts after an exponential backoff within a restart
// budget (PoolConfig.Restarts, Backoff, Scope, Decider); a handler panic
// fails only its task (a *PanicError with the stack) and restarts the
// worker at once. A pool whose workers all exceed their budget, or whose
// workers together restart more often than PoolConfig.TotalRestarts (an
// OTP supervisor's intensity), fails and is restarted within
// PoolConfig.PoolRestarts. Health probes, circuit
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
// # Lifecycle: one owner, one state
//
// Each pool's actor is the only writer of the pool's lifecycle: the pool's
// PoolState and every worker's lifecycle state, PID, incarnation and restart
// count. Every path that changes them (a runner's crash, CrashWorker, a
// stuck handler, a failed health verdict, a scale step, a supervision
// directive, Shutdown) is a message to that actor, which applies it in
// order; a message meant for an earlier incarnation of a worker is
// dropped. The data plane (Submit, the queue, dispatch) holds the pool's
// lock only over the queue, the in-flight list, the waiters and the
// router, and flips a live worker between idle and busy as its load
// changes. The states and their moves:
//
//	Degraded   -> Running     every active worker is live
//	Running    -> Degraded    a worker left routing (crash, restart, probe)
//	Running,
//	Degraded   -> Restarting  no worker left, or a worker escalated: the
//	                          root's supervision decides
//	Restarting -> Degraded    the root restarted the pool: fresh workers
//	Restarting -> Failed      the root gave the pool up
//	any        -> Draining    Shutdown began
//	Draining   -> Halted      every worker has stopped
//
// Each move is a supervision.PoolStateChanged event; PoolStats.State is the
// current one.
//
// # One restart mechanism
//
// Restarts at both levels go through supervision.Strategy. Workers are
// supervised by their pool (PoolConfig.Restarts, Backoff, Scope, Decider):
// a crashed worker leaves routing at once and restarts after its backoff;
// Stop stops it for good (even the last one); Resume gives it fresh
// runners at once; Escalate fails the whole pool to the root. Pools are
// supervised by the root with the same Strategy (PoolConfig.PoolRestarts as
// its intensity, the pool's Backoff): a pool with no worker left, or to
// which a worker escalated, is restarted cleanly (every worker stopped,
// then spawned afresh) or, past its budget, given up (PoolFailed state:
// its tasks fail with ErrWorkerCrashed). Past the node there is no
// supervisor: a supervision.PoolFailed event with Escalated set tells the
// embedding service. A handler panic fails only its task and restarts the
// worker at once, without backoff and without counting toward Restarts;
// a worker lost to its task (a crash, a stuck handler) counts toward the
// task's quarantine.
//
// Timers (task deadlines, retries, stuck checks, restart delays, probes,
// scale ticks) belong to their pool and stop when it halts.
//
// # Contexts
//
// Submit's context bounds the submission only: the wait for room in the
// queue. Once Submit has returned a Future, ending that context does not
// touch the task, so "defer cancel()" after an accepted Submit is harmless.
// To bind a task to a context for its whole life (a request's, say), set
// Task.Context; TrySubmit, which never waits, honours it too. Future.Cancel
// ends one task with ErrCanceled. This keeps the two meanings apart: how
// long the caller will wait to hand a task over, and how long the task
// itself is wanted.
//
// # Shutdown
//
// Node.Shutdown stops admission, drains queued and running tasks until its
// context ends, fails what remains with ErrShuttingDown, stops every worker
// and returns a ShutdownReport. Each step is a message to the pool actors,
// behind whatever their mailboxes hold, so that a task envelope sent before
// Shutdown is answered; the pool actors stay after Shutdown and answer
// later envelopes with ERROR_CODE_SHUTTING_DOWN. A pool waiting for its own
// restart, or with no worker live or on its way back, fails its queue at
// once instead of holding the drain. Shutdown may be called from anywhere,
// the event hook included, and returns within its context's deadline plus
// the stop grace and the longest process kill grace. No goroutine of the
// node outlives it, except handlers that ignore their context (counted as
// Abandoned).
//
// # Events
//
// Every supervision step is a typed event (package supervision). The node
// queues events without blocking the code that emits them (up to 4096;
// beyond, they are dropped and counted in NodeStats.DroppedEvents) and one
// dispatcher goroutine delivers them, in order, to the log, to each open
// Subscription, to the hook, and to the actor system's event stream. The
// hook (WithEventHook) belongs to the node's owner; any number of other
// readers, such as an admin dashboard, call Node.Subscribe: each
// subscription has a bounded buffer of its own, and a reader that falls
// behind loses events (counted by Subscription.Dropped) without slowing
// the node or the other readers. The dispatcher owns the set of
// subscriptions and closes them all when the node stops.
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
