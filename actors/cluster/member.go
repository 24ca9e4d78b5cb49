package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/drover-go/drover/actors"
)

// Well-known ids of a member's processes, the same on every member.
const (
	// controlName is the control actor: load reports in, membership.
	controlName = "drover-cluster"
	// inboxName takes task batches from other members.
	inboxName = "drover-inbox"
	// collectorName, followed by "-" and the actor system's id, takes the
	// results of this member's tasks. The id makes it one process's: a
	// result for a process that died never reaches its successor at the
	// same address (task ids restart from 1 in each process).
	collectorName = "drover-results"
)

// Member is a Drover node that takes part in a cluster: an actors.Node on
// an actor system with protoactor's remote and cluster started, which
// reports its load to the other members, routes tasks to them, and runs
// theirs. All its methods are safe for concurrent use.
type Member struct {
	cfg      *config
	name     string
	sys      *actor.ActorSystem
	cl       *pcluster.Cluster
	provider provider
	node     *actors.Node
	health   net.Listener // automanaged's HTTP listener, nil for etcd

	incarnation  atomic.Pointer[string]
	incarnations atomic.Int64
	healthState  atomic.Pointer[healthState]

	ctl       *actor.PID
	collector *actor.PID
	inbox     *inbox
	self      *peer
	sub       *eventstream.Subscription
	tickStop  chan struct{}
	tickDone  chan struct{}

	routes  atomic.Pointer[routeTable]
	view    atomic.Pointer[viewState]
	pending *pending
	room    *room
	seq     atomic.Uint64
	closing atomic.Bool

	submitted, completed, failed, rejected atomic.Uint64
	rerouted, failedOver, lost, sentRemote atomic.Uint64
	joined, left                           atomic.Uint64

	shutOnce sync.Once
	shutErr  error
}

// NewMember starts a member: its actor system, protoactor's remote on the
// bind address and cluster with the chosen provider, then its node, then
// load reports to the other members. Without options it is a member alone
// on loopback (DefaultBind), in cluster DefaultClusterName, with the
// automanaged provider, without TLS, a node with actors' defaults,
// least-busy routing between members, a report every 200 ms (stale after
// ten), and up to 3 dispatches per task. It returns once the member takes
// tasks; other members appear as their reports come (see WaitPool).
func NewMember(opts ...Option) (*Member, error) {
	c := defaultConfig()
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	m := &Member{
		cfg:      c,
		pending:  newPending(),
		room:     newRoom(),
		tickStop: make(chan struct{}),
		tickDone: make(chan struct{}),
	}
	// The control actor may forget another member's relays as soon as the
	// provider starts; the inbox takes batches only once registered.
	m.inbox = newInbox(m)
	m.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(actors.NewSlogHandler(c.logger.Named("protoactor"), actors.WithDemoteInfo(),
			// The automanaged provider logs its own clean stop, and peers not
			// up yet while a cluster forms, as errors.
			// Its remote logs a connection to a member that went away (a
			// routine change of membership, which Drover reports as an
			// event) as errors too.
			actors.WithDemoteMessages("EndpointWriter lost connection", "EndpointWriter failed to connect",
				"EndpointWriter failed to create receive stream", "EndpointWriter failed to send connect request",
				"EndpointWriter failed to receive connect response")))
	}))
	ok := false
	defer func() {
		if !ok {
			m.abandon()
		}
	}()

	// The control actor and the subscription come first, so that no
	// topology or endpoint event of the start is missed.
	ctl, err := m.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newControl(m) }), controlName)
	if err != nil {
		return nil, fmt.Errorf("%w: spawn control actor: %w", ErrStart, err)
	}
	m.ctl = ctl
	m.sub = m.sys.EventStream.SubscribeWithPredicate(func(evt any) { m.sys.Root.Send(m.ctl, evt) }, func(evt any) bool {
		switch evt.(type) {
		case *pcluster.ClusterTopology, *remote.EndpointTerminatedEvent, *remote.EndpointConnectedEvent:
			return true
		}
		return false
	})

	if err := m.startCluster(); err != nil {
		return nil, err
	}
	if m.name = c.name; m.name == "" {
		m.name = m.sys.Address()
	}

	// The node takes the member's name, so that Result.Node names the
	// member for local tasks as for remote ones.
	nodeOpts := append([]actors.Option{actors.WithName(m.name), actors.WithLogger(c.logger.Named("node"))}, c.nodeOpts...)
	nodeOpts = append(nodeOpts, actors.WithActorSystem(m.sys))
	if m.node, err = actors.NewNode(nodeOpts...); err != nil {
		return nil, err
	}

	m.sys.ProcessRegistry.Add(&collector{m: m}, collectorName+"-"+m.sys.ID)
	m.collector = m.sys.NewLocalPID(collectorName + "-" + m.sys.ID)
	m.sys.ProcessRegistry.Add(m.inbox, inboxName)
	m.self = &peer{id: m.ID(), name: m.name, address: m.sys.Address(), self: true}

	if _, err := m.sys.Root.RequestFuture(m.ctl, &ready{}, 10*time.Second).Result(); err != nil {
		return nil, fmt.Errorf("%w: control actor: %w", ErrStart, err)
	}
	go m.tick()
	ok = true
	c.logger.Debug("member started", "name", m.name, "address", m.sys.Address(), "id", m.sys.ID)
	return m, nil
}

// startCluster starts protoactor's remote and cluster with Drover's
// provider (see provider.go).
func (m *Member) startCluster() (err error) {
	c := m.cfg
	switch p := c.provider.(type) {
	case Automanaged:
		// The health endpoint listens on the bind host rather than on
		// every interface, bound now: a busy port is an error here.
		ln, err := net.Listen("tcp", net.JoinHostPort(c.host, strconv.Itoa(p.Port)))
		if err != nil {
			return fmt.Errorf("%w: automanaged HTTP port: %w", ErrStart, err)
		}
		m.health = ln
		m.provider = newAutoProvider(m, ln, p)
	case Etcd:
		m.provider = newEtcdProvider(m, p)
	}
	rc := remote.Configure(c.host, c.port, c.remoteOptions()...)
	// A failed connection attempt blocks its endpoint writer 2 s per try;
	// one try is enough, the next message or report tries again.
	rc.MaxRetryCount = 1
	m.cl = pcluster.New(m.sys, pcluster.Configure(c.clusterName, m.provider, disthash.New(), rc))
	defer func() {
		// remote.Start panics on a busy port, the cluster on a provider error.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: on %s: %v", ErrStart, c.bind, r)
		}
	}()
	m.cl.StartMember()
	return nil
}

// setIncarnation records the member's current incarnation and tells the
// control actor, which puts it in the reports from then on.
func (m *Member) setIncarnation(id, why string) {
	m.incarnation.Store(&id)
	if n := m.incarnations.Add(1); n > 1 {
		m.cfg.logger.Debug("member rejoins as a new incarnation", "id", id, "reason", why)
	}
	m.sys.Root.Send(m.ctl, &incarnated{id: id, why: why})
}

// abandon undoes a start that failed half-way.
func (m *Member) abandon() {
	if m.sub != nil {
		m.sys.EventStream.Unsubscribe(m.sub)
	}
	if m.node != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = m.node.Shutdown(ctx)
		cancel()
	}
	if m.provider != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = m.provider.stop(ctx)
		cancel()
	}
	if m.cl != nil && m.cl.Remote != nil && m.sys.Address() != "nonhost" {
		m.cl.Remote.Shutdown(false)
	}
	if m.health != nil {
		_ = m.health.Close()
	}
	m.sys.Shutdown()
}

// tick asks the control actor to report and age the others' reports.
func (m *Member) tick() {
	defer close(m.tickDone)
	t := time.NewTicker(m.cfg.reportEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.sys.Root.Send(m.ctl, tick{})
		case <-m.tickStop:
			return
		}
	}
}

// Node returns the member's node, to register handlers (Node.Handle), read
// its stats or submit to it alone.
func (m *Member) Node() *actors.Node { return m.node }

// Name returns the member's name.
func (m *Member) Name() string { return m.name }

// ID returns the id of the member's current incarnation in the cluster,
// "<actor system id>.<n>": a new process has a new actor system id, and a
// member that was shut out of the cluster (dropped while it lived) joins
// again under the next n.
func (m *Member) ID() string {
	if id := m.incarnation.Load(); id != nil {
		return *id
	}
	return m.sys.ID
}

// Address returns the member's remote address, host:port.
func (m *Member) Address() string { return m.sys.Address() }

// System returns the member's actor system.
func (m *Member) System() *actor.ActorSystem { return m.sys }

// Shutdown leaves the cluster gracefully: the member refuses new tasks,
// tells the others it is leaving (they stop sending it work), waits until
// ctx ends for its tasks on other members, drains its node (tasks of other
// members included, whose results go back before the member disconnects),
// then stops its cluster membership, remote and actor system. Tasks still
// pending when ctx ends fail with actors.ErrShuttingDown. Calls after the
// first return the first call's outcome.
func (m *Member) Shutdown(ctx context.Context) error {
	m.shutOnce.Do(func() { m.shutErr = m.shutdown(ctx) })
	return m.shutErr
}

func (m *Member) shutdown(ctx context.Context) error {
	m.closing.Store(true)
	var errs []error
	if err := m.announceLeaving(ctx); err != nil {
		errs = append(errs, err)
	}
	// Own tasks on other members (and on the node) finish first.
	for m.pending.len() > 0 {
		ch := m.room.arm()
		if m.pending.len() == 0 {
			m.room.disarm()
			break
		}
		select {
		case <-ch:
			m.room.disarm()
			continue
		case <-ctx.Done():
			m.room.disarm()
		}
		for _, f := range m.pending.takeWhere(func(*call) bool { return true }) {
			m.release(f)
			f.finish(actors.Result{Err: fmt.Errorf("%w: member %s left before the task ended", actors.ErrShuttingDown, m.name)}, f.tg.peer.name)
		}
		break
	}
	if _, err := m.node.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	// Results of other members' tasks are on their way; make sure they
	// left before the remote stops.
	m.inbox.close(ctx)
	close(m.tickStop)
	<-m.tickDone
	m.sys.EventStream.Unsubscribe(m.sub)
	if _, err := m.sys.Root.RequestFuture(m.ctl, &stop{}, 5*time.Second).Result(); err != nil {
		errs = append(errs, fmt.Errorf("cluster: stop control actor: %w", err))
	}
	if err := m.provider.stop(ctx); err != nil {
		errs = append(errs, fmt.Errorf("cluster: provider: %w", err))
	}
	m.cl.Shutdown(false)
	if m.health != nil {
		_ = m.health.Close()
	}
	m.cfg.logger.Debug("member stopped", "name", m.name)
	return errors.Join(errs...)
}

// announceLeaving tells every other member that this one is leaving and
// waits (until ctx ends) for their answers, then for its pools' actors to
// have taken the tasks that came before the answers. From then on no task
// reaches the node without being refused, so the node's drain covers every
// task of the others it ever took.
func (m *Member) announceLeaving(ctx context.Context) error {
	wait := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = max(time.Until(d), time.Millisecond)
	}
	res, err := m.sys.Root.RequestFuture(m.ctl, &leaving{}, wait).Result()
	if err != nil {
		return fmt.Errorf("cluster: control actor: %w", err)
	}
	l := res.(*leaving)
	// A live member answers within a round trip. One that does not answer
	// within the stale bound is gone or stuck; a task of its that comes
	// later is refused (the node is draining) and placed elsewhere by its
	// sender.
	answer := min(wait, m.cfg.staleAfter)
	futures := make([]*actor.Future, 0, len(l.peers))
	for _, pid := range l.peers {
		futures = append(futures, m.sys.Root.RequestFuture(pid, l.report, answer))
	}
	for _, f := range futures {
		_ = f.Wait()
	}
	for _, pool := range m.node.Stats().Pools {
		if pid, ok := m.node.PoolPID(pool.Name); ok {
			_, _ = m.sys.Root.RequestFuture(pid, &actor.Touch{}, wait).Result()
		}
	}
	return nil
}

// Stats is a snapshot of a member's own counters: the tasks it accepted
// for the cluster (wherever they ran). Tasks with a Func run on the node
// alone and count in its stats (Node().Stats()), as do the other members'
// tasks that ran here.
type Stats struct {
	// Submitted counts accepted tasks; Rejected tasks refused at Submit.
	Submitted, Rejected uint64
	// Completed and Failed count terminal results.
	Completed, Failed uint64
	// SentRemote counts dispatches to other members.
	SentRemote uint64
	// Rerouted counts dispatches again after a member refused a task
	// without running it; FailedOver counts idempotent tasks dispatched
	// again after their member was lost; Lost counts tasks failed with
	// ErrMemberLost.
	Rerouted, FailedOver, Lost uint64
	// InFlight is the number of dispatches waiting for a result.
	InFlight int
	// Joined and Left count membership events (EventJoined, EventLeft)
	// seen by this member; Incarnations counts its own incarnations (1,
	// plus one per rejoin after it was shut out).
	Joined, Left uint64
	Incarnations int64
}

// Stats returns a snapshot of the member's counters.
func (m *Member) Stats() Stats {
	return Stats{
		Submitted:  m.submitted.Load(),
		Rejected:   m.rejected.Load(),
		Completed:  m.completed.Load(),
		Failed:     m.failed.Load(),
		SentRemote: m.sentRemote.Load(),
		Rerouted:   m.rerouted.Load(),
		FailedOver: m.failedOver.Load(),
		Lost:       m.lost.Load(),
		InFlight:   m.pending.len(),
		Joined:     m.joined.Load(),
		Left:       m.left.Load(),

		Incarnations: m.incarnations.Load(),
	}
}

func (m *Member) count(err error) {
	if err == nil {
		m.completed.Add(1)
		return
	}
	m.failed.Add(1)
	if errors.Is(err, ErrMemberLost) {
		m.lost.Add(1)
	}
}
