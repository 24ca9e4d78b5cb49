package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// clusterCollector exports a member's view of the cluster and its
// membership events to Prometheus.
type clusterCollector struct {
	m                           *cluster.Member
	members, events, ready, inc *prometheus.Desc
}

func newClusterCollector(m *cluster.Member) *clusterCollector {
	return &clusterCollector{
		m: m,
		members: prometheus.NewDesc("drover_cluster_members",
			"Members of the cluster as this member sees them, by state (up, joining, stale, leaving), this member included.", []string{"state"}, nil),
		events: prometheus.NewDesc("drover_cluster_member_events_total",
			"Membership events this member saw: another member joined or left.", []string{"event"}, nil),
		ready: prometheus.NewDesc("drover_cluster_ready",
			"1 while this member takes part in the cluster as it should (registered, in touch with the coordinator, not shut out).", nil, nil),
		inc: prometheus.NewDesc("drover_cluster_incarnations",
			"Incarnations of this member in this process: 1, plus one per rejoin after it was shut out.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.members
	ch <- c.events
	ch <- c.ready
	ch <- c.inc
}

// Collect implements prometheus.Collector.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	byState := map[cluster.MemberState]int{cluster.StateUp: 0, cluster.StateJoining: 0, cluster.StateStale: 0, cluster.StateLeaving: 0}
	for _, mv := range c.m.View().Members {
		byState[mv.State]++
	}
	for state, n := range byState {
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(n), string(state))
	}
	s := c.m.Stats()
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.Joined), "joined")
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.Left), "left")
	ready := 0.0
	if c.m.Health().Ready {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, ready)
	ch <- prometheus.MustNewConstMetric(c.inc, prometheus.GaugeValue, float64(s.Incarnations))
}
