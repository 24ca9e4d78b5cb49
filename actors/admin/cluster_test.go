package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/admin"
)

// testCluster is a cluster of two members as member "a" sees it.
func testCluster() admin.ClusterStatus {
	return admin.ClusterStatus{
		Name: "prod",
		Members: []admin.MemberStatus{
			{ID: "id-a", Name: "a", Address: "127.0.0.1:7001", Self: true, State: "up", ReportAgeMS: 0,
				Pools: []admin.MemberPool{{Name: "cpu", Kind: "cpu", Workers: 2, InFlight: 1, Queue: 3, Capacity: 1026}}},
			{ID: "id-b", Name: "b", Address: "127.0.0.1:7002", State: "joining", ReportAgeMS: -1, InFlight: 2, Dispatched: 9},
		},
		Counters: admin.ClusterCounters{Submitted: 12, Completed: 10, Failed: 1, SentRemote: 9, Rerouted: 2, FailedOver: 1, Lost: 1, InFlight: 2},
	}
}

func TestStatusCluster(t *testing.T) {
	n := newNode(t)
	t.Run("absent without the option", func(t *testing.T) {
		var raw map[string]any
		require.NoError(t, json.Unmarshal(get(t, admin.NewHandler(n), "/status").Body.Bytes(), &raw))
		assert.NotContains(t, raw, "cluster")
	})
	t.Run("present with the option, fresh on every request", func(t *testing.T) {
		var calls atomic.Int32
		// The dashboard's sampler reads the view once at the start, then
		// not for an hour.
		h := admin.NewHandler(n, admin.WithSampleInterval(time.Hour), admin.WithClusterView(func() admin.ClusterStatus {
			calls.Add(1)
			return testCluster()
		}))
		before := calls.Load()
		rec := get(t, h, "/status")
		require.Equal(t, http.StatusOK, rec.Code)
		var st admin.Status
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&st))
		require.NotNil(t, st.Cluster)
		assert.Equal(t, testCluster(), *st.Cluster)
		assert.Equal(t, "adm", st.Node, "the node's section is still there")

		var raw map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
		c := raw["cluster"].(map[string]any)
		assert.Equal(t, "prod", c["name"])
		m := c["members"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "name", "address", "self", "state", "report_age_ms", "in_flight", "dispatched", "pools"} {
			assert.Contains(t, m, k)
		}
		p := m["pools"].([]any)[0].(map[string]any)
		for _, k := range []string{"name", "kind", "workers", "in_flight", "queue", "capacity"} {
			assert.Contains(t, p, k)
		}
		k := c["counters"].(map[string]any)
		for _, f := range []string{"submitted", "completed", "failed", "rejected", "sent_remote", "rerouted", "failed_over", "lost", "in_flight"} {
			assert.Contains(t, k, f)
		}

		get(t, h, "/status")
		assert.Equal(t, before+2, calls.Load())
	})
}

func TestWriteTextCluster(t *testing.T) {
	st := admin.Status{Node: "a", Ready: true}
	var buf bytes.Buffer
	require.NoError(t, st.WriteText(&buf))
	assert.NotContains(t, buf.String(), "MEMBER", "no cluster, no members table")

	c := testCluster()
	st.Cluster = &c
	buf.Reset()
	require.NoError(t, st.WriteText(&buf))
	out := buf.String()
	assert.Contains(t, out, "cluster prod: 2 members; 12 submitted, 10 completed, 1 failed, 0 rejected, 9 sent remote, 2 rerouted, 1 failed over, 1 lost, 2 in flight\n")
	assert.Regexp(t, `(?m)^  MEMBER +ADDRESS +STATE +REPORT AGE +IN FLIGHT +DISPATCHED +POOLS \(IN FLIGHT/QUEUED/CAPACITY\)$`, out)
	assert.Regexp(t, `(?m)^  a \(self\) +127\.0\.0\.1:7001 +up +0ms +0 +0 +cpu 1/3/1026$`, out)
	assert.Regexp(t, `(?m)^  b +127\.0\.0\.1:7002 +joining +- +2 +9 +-$`, out)
}

func TestReadyReason(t *testing.T) {
	n := newNode(t)
	reason := "cluster member: shut out"
	h := admin.NewHandler(n, admin.WithReady(func() bool { return reason == "" }),
		admin.WithReadyReason(func() string { return reason }))
	rec := get(t, h, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "not ready: cluster member: shut out\n", rec.Body.String())

	reason = ""
	rec = get(t, h, "/readyz")
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestWriteTextClusterNotReady(t *testing.T) {
	c := testCluster()
	c.NotReady = "etcd at 127.0.0.1:2379 has not answered for 4s (its lease is 3s)"
	st := admin.Status{Node: "a", Cluster: &c}
	var buf bytes.Buffer
	require.NoError(t, st.WriteText(&buf))
	assert.Contains(t, buf.String(), "\n  not ready: etcd at 127.0.0.1:2379 has not answered for 4s (its lease is 3s)\n")
}
