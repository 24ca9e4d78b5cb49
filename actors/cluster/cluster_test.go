package cluster_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// skipShort skips the multi-process tests under -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts member processes; skipped with -short")
	}
}

// TestSpreadOverMembers submits tasks on one member of three (with mTLS)
// and checks that every member ran some, and that all succeeded.
func TestSpreadOverMembers(t *testing.T) {
	skipShort(t)
	t.Parallel()
	ca := newTestCA(t, "spread")
	names := []string{"a", "b", "c"}
	ps := startCluster(t, clusterSpec{names: names, args: func(i int) []string { return ca.flags(t, names[i]) }})
	require.Equal(t, true, ps[0].call("wait work 3 20s", 25*time.Second)["ok"])

	acc := ps[0].submit("300 sleep 2ms 0 0", 20*time.Second)
	require.Equal(t, 300, num(acc["accepted"]), "rejected: %v", acc["rejected"])
	res := ps[0].reply("results", 30*time.Second)
	assert.Equal(t, map[string]int{"ok": 300}, counts(res["outcomes"]))
	by := counts(res["by_member"])
	for _, n := range names {
		assert.Positive(t, by[n], "member %s ran no task: %v", n, by)
	}

	v := ps[0].view()
	for _, n := range names {
		require.Contains(t, v, n)
		assert.Equal(t, "up", v[n]["State"], "member %s", n)
	}
}

// TestKilledMemberLosesNothing kills a member with tasks in flight: every
// accepted task still ends; idempotent ones complete on the others, the
// others fail with the member-lost error.
func TestKilledMemberLosesNothing(t *testing.T) {
	skipShort(t)
	t.Parallel()
	names := []string{"a", "b", "c"}
	ps := startCluster(t, clusterSpec{names: names, args: func(int) []string {
		return []string{"-workers", "2", "-concurrency", "8"}
	}})
	require.Equal(t, true, ps[0].call("wait work 3 20s", 25*time.Second)["ok"])

	// 300 tasks of 100 ms, every other one idempotent; 16 run at once on
	// each member, so c still holds most of its share when it dies.
	acc := ps[0].submit("300 sleep 100ms 2 0", 20*time.Second)
	require.Equal(t, 300, num(acc["accepted"]), "rejected: %v", acc["rejected"])
	v := ps[0].view()
	require.Positive(t, num(v["c"]["InFlight"]), "no task in flight on c: %v", v["c"])
	ps[2].kill()

	res := ps[0].reply("results", 60*time.Second)
	require.Equal(t, 300, num(res["ended"]))
	idem := counts(res["idempotent"])
	plain := counts(res["outcomes"])
	assert.Equal(t, map[string]int{"ok": 150}, idem, "idempotent tasks must complete elsewhere")
	assert.Equal(t, 150, plain["ok"]+plain["lost"], "non-idempotent outcomes: %v", plain)
	assert.Positive(t, plain["lost"], "c died with no non-idempotent task in flight: %v", plain)
	stats, _ := res["stats"].(map[string]any)
	assert.Equal(t, plain["lost"], num(stats["Lost"]))
	assert.Positive(t, num(stats["FailedOver"]))

	assert.NotEqual(t, "up", ps[0].view()["c"]["State"])
	left := ps[0].waitFor(func(m map[string]any) bool { return m["event"] == "left" && m["member"] == "c" }, true, 10*time.Second)
	assert.NotEmpty(t, left["reason"])
}

// TestLeavingMemberDrains stops a member gracefully under load: it
// finishes the tasks it has and sends their results back, new tasks go
// elsewhere, and nothing is lost.
func TestLeavingMemberDrains(t *testing.T) {
	skipShort(t)
	t.Parallel()
	names := []string{"a", "b", "c"}
	ps := startCluster(t, clusterSpec{names: names, args: func(int) []string {
		return []string{"-workers", "2", "-concurrency", "8"}
	}})
	require.Equal(t, true, ps[0].call("wait work 3 20s", 25*time.Second)["ok"])

	acc := ps[0].submit("200 sleep 30ms 0 0", 20*time.Second)
	require.Equal(t, 200, num(acc["accepted"]))
	ps[1].terminate()
	res := ps[0].reply("results", 60*time.Second)
	assert.Equal(t, map[string]int{"ok": 200}, counts(res["outcomes"]))
	assert.Positive(t, counts(res["by_member"])["b"], "b ran nothing before it left")
	q := ps[1].reply("quit", 20*time.Second)
	assert.Empty(t, q["error"])
	ps[0].waitFor(func(m map[string]any) bool { return m["event"] == "left" && m["member"] == "b" }, true, 10*time.Second)
}

// TestMemberWithoutValidCertificate runs a cluster with mTLS beside
// members whose certificate another CA signed, or that have none: the
// topology names them (they are seeds), yet they never become members,
// cannot submit to the cluster, and cannot reach its members.
func TestMemberWithoutValidCertificate(t *testing.T) {
	skipShort(t)
	t.Parallel()
	good := newTestCA(t, "good")
	other := newTestCA(t, "other")
	names := []string{"a", "b", "other-ca", "no-tls"}
	ps := startCluster(t, clusterSpec{names: names, args: func(i int) []string {
		switch names[i] {
		case "other-ca":
			return append(other.flags(t, names[i]), "-pools", "")
		case "no-tls":
			return []string{"-pools", ""}
		}
		return good.flags(t, names[i])
	}})
	a := ps[0]
	require.Equal(t, true, a.call("wait work 2 20s", 25*time.Second)["ok"])
	// The outsiders are in a's topology (they answer the provider's
	// health checks) but never up: they are named by address, since no
	// report of theirs ever came.
	require.Equal(t, true, a.call("waitview 4 20s", 25*time.Second)["ok"])
	for name, mv := range a.view() {
		if name != "a" && name != "b" {
			assert.Equal(t, "joining", mv["State"], "outsider %s", name)
			assert.Contains(t, []string{ps[2].address, ps[3].address}, name)
		}
	}

	for i, name := range []string{"other-ca", "no-tls"} {
		p := ps[2+i]
		t.Run(name, func(t *testing.T) {
			w := p.call("wait work 1 1s", 10*time.Second)
			assert.Equal(t, false, w["ok"], "%s sees a member with pool work", name)
			acc := p.submit("5 noop x 0 0", 10*time.Second)
			assert.Equal(t, 0, num(acc["accepted"]))
			assert.Contains(t, fmt.Sprint(acc["rejected"]), "no member has pool")
			p.reply("results", 10*time.Second)
			touch := p.call("touch "+a.address+" 2s", 20*time.Second)
			assert.Equal(t, false, touch["ok"], "%s reached a's control actor", name)
		})
	}
	st := a.call("stats", 10*time.Second)
	for _, pool := range st["node"].([]any) {
		ps := pool.(map[string]any)
		assert.Zero(t, num(ps["Submitted"]), "a ran tasks: %v", ps)
	}
}

// TestEtcdProvider runs two members on a local etcd, when the etcd binary
// is installed.
func TestEtcdProvider(t *testing.T) {
	skipShort(t)
	needEtcd(t)
	t.Parallel()
	endpoint := startEtcd(t).endpoint
	prefix := "/drover-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	names := []string{"a", "b"}
	ps := make([]*proc, len(names))
	for i, n := range names {
		ps[i] = startProc(t, n, "-etcd", endpoint, "-etcd-prefix", prefix)
	}
	require.Equal(t, true, ps[0].call("wait work 2 20s", 25*time.Second)["ok"])
	acc := ps[0].submit("100 sleep 2ms 0 0", 20*time.Second)
	require.Equal(t, 100, num(acc["accepted"]))
	res := ps[0].reply("results", 30*time.Second)
	assert.Equal(t, map[string]int{"ok": 100}, counts(res["outcomes"]))
	assert.Positive(t, counts(res["by_member"])["b"])

	ps[1].kill()
	ps[0].waitFor(func(m map[string]any) bool { return m["event"] == "left" && m["member"] == "b" }, true, 20*time.Second)
	// The view follows the event once the member's lease and connection are
	// gone: poll it with a deadline.
	deadline := time.Now().Add(20 * time.Second)
	for ps[0].view()["b"]["State"] == "up" {
		if time.Now().After(deadline) {
			t.Fatal("member b is still up in a's view 20s after it left")
		}
		time.Sleep(50 * time.Millisecond) // polling the view
	}
}
