package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/actors/cluster"
)

func TestClusterStatus(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	v := cluster.View{Self: "id-a", Members: []cluster.MemberView{
		{
			MemberInfo: cluster.MemberInfo{ID: "id-a", Name: "a", Address: "127.0.0.1:7001"},
			Self:       true, State: cluster.StateUp, LastReport: now.Add(-150 * time.Millisecond),
			Pools: []cluster.PoolLoad{{Name: "cpu", Kind: actors.KindCPU, Workers: 2, InFlight: 1, QueueDepth: 3, Capacity: 1026}},
		},
		{
			MemberInfo: cluster.MemberInfo{ID: "id-b", Name: "b", Address: "127.0.0.1:7002"},
			State:      cluster.StateJoining, InFlight: 2, Dispatched: 9,
		},
	}}
	s := cluster.Stats{Submitted: 12, Rejected: 1, Completed: 10, Failed: 1, SentRemote: 9, Rerouted: 2, FailedOver: 1, Lost: 1, InFlight: 2}
	got := clusterStatus("prod", v, s, now)
	assert.Equal(t, admin.ClusterStatus{
		Name: "prod",
		Members: []admin.MemberStatus{
			{ID: "id-a", Name: "a", Address: "127.0.0.1:7001", Self: true, State: "up", ReportAgeMS: 150,
				Pools: []admin.MemberPool{{Name: "cpu", Kind: "cpu", Workers: 2, InFlight: 1, Queue: 3, Capacity: 1026}}},
			{ID: "id-b", Name: "b", Address: "127.0.0.1:7002", State: "joining", ReportAgeMS: -1, InFlight: 2, Dispatched: 9,
				Pools: []admin.MemberPool{}},
		},
		Counters: admin.ClusterCounters{Submitted: 12, Rejected: 1, Completed: 10, Failed: 1, SentRemote: 9, Rerouted: 2, FailedOver: 1, Lost: 1, InFlight: 2},
	}, got)
}

// memberLine matches the log line that gives the member's address.
var memberLine = regexp.MustCompile(`cluster member joined: name=e2e address=(127\.0\.0\.1:\d+) cluster=e2e-cluster`)

// TestRunClusterEndToEnd builds the command, runs a node with a cluster
// block (a member alone, with the automanaged provider on a port of its
// own), finds the member in /status and `drover status`, and stops it with
// SIGTERM.
func TestRunClusterEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	file := writeConfig(t, "member.hcl", testNodeConfig+fmt.Sprintf(`
cluster {
  name         = "e2e-cluster"
  bind         = "127.0.0.1:0"
  report_every = "100ms"
  automanaged {
    port  = %d
    seeds = ["127.0.0.1:%d"]
  }
}
`, port, port))

	// protoactor's cluster races with itself (see actors/cluster's package
	// doc): the race detector's reports must not change the exit status;
	// the test fails on those that involve Drover's code instead.
	p, found := startRun(ctx, t, bin, file, []string{"GORACE=exitcode=0"}, adminLine, memberLine)
	addr, memberAddr := found[0], found[1]

	c := testClient()
	t.Run("status", func(t *testing.T) {
		code, body := get(t, c, "http://"+addr+"/status")
		require.Equal(t, http.StatusOK, code)
		var st admin.Status
		require.NoError(t, json.Unmarshal([]byte(body), &st))
		assert.Equal(t, "e2e", st.Node)
		require.Len(t, st.Pools, 2)
		require.NotNil(t, st.Cluster, body)
		assert.Equal(t, "e2e-cluster", st.Cluster.Name)
		require.Len(t, st.Cluster.Members, 1, body)
		m := st.Cluster.Members[0]
		assert.True(t, m.Self)
		assert.Equal(t, "e2e", m.Name)
		assert.Equal(t, memberAddr, m.Address)
		assert.Equal(t, "up", m.State)
		assert.NotEmpty(t, m.ID)
		var pools []string
		for _, p := range m.Pools {
			pools = append(pools, p.Name)
		}
		assert.Equal(t, []string{"alpha", "beta"}, pools)
	})
	t.Run("drover status", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, bin, "status", "--addr", addr).Output()
		require.NoError(t, err)
		assert.Contains(t, string(out), "node e2e (ready)")
		assert.Contains(t, string(out), "cluster e2e-cluster: 1 member;")
		assert.Regexp(t, `(?m)^  e2e \(self\) +`+regexp.QuoteMeta(memberAddr)+` +up +`, string(out))
	})

	t.Run("readyz and metrics", func(t *testing.T) {
		code, body := get(t, c, "http://"+addr+"/readyz")
		assert.Equal(t, http.StatusOK, code, body)
		code, body = get(t, c, "http://"+addr+"/metrics")
		require.Equal(t, http.StatusOK, code)
		for _, want := range []string{`drover_cluster_members{state="up"} 1`, `drover_cluster_members{state="stale"} 0`,
			`drover_cluster_member_events_total{event="left"} 0`, "drover_cluster_ready 1", "drover_cluster_incarnations 1"} {
			assert.Contains(t, body, want+"\n")
		}
	})

	out, err := p.terminate(ctx, t)
	require.NoError(t, err, "exit status 0 after SIGTERM; logs:\n%s", out)
	assert.Contains(t, out, "e2e: draining: reason=terminated")
	assert.Contains(t, out, "e2e: node stopped: drained=0 failed=0 abandoned=0")
	assert.NotContains(t, out, "did not leave cleanly")
	for _, r := range droverRaces(out) {
		t.Errorf("drover run reported a data race in Drover's code:\n%s", r)
	}
}

// droverRaces returns the race detector's reports in a process's output
// that have one of the racing accesses (not the stacks that created the
// goroutines) in Drover's code.
func droverRaces(stderr string) []string {
	const start, end = "WARNING: DATA RACE", "=================="
	var ours []string
	for {
		i := strings.Index(stderr, start)
		if i < 0 {
			return ours
		}
		stderr = stderr[i:]
		j := strings.Index(stderr, end)
		if j < 0 {
			j = len(stderr)
		}
		report := stderr[:j]
		stderr = stderr[j:]
		if accessInDrover(report) {
			ours = append(ours, report)
		}
	}
}

// accessInDrover reports whether a race report is Drover's to fix: the
// first frame of module code (past the runtime and the standard library)
// of some racing access is Drover's, or every racing access runs through
// Drover. A report where one access runs on a goroutine of protoactor's
// alone and the other ends inside protoactor (protoactor's etcd provider
// writes its shutdown flag with no lock while its keep-alive goroutine
// reads it) cannot be ordered by any lock of Drover's, so it is theirs.
func accessInDrover(report string) bool {
	var accesses, through int
	inAccess, innermost := false, false
	for _, line := range strings.Split(report, "\n") {
		t := strings.TrimSpace(line)
		ours := strings.HasPrefix(t, "github.com/drover-go/drover/") || strings.HasPrefix(t, "main.")
		switch {
		case strings.HasPrefix(t, "Goroutine "):
			inAccess = false
		case strings.Contains(t, " at 0x"): // "Read at 0x...", "Previous write at 0x..."
			inAccess, innermost = true, true
			accesses++
		case !inAccess:
		case ours && innermost:
			return true
		case ours:
			through++
			inAccess = false
		case strings.HasPrefix(t, "github.com/"):
			innermost = false
		}
	}
	return accesses > 0 && through == accesses
}

// TestRunClusterEtcdDown runs a member on etcd, stops etcd, and checks
// that /readyz and drover status then say why the member is not ready,
// and that one
// SIGTERM ends drover run within drain_timeout and a few seconds, with
// exit status 0: deregistration gives up at the drain's deadline and the
// lease expires on its own.
func TestRunClusterEtcdDown(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
	etcdBin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed: apt-get install -y etcd-server (Debian) to run this test")
	}
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	endpoint, stopEtcd := startTestEtcd(ctx, t, etcdBin)

	const drain = 2 * time.Second
	node := strings.Replace(testNodeConfig, `drain_timeout = "20s"`, fmt.Sprintf("drain_timeout = %q", drain), 1)
	require.NotEqual(t, testNodeConfig, node)
	file := writeConfig(t, "etcd.hcl", node+fmt.Sprintf(`
cluster {
  name = "e2e-cluster"
  bind = "127.0.0.1:0"
  etcd {
    endpoints = [%q]
    base_key  = "/drover-e2e-%d"
    lease_ttl = "2s"
    heartbeat = "250ms"
  }
}
`, endpoint, time.Now().UnixNano()))
	p, found := startRun(ctx, t, bin, file, []string{"GORACE=exitcode=0"}, adminLine, memberLine)
	addr := found[0]
	c := testClient()
	code, body := get(t, c, "http://"+addr+"/readyz")
	require.Equal(t, http.StatusOK, code, body)

	stopEtcd()
	// Readiness turns once etcd has been silent for the lease: poll
	// /readyz until then.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		code, body = get(t, c, "http://"+addr+"/readyz")
		if code != http.StatusOK {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("/readyz still says ready with etcd down:\n%s", p.logs.String())
		}
	}
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "not ready: cluster member: etcd at "+endpoint+" has not answered for")
	status, err := exec.CommandContext(ctx, bin, "status", "--addr", addr).Output()
	require.NoError(t, err)
	assert.Contains(t, string(status), "node e2e (not ready)")
	assert.Contains(t, string(status), "\n  not ready: etcd at "+endpoint+" has not answered for")

	start := time.Now()
	out, err := p.terminate(ctx, t)
	took := time.Since(start)
	require.NoError(t, err, "exit status 0 after one SIGTERM; logs:\n%s", out)
	assert.Less(t, took, drain+3*time.Second, "drover run took %s to stop with drain_timeout %s; logs:\n%s", took, drain, out)
	assert.Contains(t, out, "did not leave cleanly", "the member says it left the lease to expire")
	t.Logf("with etcd down, drover run exited %s after SIGTERM (drain_timeout %s)", took.Round(time.Millisecond), drain)
	for _, r := range droverRaces(out) {
		t.Errorf("drover run reported a data race in Drover's code:\n%s", r)
	}
}

// startTestEtcd starts etcd on loopback ports with its data in a
// directory of the test's, and returns its endpoint and a function that
// kills it (also called at cleanup).
func startTestEtcd(ctx context.Context, t *testing.T, etcdBin string) (string, func()) {
	t.Helper()
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	endpoint := fmt.Sprintf("127.0.0.1:%d", port())
	peer := fmt.Sprintf("http://127.0.0.1:%d", port())
	cmd := exec.Command(etcdBin, "--name", "drover-e2e", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen-client-urls", "http://"+endpoint, "--advertise-client-urls", "http://"+endpoint,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "drover-e2e="+peer,
		"--logger", "zap", "--log-outputs", "stderr")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ready, done := make(chan struct{}), make(chan struct{})
	var log strings.Builder
	go func() {
		signal := ready
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if signal != nil && strings.Contains(sc.Text(), "serving client") {
				close(signal)
				signal = nil
			}
			if log.Len() < 1<<16 {
				log.WriteString(sc.Text() + "\n")
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	select {
	case <-ready:
	case <-done:
		t.Fatalf("etcd exited:\n%s", log.String())
	case <-ctx.Done():
		t.Fatal("etcd not ready in time")
	}
	return endpoint, stop
}
