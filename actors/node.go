package actors

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/metric"

	"github.com/drover-go/drover/router"
	"github.com/drover-go/drover/supervision"
)

// Option configures a Node.
type Option func(*config) error

type config struct {
	name       string
	pools      []PoolConfig
	handlers   map[string]Handler
	logger     hclog.Logger
	system     *actor.ActorSystem
	maxPayload int
	stopGrace  time.Duration
	startWait  time.Duration
	hook       supervision.EventHook
	meters     metric.MeterProvider
	limits     *ResourceLimits
	sampler    func() ResourceSample
	ticks      <-chan time.Time
}

// Defaults of NewNode.
const (
	DefaultName       = "drover"
	DefaultMaxPayload = 4 << 20
	DefaultStopGrace  = 2 * time.Second
	defaultStartWait  = 10 * time.Second
)

// WithName names the node; its root actor is spawned under this name. The
// default is "drover". Two nodes on one actor system need different names.
func WithName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return configError("WithName", "is empty; a node needs a name")
		}
		c.name = name
		return nil
	}
}

// WithPool declares a pool. Pools are started in the order declared; the
// first one is the node's default pool.
func WithPool(p PoolConfig) Option {
	return func(c *config) error {
		c.pools = append(c.pools, p)
		return nil
	}
}

// WithHandler registers a handler for a task type, as Node.Handle does.
func WithHandler(taskType string, h Handler) Option {
	return func(c *config) error {
		if taskType == "" || h == nil {
			return configError("WithHandler", "needs a task type and a handler")
		}
		c.handlers[taskType] = h
		return nil
	}
}

// WithLogger sets the logger for the node and for protoactor's own logs
// (protoactor's Info becomes Debug). The default discards everything.
func WithLogger(l hclog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithEventHook calls h with every event of the node: worker state
// changes, failures, restarts, stuck and unhealthy workers, pool failures,
// breaker transitions, quarantined tasks. A node has one hook, set here by
// its owner; any number of other readers take the same events from
// Node.Subscribe. Events are delivered in order on
// one goroutine of the node, also to the actor system's event stream; h may
// call the node (Shutdown included: it does not wait for the hook), and
// should be quick: while it blocks, events queue (up to
// 4096, then they are dropped and counted in NodeStats.DroppedEvents).
func WithEventHook(h supervision.EventHook) Option {
	return func(c *config) error {
		c.hook = h
		return nil
	}
}

// WithProtoactorMetrics turns on protoactor's own actor metrics (spawns,
// restarts, failures, mailbox lengths) in the actor system the node creates.
// protoactor records them through OpenTelemetry's global meter, whatever
// provider it is given, so a program that wants them must also make
// provider the global one (otel.SetMeterProvider): a choice for the
// program's edge (drover run --protoactor-metrics does it), never the
// library's. It has no effect with WithActorSystem.
func WithProtoactorMetrics(provider metric.MeterProvider) Option {
	return func(c *config) error {
		if provider == nil {
			return configError("WithProtoactorMetrics", "is nil")
		}
		c.meters = provider
		return nil
	}
}

// WithActorSystem runs the node on an actor system the caller owns, instead
// of one of its own. Shutdown then stops the node's actors and leaves the
// system running.
func WithActorSystem(sys *actor.ActorSystem) Option {
	return func(c *config) error {
		if sys == nil {
			return configError("WithActorSystem", "is nil")
		}
		c.system = sys
		return nil
	}
}

// WithMaxPayload bounds the size of a task's payload, in bytes; the
// default is DefaultMaxPayload (4 MiB).
func WithMaxPayload(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return configError("WithMaxPayload", "is %d; allowed: 1 or more", n)
		}
		c.maxPayload = n
		return nil
	}
}

// WithStopGrace sets how long Shutdown waits, once its context has ended,
// for handlers to return after their contexts are canceled; the default is
// DefaultStopGrace. Handlers still running then are abandoned and counted.
func WithStopGrace(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return configError("WithStopGrace", "is %s; allowed: 0 or more", d)
		}
		c.stopGrace = d
		return nil
	}
}

// Node is a running Drover node: a root supervisor actor, one supervisor
// actor per pool, and the pools' workers. All its methods are safe for
// concurrent use.
type Node struct {
	name       string
	epoch      time.Time // origin of clock
	system     *actor.ActorSystem
	ownSystem  bool
	logger     hclog.Logger
	maxPayload int
	stopGrace  time.Duration
	hook       supervision.EventHook

	root   *actor.PID
	pools  []*pool
	byName map[string]*pool
	ready  chan struct{}
	// up closes once every worker a pool starts with has started once.
	up        chan struct{}
	upPending atomic.Int64
	stopped   chan struct{}

	handlers atomic.Pointer[map[string]Handler]
	handleMu sync.Mutex // serializes Handle's copy-on-write

	events     chan supervision.Event
	stopEvents chan struct{}
	eventsDone chan struct{}
	dropped    atomic.Uint64
	subscribers

	pressure    atomic.Int32
	memory      atomic.Uint64
	cpuPermille atomic.Int64
	// The resource monitor: limits is what it enforces (SetResourceLimits
	// replaces it); monMu guards starting and stopping it.
	limits     atomic.Pointer[ResourceLimits]
	monMu      sync.Mutex
	monSample  func() ResourceSample
	monTicks   <-chan time.Time
	monStopped bool
	stopMon    chan struct{}
	monDone    chan struct{}

	closing     atomic.Bool
	shutStarted atomic.Bool
	shutDone    chan struct{} // closed once report and shutErr are final
	report      ShutdownReport
	shutErr     error
	// dispatcherID is the event dispatcher's goroutine id; hookWaits is set
	// when the hook calls Shutdown, which then must not wait for it.
	dispatcherID atomic.Uint64
	hookWaits    atomic.Bool
	hookCalled   chan struct{}
}

// NewNode starts a node. Without options it has one pool, "default", of
// KindCPU workers, and discards its logs. Defaults: name "drover", payloads
// up to 4 MiB, a stop grace of 2 s, and the PoolConfig defaults listed on
// its fields. It returns once every pool's supervisor is running; workers
// take tasks as soon as they start.
func NewNode(opts ...Option) (*Node, error) {
	c := &config{
		name:       DefaultName,
		handlers:   map[string]Handler{},
		maxPayload: DefaultMaxPayload,
		stopGrace:  DefaultStopGrace,
		startWait:  defaultStartWait,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if len(c.pools) == 0 {
		c.pools = []PoolConfig{{Name: "default"}}
	}
	if c.logger == nil {
		c.logger = hclog.NewNullLogger()
	}
	n := &Node{
		name:       c.name,
		epoch:      time.Now(),
		logger:     c.logger,
		maxPayload: c.maxPayload,
		stopGrace:  c.stopGrace,
		hook:       c.hook,
		byName:     map[string]*pool{},
		ready:      make(chan struct{}),
		up:         make(chan struct{}),
		stopped:    make(chan struct{}),
		events:     make(chan supervision.Event, eventBuffer),
		stopEvents: make(chan struct{}),
		eventsDone: make(chan struct{}),
		shutDone:   make(chan struct{}),
		hookCalled: make(chan struct{}),
	}
	handlers := c.handlers
	n.handlers.Store(&handlers)
	for _, pc := range c.pools {
		n.upPending.Add(int64(pc.withDefaults().Workers))
	}
	for _, pc := range c.pools {
		pc = pc.withDefaults()
		if err := pc.validate(); err != nil {
			return nil, err
		}
		if _, dup := n.byName[pc.Name]; dup {
			return nil, configError(fmt.Sprintf("pool %q: Name", pc.Name), "is used twice; pool names must be unique")
		}
		p, err := newPool(n, pc)
		if err != nil {
			return nil, err
		}
		n.pools = append(n.pools, p)
		n.byName[pc.Name] = p
	}

	n.system = c.system
	if n.system == nil {
		n.ownSystem = true
		sysOpts := []actor.ConfigOption{actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(NewSlogHandler(n.logger.Named("protoactor"), WithDemoteInfo()))
		})}
		if c.meters != nil {
			sysOpts = append(sysOpts, actor.WithMetricProviders(c.meters))
		}
		n.system = actor.NewActorSystem(sysOpts...)
	}
	go n.dispatchEvents()
	n.monSample, n.monTicks = c.sampler, c.ticks
	if n.monSample == nil {
		n.monSample = n.sampleResources
	}
	if c.limits != nil {
		n.limits.Store(c.limits)
		n.startMonitor()
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &rootActor{n: n} },
		actor.WithSupervisor(rootStrategy{n: n}))
	root, err := n.system.Root.SpawnNamed(props, n.name)
	if err != nil {
		n.closeSystem()
		return nil, fmt.Errorf("%w: spawn root actor %q: %w", ErrInvalidConfig, n.name, err)
	}
	n.root = root
	select {
	case <-n.ready:
	case <-time.After(c.startWait):
		n.closeSystem()
		return nil, fmt.Errorf("drover: node %q did not start within %s", n.name, c.startWait)
	}
	n.logger.Debug("node started", "name", n.name, "pools", len(n.pools))
	return n, nil
}

// eventBuffer bounds the events waiting for the dispatcher; past it, events
// are dropped and counted (NodeStats.DroppedEvents).
const eventBuffer = 4096

// event queues an event for the dispatcher without blocking: it may be
// called with a pool's lock held.
func (n *Node) event(e supervision.Event) {
	select {
	case n.events <- e:
	default:
		n.dropped.Add(1)
	}
}

// dispatchEvents delivers events in order to the log, the subscriptions,
// the hook and the actor system's event stream, until the node has
// stopped; then it closes the subscriptions.
func (n *Node) dispatchEvents() {
	defer close(n.eventsDone)
	defer n.closeAll()
	n.dispatcherID.Store(goroutineID())
	deliver := func(e supervision.Event) {
		switch e.Kind() {
		case supervision.KindWorkerGaveUp, supervision.KindPoolFailed, supervision.KindTaskQuarantined:
			n.logger.Warn("supervision", "event", e.String())
		case supervision.KindWorkerStateChanged:
			n.logger.Trace("supervision", "event", e.String())
		default:
			n.logger.Debug("supervision", "event", e.String())
		}
		n.offer(e)
		if n.hook != nil {
			n.hook(e)
		}
		n.system.EventStream.Publish(e)
	}
	for {
		select {
		case e := <-n.events:
			deliver(e)
		case <-n.stopEvents:
			for {
				select {
				case e := <-n.events:
					deliver(e)
				default:
					return
				}
			}
		}
	}
}

// startMonitor starts the resource monitor unless it runs or has stopped.
func (n *Node) startMonitor() {
	n.monMu.Lock()
	defer n.monMu.Unlock()
	if n.stopMon != nil || n.monStopped {
		return
	}
	n.stopMon, n.monDone = make(chan struct{}), make(chan struct{})
	go n.monitor(n.monSample, n.monTicks, n.stopMon, n.monDone)
}

func (n *Node) stopMonitor() {
	n.monMu.Lock()
	defer n.monMu.Unlock()
	n.monStopped = true
	if n.stopMon != nil {
		close(n.stopMon)
		<-n.monDone
	}
}

// closeSystem ends what the node started besides its actors: handler
// contexts, the resource monitor, the event dispatcher and, if the node
// created it, the actor system.
func (n *Node) closeSystem() {
	for _, p := range n.pools {
		p.cancelRun()
	}
	n.stopMonitor()
	close(n.stopEvents)
	// Wait for the dispatcher to deliver what is left, unless the hook
	// itself waits in Shutdown: then the dispatcher ends once it returns.
	select {
	case <-n.eventsDone:
	case <-n.hookCalled:
	}
	if n.ownSystem {
		n.system.Shutdown()
	}
}

// Handle registers h for tasks of type taskType, replacing any handler it
// had. Tasks accepted before the call keep the handler they were accepted with.
func (n *Node) Handle(taskType string, h Handler) error {
	if taskType == "" || h == nil {
		return fmt.Errorf("%w: Handle needs a task type and a handler", ErrInvalidConfig)
	}
	n.handleMu.Lock()
	defer n.handleMu.Unlock()
	old := *n.handlers.Load()
	m := make(map[string]Handler, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[taskType] = h
	n.handlers.Store(&m)
	return nil
}

// System returns the actor system the node runs on.
func (n *Node) System() *actor.ActorSystem { return n.system }

// PoolPID returns the PID of a pool's supervisor actor. An actor can send
// it a *protos.TaskEnvelope with Request and receives a *protos.TaskResult,
// under the same one-result contract as Submit.
func (n *Node) PoolPID(name string) (*actor.PID, bool) {
	p, ok := n.byName[name]
	if !ok {
		return nil, false
	}
	return p.pid, true
}

// Submit accepts a task, waiting for room in its pool's queue until ctx
// ends. It returns a Future that receives the task's one result, or an
// error if the task was not accepted (a bad task, no handler, no pool,
// shutting down, or ctx ended while waiting for room, which wraps
// ErrQueueFull and ctx's error).
//
// ctx bounds the submission only: once Submit has returned a Future, ending
// ctx does not touch the task, so the usual
// "ctx, cancel := context.WithTimeout(...); defer cancel()" around Submit is
// harmless. To bind the task to a context for its whole life, set
// Task.Context; to cancel one task, call Future.Cancel.
func (n *Node) Submit(ctx context.Context, t Task) (*Future, error) {
	return n.accept(ctx, &t, true, nil, nil, 0)
}

// TrySubmit accepts a task if its pool's queue has room and returns
// ErrQueueFull at once if not. It never waits; bind the task to a request's
// context with Task.Context.
func (n *Node) TrySubmit(t Task) (*Future, error) {
	return n.accept(context.Background(), &t, false, nil, nil, 0)
}

// SubmitFunc is Submit for a Go closure run on the named pool ("" for the
// default pool): a local convenience.
func (n *Node) SubmitFunc(ctx context.Context, pool string, fn func(ctx context.Context) (any, error)) (*Future, error) {
	return n.accept(ctx, &Task{Pool: pool, Func: fn}, true, nil, nil, 0)
}

// accept admits t, the caller's own copy (prepare fills in defaults), to
// its pool. With a Submitter, the task's record is one of the Submitter's
// and its result goes to the Submitter's completions.
func (n *Node) accept(ctx context.Context, t *Task, wait bool, onDone func(Result), sub *Submitter, tag uint64) (*Future, error) {
	f, err := n.prepare(ctx, t, onDone, sub, tag)
	if err != nil {
		return nil, err
	}
	if err := f.pool.submit(ctx, f, wait); err != nil {
		n.unprepare(f)
		return nil, err
	}
	return f, nil
}

// acceptBatch admits tasks for a Submitter in order, a run of tasks for
// one pool at a time, and returns how many it admitted before the first
// refusal, and that refusal.
func (n *Node) acceptBatch(tasks []Task, tags []uint64, sub *Submitter) (int, error) {
	ctx := context.Background()
	run := make([]*Future, 0, len(tasks))
	accepted := 0
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		k, err := run[0].pool.submitBatch(run)
		accepted += k
		for _, f := range run[k:] {
			n.unprepare(f)
		}
		run = run[:0]
		return err
	}
	for i := range tasks {
		t := tasks[i] // prepare may fill in defaults: not in the caller's slice
		f, err := n.prepare(ctx, &t, nil, sub, tags[i])
		if err == nil && len(run) > 0 && run[0].pool != f.pool {
			if ferr := flush(); ferr != nil {
				n.unprepare(f)
				return accepted, ferr
			}
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return accepted, ferr
			}
			return accepted, err
		}
		run = append(run, f)
	}
	return accepted, flush()
}

// unprepare gives back what prepare took for a task its pool refused: the
// breakers' admission (it never ran) and a Submitter's record.
func (n *Node) unprepare(f *Future) {
	if t := f.breakerTicket(); t.set != nil {
		t.set.skip(t)
	}
	if f.lean != nil {
		f.lean.sub.unused(f)
	}
}

// prepare checks t for its pool and builds its record: everything of an
// admission but the pool's queue.
func (n *Node) prepare(ctx context.Context, t *Task, onDone func(Result), sub *Submitter, tag uint64) (*Future, error) {
	if n.closing.Load() {
		return nil, ErrShuttingDown
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	p, err := n.poolFor(t)
	if err != nil {
		return nil, err
	}
	var h Handler
	if p.cfg.Kind == KindProcess {
		if t.Func != nil {
			return nil, taskError("Func", "is set; pool %q runs OS processes, which take only registered task types", p.cfg.Name)
		}
		if t.Type == "" {
			return nil, taskError("Type", "is empty; a task for process pool %q needs a Type", p.cfg.Name)
		}
	} else if t.Func == nil {
		h = (*n.handlers.Load())[t.Type]
		if h == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoHandler, t.Type)
		}
	}
	if len(t.Payload) > n.maxPayload {
		return nil, taskError("Payload", "is %d bytes; allowed: at most %d", len(t.Payload), n.maxPayload)
	}
	if t.Retry.MaxAttempts == 0 {
		t.Retry = p.cfg.Retry // validated with the pool, and fixed while it runs
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCanceled, err)
	}
	if err := n.admit(t.Priority); err != nil {
		p.rejected.Add(1)
		return nil, err
	}
	if p.quarantined(t.ID) {
		return nil, fmt.Errorf("%w: %q crashed workers of pool %q %d times", ErrQuarantined, t.ID, p.cfg.Name, p.cfg.QuarantineAfter)
	}
	if sub != nil {
		if err := sub.admits(t); err != nil {
			return nil, err
		}
	}
	var bt breakerTicket
	brs := p.breakers.Load()
	if brs != nil {
		if bt, err = brs.allow(t.Type); err != nil {
			return nil, err
		}
	}
	var f *Future
	if sub != nil {
		f = sub.record(tag)
	} else {
		f = &Future{}
	}
	f.fn, f.handler, f.payload = t.Func, h, t.Payload
	if p.cfg.Kind == KindProcess {
		f.extra().typ = t.Type // the child runs it by type
	}
	f.pool, f.level = p, int8(t.Priority.level())
	timeout := t.Timeout
	if timeout == 0 {
		timeout = time.Duration(p.taskTimeout.Load())
	}
	if t.Timed || sampled() || timeout > 0 || p.aging.Load() > 0 {
		f.accepted = n.clock() // a zero accepted says the task is not timed
	}
	if t.Key != "" {
		f.extra().routeKey = t.Key
		f.x.key = router.Key(t.Key)
	}
	if timeout > 0 {
		f.extra().deadline = f.accepted + int64(timeout)
	}
	if t.Context != nil && t.Context.Done() != nil {
		f.extra().ctx = t.Context
	}
	if onDone == nil {
		onDone = t.OnResult
	}
	if onDone != nil {
		f.extra().onDone = onDone
	}
	if t.ID != "" {
		f.extra().id = t.ID
	}
	if t.Retry.MaxAttempts > 1 {
		f.extra().retry = t.Retry
	}
	if brs != nil {
		f.extra().breaker = bt
	}
	return f, nil
}

// MaxPayload returns the largest task payload the node accepts, in bytes
// (see WithMaxPayload).
func (n *Node) MaxPayload() int { return n.maxPayload }

func (n *Node) poolFor(t *Task) (*pool, error) {
	switch {
	case t.Pool != "":
		if p, ok := n.byName[t.Pool]; ok {
			return p, nil
		}
		return nil, fmt.Errorf("%w: %q", ErrNoPool, t.Pool)
	case t.HasKind:
		for _, p := range n.pools {
			if p.cfg.Kind == t.Kind {
				return p, nil
			}
		}
		return nil, fmt.Errorf("%w: no pool of kind %s", ErrNoPool, t.Kind)
	}
	return n.pools[0], nil
}

// ShutdownReport says how a Shutdown ended.
type ShutdownReport struct {
	// Drained counts tasks that got their result while the node drained.
	Drained uint64
	// Failed counts tasks failed with ErrShuttingDown at the deadline.
	Failed uint64
	// Abandoned counts handler goroutines still running after the stop
	// grace; Go cannot stop them.
	Abandoned int
	// Unstopped counts workers whose actor had not stopped within the stop
	// grace plus their kill grace (a process worker stuck in its stop).
	Unstopped int
}

// Shutdown stops the node: Submit returns ErrShuttingDown at once, queued
// and running tasks drain until ctx ends, then whatever remains gets an
// ErrShuttingDown result and running handlers see their contexts end. It
// stops every actor of the node and, if the node created its actor system,
// the system. It returns when all that is done, with a report; the error is
// ctx's if the drain did not finish in time. Calls after the first return
// the first call's outcome.
//
// Shutdown may be called from anywhere, the event hook included: called
// from the hook it does not wait for the hook's own goroutine, which ends
// once the hook returns. It returns within ctx's deadline plus the stop
// grace and the longest kill grace of the node's process pools.
//
// A handler or an OnResult callback that stops the node should call
// Shutdown on a goroutine of its own (go n.Shutdown(ctx)) and return.
// Called on the runner's own goroutine, Shutdown waits for that runner's
// task, which cannot end before Shutdown returns: the drain runs to ctx's
// deadline and fails the task, and the stop waits out the stop grace.
func (n *Node) Shutdown(ctx context.Context) (ShutdownReport, error) {
	if n.onDispatcher() && n.hookWaits.CompareAndSwap(false, true) {
		close(n.hookCalled)
	}
	if n.shutStarted.CompareAndSwap(false, true) {
		n.report, n.shutErr = n.shutdown(ctx)
		close(n.shutDone)
	} else {
		<-n.shutDone
	}
	return n.report, n.shutErr
}

func (n *Node) shutdown(ctx context.Context) (ShutdownReport, error) {
	n.closing.Store(true)
	// Every step is a message to a pool actor, the owner of the pool's
	// state, behind whatever its mailbox holds: envelopes sent before
	// Shutdown are answered first.
	for _, p := range n.pools {
		n.system.Root.Send(p.pid, drainPool{})
	}
	var drainErr error
	for _, p := range n.pools {
		select {
		case <-p.idle:
			continue
		case <-ctx.Done():
			drainErr = ctx.Err()
		}
		break
	}
	for _, p := range n.pools {
		n.system.Root.Send(p.pid, haltPool{fail: drainErr != nil})
	}
	// Workers stop within their kill grace (a process worker's child gets a
	// shutdown, SIGTERM and SIGKILL, KillGrace apart) and their runners
	// within the stop grace; past that the node stops waiting, says so, and
	// cancels the handlers' contexts.
	var rep ShutdownReport
	limit := time.NewTimer(n.stopGrace + n.killWait())
	defer limit.Stop()
	for _, p := range n.pools {
		select {
		case <-p.haltDone:
			continue
		case <-limit.C:
		}
		for _, p := range n.pools {
			select {
			case <-p.haltDone:
			default:
				rep.Unstopped += p.workersNotDead()
			}
		}
		n.logger.Warn("workers did not stop in time", "workers", rep.Unstopped)
		break
	}
	for _, p := range n.pools {
		p.stopRunners()
	}
	grace := time.NewTimer(n.stopGrace)
	defer grace.Stop()
	for _, p := range n.pools {
		select {
		case <-p.noRunner:
			continue
		case <-grace.C:
		}
		for _, p := range n.pools {
			p.cancelRun()
		}
		rep.Abandoned = n.runningHandlers()
		break
	}
	for _, p := range n.pools {
		rep.Drained += p.drained.Load()
		rep.Failed += p.shutFailed.Load()
	}
	n.closeSystem()
	close(n.stopped)
	n.logger.Debug("node stopped", "drained", rep.Drained, "failed", rep.Failed, "abandoned", rep.Abandoned)
	if drainErr != nil {
		return rep, fmt.Errorf("%w: drain ended early: %w", ErrShuttingDown, drainErr)
	}
	return rep, nil
}

// killWait is the longest a worker may take to stop: a process worker's
// child gets KillGrace to answer a shutdown and another before SIGKILL.
func (n *Node) killWait() time.Duration {
	wait := time.Second
	for _, p := range n.pools {
		if p.cfg.Process != nil {
			wait = max(wait, 2*p.cfg.Process.KillGrace+time.Second)
		}
	}
	return wait
}

func (n *Node) runningHandlers() int {
	total := 0
	for _, p := range n.pools {
		p.mu.Lock()
		total += p.inflight
		p.mu.Unlock()
		total += int(p.abandoned.Load())
	}
	return total
}

// CrashWorker makes worker index of the named pool crash as a worker does
// when it fails for real (not a contained handler panic): its supervisor
// restarts it after its backoff, within its restart budget. It is meant for
// chaos testing and for operators who need to recycle a worker; the tasks
// the worker is running still end with their own results.
func (n *Node) CrashWorker(pool string, index int) error {
	p, ok := n.byName[pool]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoPool, pool)
	}
	p.mu.Lock()
	if index < 0 || index >= len(p.workers) {
		last := len(p.workers) - 1
		p.mu.Unlock()
		return fmt.Errorf("%w: worker index is %d; allowed: 0 to %d", ErrInvalidTask, index, last)
	}
	w := p.workers[index]
	state, active := w.state, w.active
	p.mu.Unlock()
	if !state.live() || !active {
		return fmt.Errorf("%w: worker %s is %s", ErrWorkerCrashed, w.name, state)
	}
	// The pool actor takes the worker out of routing at once, then crashes
	// it; a request that finds it no longer live is dropped there.
	n.system.Root.Send(p.pid, crashWorker{w: w, err: fmt.Errorf("%w: %s crashed on request", ErrWorkerCrashed, w.name)})
	return nil
}

// SetWorkerWeight changes the weight of worker index of the named pool, for
// the "weighted" strategy (other strategies keep the weight and ignore it).
// It is safe to call at any time; a later Reconfigure sets every worker's
// weight from its PoolConfig.Weights again.
func (n *Node) SetWorkerWeight(pool string, index, weight int) error {
	p, ok := n.byName[pool]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoPool, pool)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if index < 0 || index >= len(p.workers) {
		return fmt.Errorf("%w: worker index is %d; allowed: 0 to %d", ErrInvalidConfig, index, len(p.workers)-1)
	}
	if err := p.strategy.SetWeight(index, weight); err != nil {
		return fmt.Errorf("%w: pool %q worker %d: %w", ErrInvalidConfig, pool, index, err)
	}
	p.workers[index].weight = weight
	return nil
}

// WaitReady blocks until every worker the node's pools start with has
// started once (a process worker's child has answered its handshake), or
// ctx ends. Tasks submitted before need not wait for it: they queue.
func (n *Node) WaitReady(ctx context.Context) error {
	select {
	case <-n.up:
		return nil
	default:
	}
	select {
	case <-n.up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// workerUp counts a worker's first start toward WaitReady.
func (n *Node) workerUp() {
	if n.upPending.Add(-1) == 0 {
		close(n.up)
	}
}

// Draining reports whether Shutdown has begun: the node refuses new tasks.
func (n *Node) Draining() bool { return n.closing.Load() }

// clock returns the node's monotonic clock in nanoseconds, always > 0: it
// reads only the monotonic clock, which is cheaper than time.Now.
func (n *Node) clock() int64 { return int64(time.Since(n.epoch)) + 1 }

// wallTime converts a node clock reading to a time.Time.
func (n *Node) wallTime(c int64) time.Time { return n.epoch.Add(time.Duration(c - 1)) }

// onDispatcher reports whether the caller runs on the event dispatcher's
// goroutine, that is inside the event hook.
func (n *Node) onDispatcher() bool {
	id := n.dispatcherID.Load()
	return id != 0 && id == goroutineID()
}

// goroutineID returns the calling goroutine's id, read from the header
// of its stack trace ("goroutine 42 [running]:"). Shutdown needs it once,
// to tell a call from the event hook, which must not wait for itself.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	var id uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// Done returns a channel that is closed once Shutdown has finished.
func (n *Node) Done() <-chan struct{} { return n.stopped }
