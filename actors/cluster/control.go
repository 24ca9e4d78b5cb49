package cluster

import (
	"math"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/router"
)

// Messages of the control actor.
type (
	ready   struct{} // the node runs: build the routes (request)
	tick    struct{} // report, and age the others' reports
	leaving struct { // Shutdown began (request); the answer says whom to tell what
		report *protos.LoadReport
		peers  []*actor.PID
	}
	stop struct{} // Shutdown is about to stop the remote (request)
)

// peerState is what the control actor knows of the member at an address:
// the incarnation the topology names there, and the state of this
// member's connection to the address (which outlives incarnations of one
// process).
type peerState struct {
	address    string
	ctl        *actor.PID // the member's control actor
	memberID   string     // the incarnation the topology names; "" when none
	inTopology bool
	connected  bool // our remote connected to the address since its last loss
	report     *protos.LoadReport
	reportAt   time.Time
	lostAt     time.Time // when it was last counted lost for its silence
	cur        *peer     // the routable incarnation, nil when not routable
}

// control is the member's control actor: the one owner of membership,
// load reports and routes. It takes topology and endpoint events from the
// actor system's event stream, load reports from the other members, and
// ticks; it publishes the routes (routeTable) and the view as immutable
// snapshots for the per-task path and View.
type control struct {
	m           *Member
	selfID      string // this member's current incarnation
	peers       map[string]*peerState
	routes      map[string]*route
	selfReport  *protos.LoadReport
	defaultPool string
	seq         uint64
	nextRoutee  int
	ready       bool
	leaving     bool
	stopped     bool

	// Self-healing: see checkHealth.
	lastTick   time.Time // when the last tick came
	resumed    time.Time // when this member came back from a pause
	since      time.Time // when the current incarnation began
	suspect    time.Time // when every other member went silent; zero if not
	rejoinedAt time.Time
	shutOut    string // why this member counts itself shut out; "" if not
}

func newControl(m *Member) *control {
	return &control{m: m, peers: map[string]*peerState{}, routes: map[string]*route{}}
}

func (a *control) Receive(c actor.Context) {
	switch msg := c.Message().(type) {
	case *ready:
		a.ready = true
		a.selfReport = a.report()
		if len(a.selfReport.Pools) > 0 {
			a.defaultPool = a.selfReport.Pools[0].Name
		}
		a.sync()
		c.Respond(msg)
	case *incarnated:
		// A shut-out member stays shut out until a report comes: a new
		// incarnation is a way back in, not proof of one.
		a.selfID = msg.id
		a.since = a.m.cfg.now()
		if a.ready && !a.stopped {
			a.selfReport = a.report()
			a.selfReport.Leaving = a.leaving
			a.sync()
		}
	case *topology:
		a.onTopology(msg)
	case *probeAnswer:
		a.onProbeAnswer(msg)
	case tick:
		if a.stopped || !a.ready {
			return
		}
		a.checkHealth(c)
		a.selfReport = a.report()
		if a.leaving {
			a.selfReport.Leaving = true
		}
		a.broadcast(a.selfReport)
		a.sync()
	case *protos.LoadReport:
		a.onReport(msg)
		if msg.GetLeaving() && c.Sender() != nil {
			// The leaving member waits for this answer: it travels on the
			// same connection as the task batches sent before it, so once
			// it arrives the member has every task this member gave it.
			c.Respond(&protos.LoadReport{MemberId: a.selfID, Name: a.m.name, Address: a.m.sys.Address()})
		}
	case *remote.EndpointConnectedEvent:
		if a.stopped {
			return
		}
		ps := a.peer(msg.Address)
		ps.connected = true
		// Results for the address may wait for a batch that was lost
		// with the last connection: they go on this one.
		a.m.inbox.repost(msg.Address)
		a.sync()
	case *remote.EndpointTerminatedEvent:
		// The event names an address, not a process. It counts only when
		// this member's connection to the address was up: a connection
		// attempt that failed (to a process that died, say, while a new one
		// starts at its address) ends without ever connecting, and nothing
		// went to the new process over it.
		if ps := a.peers[msg.Address]; ps != nil && !a.stopped && ps.connected {
			// Its last report does not bring it back: a new connection to
			// the address may reach a new process there before the
			// topology names it. Only a report that comes after the loss
			// does (a process that died sends none).
			ps.connected, ps.lostAt = false, a.m.cfg.now()
			a.leave(ps, "lost its connection")
			a.sync()
		} else if !a.stopped {
			a.m.cfg.logger.Trace("endpoint terminated without a connection: ignored", "address", msg.Address)
		}
		if !a.stopped {
			// The batch of results on its way there may be lost with the
			// connection: send them again (to a new connection, when the
			// remote made one).
			a.m.inbox.repost(msg.Address)
		}
	case *leaving:
		a.leaving = true
		if a.ready {
			r := a.report()
			r.Leaving = true
			a.selfReport = r
			a.sync()
			msg.report = r
			// Only members this one reached can have sent it tasks; asking
			// the others would wait for an answer that cannot come.
			for _, ps := range a.peers {
				if ps.connected || ps.cur != nil {
					msg.peers = append(msg.peers, ps.ctl)
				}
			}
		}
		c.Respond(msg)
	case *stop:
		a.stopped = true
		for _, ps := range a.peers {
			a.leave(ps, "this member stopped")
		}
		c.Respond(msg)
	}
}

// peer returns the state of the member at addr, made on first use.
func (a *control) peer(addr string) *peerState {
	ps := a.peers[addr]
	if ps == nil {
		ps = &peerState{address: addr, ctl: actor.NewPID(addr, controlName)}
		a.peers[addr] = ps
	}
	return ps
}

// report makes this member's load report from its node's stats.
func (a *control) report() *protos.LoadReport {
	a.seq++
	st := a.m.node.Stats()
	r := &protos.LoadReport{
		MemberId: a.selfID,
		Name:     a.m.name,
		Address:  a.m.sys.Address(),
		Seq:      a.seq,
		Sent:     timestamppb.New(a.m.cfg.now()),
		Pools:    make([]*protos.PoolLoad, 0, len(st.Pools)),
	}
	for _, p := range st.Pools {
		queued := 0
		for _, d := range p.QueueDepth {
			queued += d
		}
		r.Pools = append(r.Pools, &protos.PoolLoad{
			Name:       p.Name,
			Kind:       protos.WorkerKind(p.Kind + 1),
			Workers:    saturate32(p.Workers),
			InFlight:   saturate32(p.InFlight),
			QueueDepth: saturate32(queued),
			Capacity:   saturate32(p.Workers*p.Concurrency + p.QueueCapacity),
		})
	}
	return r
}

// saturate32 converts a count for the wire, where it is 32 bits: a pool
// may hold more (its largest Workers times Concurrency is 2^32), and a
// count that wrapped would tell the cluster the pool was nearly full.
func saturate32(n int) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}

// broadcast sends a report to every member of the topology. A member that
// is not reachable yet gets it too: the send makes the remote connect,
// whose success (EndpointConnectedEvent) is half of joining.
func (a *control) broadcast(r *protos.LoadReport) {
	for _, ps := range a.peers {
		if ps.inTopology {
			a.m.sys.Root.Send(ps.ctl, r)
		}
	}
}

func (a *control) onReport(r *protos.LoadReport) {
	if a.stopped || r.GetAddress() == "" || r.GetAddress() == a.m.sys.Address() {
		return
	}
	ps := a.peer(r.GetAddress())
	if ps.memberID != "" && r.GetMemberId() != ps.memberID {
		// Another incarnation than the topology names at the address: a
		// late report of an old one (it never attaches to the new one), or
		// a new one the topology names soon.
		return
	}
	if old := ps.report; old != nil && old.GetMemberId() != r.GetMemberId() {
		// A new incarnation at the address: the old one is gone.
		a.leave(ps, "was replaced by a new incarnation at its address")
	}
	ps.report, ps.reportAt = r, a.m.cfg.now()
	a.sync()
	if p := ps.cur; r.GetLeaving() && p != nil && !p.saidLeft {
		// It takes no new tasks (sync dropped it from the routes) but
		// finishes those it has: they fail over only if its connection
		// ends first. Tasks picked for it from now on find its outbox
		// closed and go elsewhere.
		p.out.close()
		p.saidLeft = true
		a.m.cfg.logger.Debug("member leaving", "member", p.name, "address", p.address)
		a.event(EventLeft, p, "is leaving")
	}
}

func (a *control) onTopology(t *topology) {
	if a.stopped {
		return
	}
	self := a.m.sys.Address()
	// The newest incarnation at each address (a restarted process's key
	// and its predecessor's, until that one expires).
	newest := make(map[string]topoMember, len(t.members))
	for _, tm := range t.members {
		if tm.address == self {
			continue
		}
		if cur, ok := newest[tm.address]; !ok || tm.rev >= cur.rev {
			newest[tm.address] = tm
		}
	}
	for addr, tm := range newest {
		ps := a.peer(addr)
		if ps.memberID != tm.id {
			if ps.memberID != "" {
				a.leave(ps, "was replaced by a new incarnation at its address")
			}
			ps.memberID = tm.id
			if ps.report.GetMemberId() != tm.id {
				ps.report, ps.reportAt = nil, time.Time{}
			}
			ps.lostAt = time.Time{}
		}
		ps.inTopology = true
	}
	for addr, ps := range a.peers {
		if _, ok := newest[addr]; !ok && ps.inTopology {
			a.leave(ps, t.why)
			// The connection state stays: it belongs to the address, and
			// a member that comes back over a connection that never broke
			// (it was paused) sends no new connected event.
			ps.inTopology, ps.memberID, ps.report, ps.reportAt = false, "", nil, time.Time{}
			a.m.inbox.forget(addr)
		}
	}
	a.sync()
}

// routable reports whether another member may take tasks: the topology
// names it, this member's remote reached it (so it passed mTLS as a
// server), its report reached this member (so it passed as a client), and
// it is not leaving.
func (a *control) routable(ps *peerState) bool {
	return ps.inTopology && ps.connected && ps.report != nil && !ps.report.GetLeaving() && ps.reportAt.After(ps.lostAt)
}

// leave takes a member out of routing and fails over its tasks.
func (a *control) leave(ps *peerState, why string) {
	p := ps.cur
	if p == nil {
		return
	}
	ps.cur = nil
	p.lost.Store(true)
	for _, r := range a.routes {
		if _, ok := r.members[p]; ok {
			r.strategy.Remove(p.routee)
			delete(r.members, p)
			r.dirty = true
		}
	}
	a.publish()
	a.m.failPeer(p, why)
	p.out.discard()
	a.m.cfg.logger.Debug("member left", "member", p.name, "address", p.address, "reason", why)
	if !p.saidLeft {
		p.saidLeft = true
		a.event(EventLeft, p, why)
	}
}

// sync brings the routes in line with what the control actor knows: joins
// new members, adds and removes routees, and sets availability and weights
// from the reports.
func (a *control) sync() {
	now := a.m.cfg.now()
	for _, ps := range a.peers {
		if ps.cur == nil && a.routable(ps) {
			a.nextRoutee++
			p := &peer{
				id:      ps.report.GetMemberId(),
				name:    ps.report.GetName(),
				address: ps.address,
				routee:  a.nextRoutee,
				inbox:   actor.NewPID(ps.address, inboxName),
			}
			if p.name == "" {
				p.name = p.address
			}
			root, collector := a.m.sys.Root, a.m.collector
			p.out = newOutbox(func(tok remote.RootSerializable) { root.RequestWithCustomSender(p.inbox, tok, collector) },
				func(b []outTask) remote.RootSerialized { return taskBatch(b) }, outTaskSize)
			ps.cur = p
			a.m.cfg.logger.Debug("member joined", "member", p.name, "address", p.address)
			a.event(EventJoined, p, "")
		}
	}

	// Which peer has which pool, with what load.
	type load struct {
		p     *peer
		pl    *protos.PoolLoad
		fresh bool
	}
	want := map[string][]load{}
	if a.ready && !a.leaving {
		for _, pl := range a.selfReport.GetPools() {
			want[pl.GetName()] = append(want[pl.GetName()], load{a.m.self, pl, true})
		}
	}
	for _, ps := range a.peers {
		if ps.cur == nil || ps.report.GetLeaving() {
			continue
		}
		fresh := now.Sub(a.heard(ps)) <= a.m.cfg.staleAfter
		for _, pl := range ps.report.GetPools() {
			want[pl.GetName()] = append(want[pl.GetName()], load{ps.cur, pl, fresh})
		}
	}
	for name, loads := range want {
		r := a.routes[name]
		if r == nil {
			s, _ := router.New(a.m.cfg.strategy) // validated by WithStrategy
			r = &route{pool: name, strategy: s, members: map[*peer]int{}}
			a.routes[name] = r
		}
		r.kind = kindOf(loads[0].pl)
		for _, l := range loads {
			if l.p.self {
				r.kind = kindOf(l.pl)
			}
			capacity := max(int(l.pl.GetCapacity()), 1)
			if old, ok := r.members[l.p]; ok && old == capacity {
				continue
			} else if ok {
				r.strategy.Remove(l.p.routee)
			}
			_ = r.strategy.Add(router.Routee{ID: l.p.routee, Capacity: capacity, Weight: weight(l.pl)})
			r.members[l.p] = capacity
			r.dirty = true
		}
	}
	for name, r := range a.routes {
		for p := range r.members {
			if !hasPeer(want[name], func(l load) bool { return l.p == p }) {
				r.strategy.Remove(p.routee)
				delete(r.members, p)
				r.dirty = true
			}
		}
	}
	a.publish()
	for name, loads := range want {
		r := a.routes[name]
		for _, l := range loads {
			avail := true
			if !l.p.self {
				// Stale or full members wait for their next report; this
				// member's own pools take what the strategy gives them.
				avail = l.fresh && l.pl.GetInFlight()+l.pl.GetQueueDepth() < l.pl.GetCapacity()
			}
			r.strategy.SetAvailable(l.p.routee, avail)
			if r.strategy.Name() == router.NameWeighted {
				_ = r.strategy.SetWeight(l.p.routee, weight(l.pl))
			}
		}
	}
	a.m.room.signal()
	a.publishView(now)
}

func hasPeer[T any](xs []T, match func(T) bool) bool {
	for _, x := range xs {
		if match(x) {
			return true
		}
	}
	return false
}

// kindOf returns a reported pool's kind.
func kindOf(pl *protos.PoolLoad) actors.Kind {
	if k := pl.GetKind(); k > protos.WorkerKind_WORKER_KIND_UNSPECIFIED {
		return actors.Kind(k - 1)
	}
	return actors.KindCPU
}

// weight is a pool's free room, for the weighted strategy.
func weight(pl *protos.PoolLoad) int {
	free := int(pl.GetCapacity()) - int(pl.GetInFlight()) - int(pl.GetQueueDepth())
	return min(max(free, 1), router.MaxWeight)
}

// publish stores the targets of the routes whose members changed and a
// new route table.
func (a *control) publish() {
	tbl := &routeTable{byPool: map[string]*route{}, byKind: map[actors.Kind]string{}, defaultPool: a.defaultPool}
	names := make([]string, 0, len(a.routes))
	for name, r := range a.routes {
		if r.dirty {
			targets := make(map[int]*target, len(r.members))
			for p := range r.members {
				targets[p.routee] = &target{peer: p}
			}
			r.targets.Store(&targets)
			r.dirty = false
		}
		if len(r.members) > 0 {
			tbl.byPool[name] = r
			names = append(names, name)
		}
	}
	// A kind maps to this member's first pool of that kind, else to the
	// first by name.
	for _, pl := range a.selfReport.GetPools() {
		k := kindOf(pl)
		if _, ok := tbl.byKind[k]; !ok && tbl.byPool[pl.GetName()] != nil {
			tbl.byKind[k] = pl.GetName()
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if k := tbl.byPool[name].kind; tbl.byKind[k] == "" {
			tbl.byKind[k] = name
		}
	}
	a.m.routes.Store(tbl)
}

// event calls the member's hook, until the member stops.
func (a *control) event(kind EventKind, p *peer, reason string) {
	if a.stopped {
		return
	}
	if kind == EventJoined {
		a.m.joined.Add(1)
	} else {
		a.m.left.Add(1)
	}
	if a.m.cfg.hook == nil {
		return
	}
	a.m.cfg.hook(Event{Kind: kind, Member: MemberInfo{ID: p.id, Name: p.name, Address: p.address}, Reason: reason})
}

// publishView stores the view's snapshot.
func (a *control) publishView(now time.Time) {
	vs := &viewState{self: a.selfID}
	state := StateUp
	if a.leaving {
		state = StateLeaving
	}
	if a.ready {
		vs.members = append(vs.members, memberSnap{
			info:   MemberInfo{ID: a.selfID, Name: a.m.name, Address: a.m.sys.Address()},
			self:   true,
			state:  state,
			report: a.selfReport,
			at:     now,
			p:      a.m.self,
		})
	}
	for _, ps := range a.peers {
		if !ps.inTopology && ps.cur == nil {
			continue
		}
		s := memberSnap{info: MemberInfo{ID: ps.memberID, Address: ps.address}, report: ps.report, at: ps.reportAt, p: ps.cur}
		if ps.report != nil {
			s.info.Name = ps.report.GetName()
			s.info.ID = ps.report.GetMemberId()
		}
		if s.info.Name == "" {
			s.info.Name = ps.address
		}
		switch {
		case ps.report != nil && ps.report.GetLeaving():
			s.state = StateLeaving
		case ps.cur == nil:
			s.state = StateJoining
		case now.Sub(a.heard(ps)) > a.m.cfg.staleAfter:
			s.state = StateStale
		default:
			s.state = StateUp
		}
		vs.members = append(vs.members, s)
	}
	sort.Slice(vs.members, func(i, j int) bool {
		if vs.members[i].self != vs.members[j].self {
			return vs.members[i].self
		}
		return vs.members[i].info.Address < vs.members[j].info.Address
	})
	a.m.view.Store(vs)
}
