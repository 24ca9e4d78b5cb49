package cluster_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/cluster"
)

// The fault tests run three members on a provider, put them under load,
// inject a fault, and check that the cluster heals: every member is back
// in one view within a stated bound, every member takes work again, every
// accepted task got exactly one result, no task that was not idempotent
// ran twice, and no member was dropped that should not have been. They
// use the providers' defaults (a faster etcd heartbeat); the bounds below
// are for those.
//
// Rounds: two under -short, three without.

const (
	faultLease      = cluster.DefaultLeaseTTL      // etcd lease TTL
	faultHeartbeat  = 250 * time.Millisecond       // etcd lease renewal
	faultRefresh    = cluster.DefaultRefresh       // automanaged poll interval
	faultHealthWait = cluster.DefaultHealthTimeout // automanaged poll timeout
)

// healBound is how long after a fault ends the cluster may take to be back
// in one view, every member ready: the lease TTL + 2 s for etcd, a poll
// (refresh + timeout) + 2 s for automanaged. A member restarted at its
// address also waits for protoactor's remote, which gives up on a
// connection attempt to the dead process only after 2 s.
func healBound(provider string) time.Duration {
	if provider == "etcd" {
		return faultLease + 2*time.Second
	}
	return faultRefresh + faultHealthWait + 2*time.Second
}

// dropBound is how long after a member stops answering the others may
// take to drop it: the lease plus a renewal for etcd, a poll for
// automanaged, plus scheduling slack (the tests run beside the rest of
// the suite on two cores: a 2 s lease there saw live members' renewals
// starved past it).
func dropBound(provider string) time.Duration {
	if provider == "etcd" {
		return faultLease + faultHeartbeat + 1500*time.Millisecond
	}
	return faultRefresh + faultHealthWait + 1500*time.Millisecond
}

func faultRounds() int {
	if testing.Short() {
		return 2
	}
	return 3
}

// faultCluster is three members a, b and c on one provider, each on fixed
// ports so that it can restart at its address.
type faultCluster struct {
	t        *testing.T
	provider string
	etcd     *etcdProc
	names    []string
	args     [][]string
	ps       []*proc
}

func newFaultCluster(t *testing.T, provider string) *faultCluster {
	t.Helper()
	fc := &faultCluster{t: t, provider: provider, names: []string{"a", "b", "c"}}
	if provider == "etcd" {
		fc.etcd = startEtcd(t)
	}
	n := len(fc.names)
	binds, health, seeds := make([]int, n), make([]int, n), make([]string, n)
	for i := range fc.names {
		binds[i], health[i] = freePort(t), freePort(t)
		seeds[i] = "127.0.0.1:" + strconv.Itoa(health[i])
	}
	prefix := "/drover-fault-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range fc.names {
		args := []string{"-bind", "127.0.0.1:" + strconv.Itoa(binds[i]), "-workers", "2", "-concurrency", "4", "-report", "100ms"}
		if provider == "etcd" {
			args = append(args, "-etcd", fc.etcd.endpoint, "-etcd-prefix", prefix,
				"-lease", faultLease.String(), "-heartbeat", faultHeartbeat.String())
		} else {
			args = append(args, "-health-port", strconv.Itoa(health[i]), "-seeds", strings.Join(seeds, ","),
				"-refresh", faultRefresh.String(), "-health-timeout", faultHealthWait.String())
		}
		fc.args = append(fc.args, args)
	}
	fc.ps = make([]*proc, n)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range fc.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs <- fmt.Sprint(r)
				}
			}()
			fc.ps[i] = startProc(&goTB{t}, fc.names[i], fc.args[i]...)
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	for _, p := range fc.ps {
		p.tb = t
	}
	fc.waitHealed(30 * time.Second)
	return fc
}

// waitHealed waits until every member sees the three up with pool work
// and says it is ready, and returns how long that took.
func (fc *faultCluster) waitHealed(bound time.Duration) time.Duration {
	fc.t.Helper()
	start := time.Now()
	for _, p := range fc.ps {
		left := max(bound-time.Since(start), time.Millisecond)
		w := p.call(fmt.Sprintf("wait work %d %s", len(fc.ps), left), left+10*time.Second)
		require.Equal(fc.t, true, w["ok"], "member %s does not see every member up within %s: %v\nview: %v", p.name, bound, w["error"], p.view())
	}
	for _, p := range fc.ps {
		left := max(bound-time.Since(start), time.Millisecond)
		w := p.call("waitready "+left.String(), left+10*time.Second)
		require.Equal(fc.t, true, w["ok"], "member %s not ready within %s: %v", p.name, bound, w["health"])
	}
	return time.Since(start)
}

// load is a batch of "mark" tasks submitted on one member.
type load struct {
	p        *proc
	tag      string
	accepted int
}

// submit sends n tasks of d on p, every other one idempotent.
func (fc *faultCluster) submit(p *proc, tag string, n int, d time.Duration) *load {
	fc.t.Helper()
	acc := p.submit(fmt.Sprintf("%d mark %s:%s 2 0", n, tag, d), 20*time.Second)
	require.Equal(fc.t, n, num(acc["accepted"]), "member %s rejected tasks: %v", p.name, acc["rejected"])
	return &load{p: p, tag: tag, accepted: n}
}

// results waits for the batch's results: every accepted task ended once;
// idempotent ones all succeeded; the others succeeded or, when lost may
// be, ended with ErrMemberLost. It returns the tasks by member and the
// number of lost ones.
func (fc *faultCluster) results(l *load, lostMay bool) (map[string]int, int) {
	fc.t.Helper()
	res := l.p.reply("results", 60*time.Second)
	require.Equal(fc.t, l.accepted, num(res["ended"]), "batch %s: accepted tasks without a result", l.tag)
	idem, plain := counts(res["idempotent"]), counts(res["outcomes"])
	assert.Equal(fc.t, map[string]int{"ok": (l.accepted + 1) / 2}, idem, "batch %s: idempotent tasks", l.tag)
	if lostMay {
		assert.Equal(fc.t, l.accepted/2, plain["ok"]+plain["lost"]+plain["lost-unsent"], "batch %s: outcomes %v", l.tag, plain)
	} else {
		assert.Equal(fc.t, map[string]int{"ok": l.accepted / 2}, plain, "batch %s: outcomes", l.tag)
	}
	return counts(res["by_member"]), plain["lost"] + plain["lost-unsent"]
}

// everyMemberWorks has each member submit a batch and checks that each
// batch ran on every member and all succeeded.
func (fc *faultCluster) everyMemberWorks(tag string) {
	fc.t.Helper()
	var loads []*load
	for _, p := range fc.ps {
		loads = append(loads, fc.submit(p, tag+"-from-"+p.name, 60, 20*time.Millisecond))
	}
	for _, l := range loads {
		by, _ := fc.results(l, false)
		for _, n := range fc.names {
			assert.Positive(fc.t, by[n], "batch %s: member %s took no task: %v", l.tag, n, by)
		}
	}
}

// ranOnce checks, over the marks of the live members, that no task that
// was not idempotent (odd index) ran more than once.
func (fc *faultCluster) ranOnce() {
	fc.t.Helper()
	total := map[string]int{}
	for _, p := range fc.ps {
		for id, n := range counts(p.call("marks", 10*time.Second)["marks"]) {
			total[id] += n
		}
	}
	require.NotEmpty(fc.t, total)
	for id, n := range total {
		i := strings.LastIndexByte(id, '-')
		k, err := strconv.Atoi(id[i+1:])
		require.NoError(fc.t, err, id)
		if k%2 == 1 {
			assert.LessOrEqual(fc.t, n, 1, "task %s is not idempotent and ran %d times", id, n)
		}
	}
}

func isEvent(kind, member string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["event"] == kind && m["member"] == member }
}

// noneLeft checks that no member saw another one leave.
func (fc *faultCluster) noneLeft(when string) {
	fc.t.Helper()
	for _, p := range fc.ps {
		for _, n := range fc.names {
			if p.has(isEvent("left", n)) {
				ev := p.waitFor(isEvent("left", n), true, time.Second)
				fc.t.Errorf("%s: member %s saw %s leave: %v (%s ago)", when, p.name, n, ev["reason"], time.Since(ev["_at"].(time.Time)).Round(time.Millisecond))
			}
		}
	}
}

// TestFaultEtcdOutage stops etcd (SIGKILL) under load for twice the lease
// and starts it again on the same data and port. The members go on
// working with each other during the outage and nobody is dropped; once
// etcd is back, every member is ready again within healBound.
func TestFaultEtcdOutage(t *testing.T) {
	needEtcd(t)
	fc := newFaultCluster(t, "etcd")
	a := fc.ps[0]
	for round := range faultRounds() {
		tag := "outage" + strconv.Itoa(round)
		l := fc.submit(a, tag, 200, 100*time.Millisecond)
		fc.etcd.stop()
		down := time.Now()
		// The fault: etcd stays down for twice the lease.
		time.Sleep(2 * faultLease)
		for _, p := range fc.ps {
			h := p.call("health", 10*time.Second)["health"].(map[string]any)
			assert.Equal(t, false, h["Ready"], "member %s is ready with etcd down for %s", p.name, time.Since(down))
			assert.Contains(t, h["Reason"], "has not answered", "member %s", p.name)
		}
		fc.etcd.start()
		healed := fc.waitHealed(healBound("etcd"))
		t.Logf("round %d: etcd down %s; back in one view, every member ready, %s after etcd returned", round, 2*faultLease, healed.Round(time.Millisecond))
		by, _ := fc.results(l, false)
		assert.Len(t, by, 3, "the load ran on %v", by)
		fc.everyMemberWorks(tag)
		fc.noneLeft(tag)
	}
	fc.ranOnce()
}

// TestFaultPausedMember stops member c (SIGSTOP) under load for longer
// than the others wait, then lets it go on (SIGCONT). The others drop it
// within dropBound; it comes back (with etcd, as a new incarnation: its
// lease expired) within healBound, takes work again, and never drops the
// others for its own pause.
func TestFaultPausedMember(t *testing.T) {
	for _, provider := range []string{"automanaged", "etcd"} {
		t.Run(provider, func(t *testing.T) {
			if provider == "etcd" {
				needEtcd(t)
			}
			fc := newFaultCluster(t, provider)
			a, b, c := fc.ps[0], fc.ps[1], fc.ps[2]
			pause := dropBound(provider) + time.Second
			for round := range faultRounds() {
				tag := "pause" + strconv.Itoa(round)
				l := fc.submit(a, tag, 200, 100*time.Millisecond)
				c.pause()
				stopped := time.Now()
				resumed := false
				defer func() {
					if !resumed {
						c.resume()
					}
				}()
				for _, p := range []*proc{a, b} {
					left := p.waitFor(isEvent("left", "c"), true, dropBound(provider)+5*time.Second)
					at := left["_at"].(time.Time).Sub(stopped)
					assert.LessOrEqual(t, at, dropBound(provider), "member %s dropped c after %s: %v", p.name, at, left["reason"])
					t.Logf("round %d: %s dropped paused c after %s: %v", round, p.name, at.Round(time.Millisecond), left["reason"])
				}
				// The fault: c stays paused past the bound.
				time.Sleep(time.Until(stopped.Add(pause)))
				c.resume()
				resumed = true
				healed := fc.waitHealed(healBound(provider))
				t.Logf("round %d: c paused %s; back in one view, every member ready, %s after it resumed", round, pause, healed.Round(time.Millisecond))
				for _, p := range []*proc{a, b} {
					p.waitFor(isEvent("joined", "c"), true, time.Second)
				}
				by, lost := fc.results(l, true)
				t.Logf("round %d: the load ran %v; %d tasks not idempotent ended with ErrMemberLost (their outcome unknown)", round, by, lost)
				fc.everyMemberWorks(tag)
				fc.noneLeft(tag)
				if provider == "etcd" {
					h := c.call("health", 10*time.Second)["health"].(map[string]any)
					assert.Equal(t, round+2, num(h["Incarnations"]), "c did not rejoin as a new incarnation")
				}
			}
			fc.ranOnce()
		})
	}
}

// TestFaultFastRestart kills member c (SIGKILL) under load and starts it
// again at the same address at once. The others drop the dead process,
// take the new one within healBound, and never drop the new one for its
// predecessor's departure (a connection attempt to the dead process that
// fails later, its lapsing key).
func TestFaultFastRestart(t *testing.T) {
	for _, provider := range []string{"automanaged", "etcd"} {
		t.Run(provider, func(t *testing.T) {
			if provider == "etcd" {
				needEtcd(t)
			}
			fc := newFaultCluster(t, provider)
			a, b := fc.ps[0], fc.ps[1]
			for round := range faultRounds() {
				tag := "restart" + strconv.Itoa(round)
				l := fc.submit(a, tag, 200, 100*time.Millisecond)
				fc.ps[2].kill()
				killed := time.Now()
				fc.ps[2] = startProc(t, "c", fc.args[2]...)
				t.Logf("round %d: c restarted, ready %s after the kill", round, time.Since(killed).Round(time.Millisecond))
				for _, p := range []*proc{a, b} {
					p.waitFor(isEvent("left", "c"), true, dropBound(provider)+5*time.Second)
				}
				healed := fc.waitHealed(healBound(provider))
				t.Logf("round %d: back in one view, every member ready, %s after c was ready", round, healed.Round(time.Millisecond))
				for _, p := range []*proc{a, b} {
					p.waitFor(isEvent("joined", "c"), true, time.Second)
				}
				by, lost := fc.results(l, true)
				t.Logf("round %d: the load ran %v; %d tasks not idempotent ended with ErrMemberLost", round, by, lost)
				// Work over more than the lease and the remote's 2 s retry,
				// when a stale event about the old process would come.
				fc.everyMemberWorks(tag)
				l2 := fc.submit(a, tag+"-after", 300, 100*time.Millisecond)
				by2, _ := fc.results(l2, false)
				assert.Positive(t, by2["c"], "the new c took no task: %v", by2)
				fc.everyMemberWorks(tag + "-after")
				fc.noneLeft(tag)
			}
		})
	}
}

// TestShutdownWithEtcdDown stops a member while etcd is down: Shutdown
// gives up on deregistering at its ctx's deadline (the lease expires on
// its own) instead of retrying for ever, so the process exits in time.
func TestShutdownWithEtcdDown(t *testing.T) {
	needEtcd(t)
	e := startEtcd(t)
	prefix := "/drover-shutdown-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	args := []string{"-etcd", e.endpoint, "-etcd-prefix", prefix, "-lease", "2s", "-drain", "1s"}
	a := startProc(t, "a", args...)
	b := startProc(t, "b", args...)
	require.Equal(t, true, a.call("wait work 2 20s", 25*time.Second)["ok"])
	e.stop()
	start := time.Now()
	b.terminate()
	q := b.reply("quit", 10*time.Second)
	<-b.exited
	took := time.Since(start)
	assert.Less(t, took, 1*time.Second+2*time.Second, "b took %s to stop with a drain of 1s", took)
	assert.Contains(t, q["error"], "could not revoke the member's lease", "Shutdown says the lease was left to expire")
	t.Logf("with etcd down, b stopped %s after SIGTERM (drain 1s): %v", took.Round(time.Millisecond), q["error"])
}

// TestShutOutMemberIsNotReady runs a member c that the others never count
// in (their seeds do not name it) while it sees them. c hears no report
// from anyone though they answer its probes: it counts itself shut out,
// rejoins as a new incarnation, and says it is not ready, with the reason,
// for as long as that lasts; the others never take it in.
func TestShutOutMemberIsNotReady(t *testing.T) {
	skipShort(t)
	names := []string{"a", "b", "c"}
	ports := []int{freePort(t), freePort(t), freePort(t)}
	seed := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	ps := make([]*proc, len(names))
	for i, n := range names {
		seeds := seed(0) + "," + seed(1)
		if n == "c" {
			seeds += "," + seed(2)
		}
		ps[i] = startProc(t, n, "-health-port", strconv.Itoa(ports[i]), "-seeds", seeds, "-report", "100ms")
	}
	a, c := ps[0], ps[2]
	require.Equal(t, true, a.call("wait work 2 20s", 25*time.Second)["ok"])
	w := c.call("waitunready 20s", 25*time.Second)
	require.Equal(t, true, w["ok"], "c never noticed it is shut out: %v\n%s", w["health"], tail(c.stderr.String()))
	h := w["health"].(map[string]any)
	assert.Contains(t, h["Reason"], "shut out: no report from any of the other members")
	w = c.call("waitrejoin 10s", 15*time.Second)
	require.Equal(t, true, w["ok"], "c did not rejoin: %v", w["health"])
	h = w["health"].(map[string]any)
	assert.Equal(t, false, h["Ready"], "a new incarnation is no proof of being in")
	assert.Contains(t, h["Reason"], "shut out")
	assert.NotContains(t, a.view(), "c")
	assert.False(t, a.has(isEvent("joined", "c")), "a took c in")
}
