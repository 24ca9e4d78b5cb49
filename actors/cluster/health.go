package cluster

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Health is whether a member takes part in the cluster as it should, and
// if not, why: what /readyz reports for a member.
type Health struct {
	// Ready is true while the member is registered with its provider, in
	// touch with the coordinator (etcd) within the lease, not shut out of
	// the others' views, and not leaving.
	Ready bool
	// Reason says why the member is not ready; empty when it is.
	Reason string
	// Incarnation is the id of the member's current incarnation (ID).
	Incarnation string
	// Incarnations counts the member's incarnations in this process: 1,
	// plus one per time it rejoined the cluster after being shut out.
	Incarnations int64
	// CoordinatorContact is when the coordinator (etcd) last answered;
	// zero for the automanaged provider, which has none.
	CoordinatorContact time.Time
}

// healthState is the control actor's part of Health, published as a
// snapshot.
type healthState struct {
	shutOut string
}

// Health returns the member's health now. It never blocks and is safe for
// concurrent use.
func (m *Member) Health() Health {
	h := Health{Ready: true, Incarnation: m.ID(), Incarnations: m.incarnations.Load()}
	ps := m.provider.status()
	h.CoordinatorContact = ps.contact
	now := m.cfg.now()
	switch {
	case m.closing.Load():
		h.Reason = "the member is leaving the cluster"
	case !ps.registered:
		h.Reason = "not registered with the cluster's provider"
		if ps.coordinator != "" {
			h.Reason = "not registered with " + ps.coordinator
		}
	case !ps.contact.IsZero() && now.Sub(ps.contact) > ps.contactBound:
		h.Reason = fmt.Sprintf("%s has not answered for %s (its lease is %s)", ps.coordinator, now.Sub(ps.contact).Round(time.Millisecond), ps.contactBound)
	default:
		if hs := m.healthState.Load(); hs != nil && hs.shutOut != "" {
			h.Reason = hs.shutOut
		}
	}
	h.Ready = h.Reason == ""
	return h
}

// remoteRetry is how long protoactor's remote holds messages to an
// address after a failed connection attempt (its endpoint writer sleeps
// 2 s, then drops them): a member that just started or rejoined may hear
// nothing for that long through no fault of its own.
const remoteRetry = 2 * time.Second

// heard returns when another member was last heard of, for staleness: its
// last report, or the end of this member's own pause if that is later (a
// member that was paused heard nobody, through no fault of theirs).
func (a *control) heard(ps *peerState) time.Time {
	if a.resumed.After(ps.reportAt) {
		return a.resumed
	}
	return ps.reportAt
}

// checkHealth runs on every tick. It
//
//   - notices that this member itself was paused (the tick came late) and
//     gives the others a fresh stale bound from then on;
//   - counts as lost a member that sent no report for the lost bound
//     (WithLostAfter), so that its tasks fail over even when the provider
//     cannot drop it (etcd unreachable); it takes tasks again after its
//     next report;
//   - notices that this member is shut out: every other member the
//     topology names went silent for the lost bound plus remoteRetry, yet
//     one of them
//     answers a probe, so it is alive and no longer counts this member in.
//     The member then rejoins as a new incarnation, at most once per lost
//     bound, and counts as shut out until a report comes.
func (a *control) checkHealth(c actor.Context) {
	cfg := a.m.cfg
	now := cfg.now()
	if !a.lastTick.IsZero() && now.Sub(a.lastTick) > cfg.staleAfter {
		a.resumed = now
		cfg.logger.Debug("member resumed after a pause", "paused", now.Sub(a.lastTick).Round(time.Millisecond))
	}
	a.lastTick = now
	if a.since.IsZero() {
		a.since = now
	}

	others, silent := 0, 0
	var probe []*peerState
	for _, ps := range a.peers {
		if !ps.inTopology || ps.report.GetLeaving() {
			continue
		}
		others++
		age := now.Sub(a.heard(ps))
		if ps.report == nil {
			age = now.Sub(maxTime(a.since, a.resumed, ps.lostAt))
		}
		if age > cfg.lostAfter && ps.cur != nil {
			ps.lostAt = now
			a.leave(ps, fmt.Sprintf("sent no report for %s", age.Round(time.Millisecond)))
		}
		if age > cfg.lostAfter+remoteRetry {
			silent++
			probe = append(probe, ps)
		}
	}
	if !a.suspect.IsZero() && now.Sub(a.suspect) > cfg.lostAfter {
		a.suspect = time.Time{} // probe again
	}
	switch {
	case others == 0 || silent < others || a.leaving:
		a.suspect, a.shutOut = time.Time{}, ""
	case a.suspect.IsZero():
		a.suspect = now
		cfg.logger.Debug("every other member is silent: probing them", "members", others)
		// A member that answers a probe lives; if it sends this member no
		// report, it no longer counts this member in (onProbeAnswer).
		for _, ps := range probe {
			// The answer's Who is no help: a PID spawned before the remote
			// started (the control actor) says "nonhost".
			f, self, addr := a.m.sys.Root.RequestFuture(ps.ctl, &actor.Touch{}, cfg.staleAfter), c.Self(), ps.address
			go func() {
				if _, err := f.Result(); err == nil {
					a.m.sys.Root.Send(self, &probeAnswer{address: addr})
				}
			}()
		}
	}
	a.publishHealth()
}

// probeAnswer says that the member at address answered a probe.
type probeAnswer struct{ address string }

// onProbeAnswer takes a probe's answer: the member that answered lives.
func (a *control) onProbeAnswer(pa *probeAnswer) {
	if a.suspect.IsZero() || a.stopped {
		return
	}
	ps := a.peers[pa.address]
	if ps == nil || !ps.inTopology {
		return
	}
	cfg := a.m.cfg
	now := cfg.now()
	a.shutOut = fmt.Sprintf("shut out: no report from any of the other members for %s while %s answers", cfg.lostAfter, ps.address)
	if a.rejoinedAt.IsZero() || now.Sub(a.rejoinedAt) > cfg.lostAfter {
		a.rejoinedAt = now
		cfg.logger.Debug("member is shut out: rejoining", "reason", a.shutOut)
		a.m.provider.rejoin(a.shutOut)
	}
	a.publishHealth()
}

func (a *control) publishHealth() {
	if cur := a.m.healthState.Load(); cur != nil && cur.shutOut == a.shutOut {
		return
	}
	a.m.healthState.Store(&healthState{shutOut: a.shutOut})
}

func maxTime(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
