package main

import (
	"time"

	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/actors/cluster"
)

// clusterStatus converts a member's view and counters into the cluster
// section of /status, with report ages as of now.
func clusterStatus(name string, v cluster.View, s cluster.Stats, now time.Time) admin.ClusterStatus {
	cs := admin.ClusterStatus{
		Name:    name,
		Members: make([]admin.MemberStatus, 0, len(v.Members)),
		Counters: admin.ClusterCounters{
			Submitted: s.Submitted, Rejected: s.Rejected, Completed: s.Completed, Failed: s.Failed,
			SentRemote: s.SentRemote, Rerouted: s.Rerouted, FailedOver: s.FailedOver, Lost: s.Lost,
			InFlight: s.InFlight,
		},
	}
	for _, m := range v.Members {
		ms := admin.MemberStatus{
			ID: m.ID, Name: m.Name, Address: m.Address, Self: m.Self, State: string(m.State),
			ReportAgeMS: -1, InFlight: m.InFlight, Dispatched: m.Dispatched,
			Pools: make([]admin.MemberPool, 0, len(m.Pools)),
		}
		if !m.LastReport.IsZero() {
			ms.ReportAgeMS = max(now.Sub(m.LastReport).Milliseconds(), 0)
		}
		for _, p := range m.Pools {
			ms.Pools = append(ms.Pools, admin.MemberPool{
				Name: p.Name, Kind: p.Kind.String(), Workers: p.Workers,
				InFlight: p.InFlight, Queue: p.QueueDepth, Capacity: p.Capacity,
			})
		}
		cs.Members = append(cs.Members, ms)
	}
	return cs
}
