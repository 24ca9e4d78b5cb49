package cluster

import (
	"context"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// MemberState is where a member stands as this member sees it.
type MemberState string

// Member states.
const (
	// StateUp: the member takes tasks.
	StateUp MemberState = "up"
	// StateJoining: the topology names the member but it has not yet
	// proved itself over remote (no connection, or no report yet); a member
	// without a valid certificate stays here.
	StateJoining MemberState = "joining"
	// StateStale: the member's last report is too old; it takes no new
	// tasks until the next one.
	StateStale MemberState = "stale"
	// StateLeaving: the member is leaving and takes no new tasks.
	StateLeaving MemberState = "leaving"
)

// MemberInfo names a member.
type MemberInfo struct {
	// ID is the member's id in the cluster (its actor system's id).
	ID string
	// Name is the member's name (WithName), or its address.
	Name string
	// Address is its remote address, host:port.
	Address string
}

// View is a snapshot of the cluster as one member sees it.
type View struct {
	// Self is the id of the member that made the view.
	Self string
	// Members lists the member itself first, then the others by address.
	Members []MemberView
}

// MemberView is one member in a View.
type MemberView struct {
	MemberInfo
	// Self is true for the member that made the view.
	Self bool
	// State is where the member stands.
	State MemberState
	// LastReport is when its last load report came (made, for Self).
	LastReport time.Time
	// InFlight is the number of the viewing member's tasks on it now;
	// Dispatched counts the viewing member's dispatches to it since it
	// (last) joined.
	InFlight   int
	Dispatched uint64
	// Pools holds the pools of its last report.
	Pools []PoolLoad
}

// PoolLoad is a pool's load as its member reported it.
type PoolLoad struct {
	Name string
	Kind actors.Kind
	// Workers, InFlight and QueueDepth as in actors.PoolStats; Capacity is
	// workers times concurrency plus the queue's capacity.
	Workers, InFlight, QueueDepth, Capacity int
}

// viewState is the control actor's immutable snapshot behind View.
type viewState struct {
	self    string
	members []memberSnap
}

type memberSnap struct {
	info   MemberInfo
	self   bool
	state  MemberState
	report *protos.LoadReport
	at     time.Time
	p      *peer // nil while not routable
}

// View returns a snapshot of the cluster as this member sees it: the
// members, their state and their pools' last reported load. It never
// blocks, and may be called from an event hook.
func (m *Member) View() View {
	vs := m.view.Load()
	if vs == nil {
		return View{Self: m.ID()}
	}
	v := View{Self: vs.self, Members: make([]MemberView, 0, len(vs.members))}
	for _, s := range vs.members {
		mv := MemberView{MemberInfo: s.info, Self: s.self, State: s.state, LastReport: s.at}
		if s.p != nil {
			mv.InFlight = int(s.p.inflight.Load())
			mv.Dispatched = s.p.dispatched.Load()
		}
		for _, pl := range s.report.GetPools() {
			mv.Pools = append(mv.Pools, PoolLoad{
				Name:       pl.GetName(),
				Kind:       kindOf(pl),
				Workers:    int(pl.GetWorkers()),
				InFlight:   int(pl.GetInFlight()),
				QueueDepth: int(pl.GetQueueDepth()),
				Capacity:   int(pl.GetCapacity()),
			})
		}
		v.Members = append(v.Members, mv)
	}
	return v
}

// Up returns the members in state up that have the named pool ("" for
// any), this member included.
func (v View) Up(pool string) []MemberView {
	var out []MemberView
	for _, mv := range v.Members {
		if mv.State != StateUp {
			continue
		}
		if pool == "" {
			out = append(out, mv)
			continue
		}
		for _, pl := range mv.Pools {
			if pl.Name == pool {
				out = append(out, mv)
				break
			}
		}
	}
	return out
}

// WaitPool waits until at least n members are up with the named pool
// (this member included), or ctx ends, whose error it then returns.
func (m *Member) WaitPool(ctx context.Context, pool string, n int) error {
	return m.WaitView(ctx, func(v View) bool { return len(v.Up(pool)) >= n })
}

// WaitView waits until cond holds for the member's View, or ctx ends,
// whose error it then returns. cond is called again whenever membership,
// a report or a task's slot changes.
func (m *Member) WaitView(ctx context.Context, cond func(View) bool) error {
	for {
		if cond(m.View()) {
			return nil
		}
		ch := m.room.arm()
		if cond(m.View()) {
			m.room.disarm()
			return nil
		}
		select {
		case <-ch:
			m.room.disarm()
		case <-ctx.Done():
			m.room.disarm()
			return ctx.Err()
		}
	}
}
