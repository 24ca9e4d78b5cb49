package cluster_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// remoteProfile, when set, names a directory where BenchmarkRemote writes
// a CPU profile of each member process for each sub-benchmark:
// DIR/<sub-benchmark>-{a,b}.prof (go test ... -args -remote.cpuprofile DIR).
var remoteProfile = flag.String("remote.cpuprofile", "", "directory for CPU profiles of BenchmarkRemote's member processes")

// The benchmark pair: member A has no pool "work", member B has it, so
// every task submitted on A runs on B. Started at the first benchmark,
// stopped by TestMain.
var (
	benchOnce sync.Once
	benchA    *proc
	benchB    *proc
	benchErr  string
)

func benchPair(b *testing.B) (*proc, *proc) {
	benchOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				benchErr = fmt.Sprint(r)
			}
		}()
		// The pair outlives the benchmark that starts it: TestMain stops it.
		tb := &keepTB{goTB{b}}
		ps := startCluster(tb, clusterSpec{names: []string{"bench-a", "bench-b"}, args: func(i int) []string {
			if i == 0 {
				return []string{"-pools", ""}
			}
			return []string{"-pools", "work"}
		}})
		benchA, benchB = ps[0], ps[1]
		if ok := benchA.call("wait work 1 20s", 25*time.Second)["ok"]; ok != true {
			panic("member B never came up on A")
		}
	})
	if benchErr != "" {
		b.Fatal(benchErr)
	}
	benchA.tb, benchB.tb = b, b
	return benchA, benchB
}

// keepTB is a goTB whose cleanups are dropped.
type keepTB struct{ goTB }

func (*keepTB) Cleanup(func()) {}

func stopBenchPair() {
	for _, p := range []*proc{benchA, benchB} {
		if p != nil {
			p.tb = &goTB{p.tb}
			func() {
				defer func() { _ = recover() }()
				p.stop()
			}()
		}
	}
}

// BenchmarkRemote measures tasks per second between two member processes
// (submit on A, run on B) beside protoactor's raw remote request/response
// (a RequestFuture per task) in the same run: to an echo actor (transport
// alone) and to B's pool actor (the same work as Drover's path). Each
// runs from Window goroutines that each wait for one task at a time.
// Metrics: tasks/s, the CPU time per task of each process, A's
// allocations per task, and per task the read and write system calls and
// the context switches of each process (what a goroutine hop or a socket
// message more would show).
//
//	go test -run '^$' -bench BenchmarkRemote -benchtime 20000x ./actors/cluster/
//
// With -args -remote.cpuprofile DIR, each sub-benchmark writes a CPU
// profile of both processes there (see remoteProfile).
func BenchmarkRemote(b *testing.B) {
	if testing.Short() {
		b.Skip("starts member processes; skipped with -short")
	}
	impls := []struct {
		name string
		cmd  func(n, window int, addr, name string) string
	}{
		{"drover", func(n, w int, _, _ string) string { return fmt.Sprintf("bench %d %d", n, w) }},
		{"protoactor_request_echo", func(n, w int, addr, _ string) string { return fmt.Sprintf("bench-raw %d %d %s echo", n, w, addr) }},
		// B's node is named after the member: its pool actor is name/work.
		{"protoactor_request_pool", func(n, w int, addr, name string) string {
			return fmt.Sprintf("bench-raw %d %d %s pool %s", n, w, addr, name)
		}},
	}
	for _, window := range []int{1000, 1} {
		for _, impl := range impls {
			b.Run("window="+strconv.Itoa(window)+"/"+impl.name, func(b *testing.B) {
				a, bm := benchPair(b)
				w := min(window, b.N)
				cmd := impl.cmd(b.N, w, bm.address, bm.name)
				// Each sub-benchmark starts from a settled heap in both
				// processes, not in the wake of the one before.
				a.call("settle", time.Minute)
				bm.call("settle", time.Minute)
				a0, b0 := a.call("cpu", 10*time.Second), bm.call("cpu", 10*time.Second)
				stop := startProfiles(b, a, bm)
				b.ResetTimer()
				r := a.call(cmd, 10*time.Minute)
				b.StopTimer()
				stop()
				a1, b1 := a.call("cpu", 10*time.Second), bm.call("cpu", 10*time.Second)
				cpuB0, cpuB1 := b0["seconds"].(float64), b1["seconds"].(float64)
				if errs, _ := r["errors"].([]any); len(errs) > 0 {
					b.Fatalf("%s: errors %v", impl.name, errs)
				}
				n := float64(num(r["n"]))
				b.ReportMetric(r["tasks_per_sec"].(float64), "tasks/s")
				b.ReportMetric(r["cpu_us_per_task"].(float64), "cpuA-µs/task")
				b.ReportMetric((cpuB1-cpuB0)*1e6/n, "cpuB-µs/task")
				b.ReportMetric(r["allocs_per_task"].(float64), "allocsA/task")
				// Socket reads and writes per task (and the few others: the
				// profile's, the protocol's lines), from /proc/self/io.
				calls := func(x0, x1 map[string]any) float64 {
					return float64(num(x1["syscr"])+num(x1["syscw"])-num(x0["syscr"])-num(x0["syscw"])) / n
				}
				b.ReportMetric(calls(a0, a1), "rwcallsA/task")
				b.ReportMetric(calls(b0, b1), "rwcallsB/task")
				b.ReportMetric(float64(num(a1["csw"])-num(a0["csw"]))/n, "cswA/task")
				b.ReportMetric(float64(num(b1["csw"])-num(b0["csw"]))/n, "cswB/task")
			})
		}
	}
}

// startProfiles starts a CPU profile of a and bm when -remote.cpuprofile
// is set, and returns what stops them.
func startProfiles(b *testing.B, a, bm *proc) func() {
	if *remoteProfile == "" {
		return func() {}
	}
	base := filepath.Join(*remoteProfile, strings.NewReplacer("/", "-", "=", "").Replace(strings.TrimPrefix(b.Name(), "BenchmarkRemote/")))
	for _, p := range []struct {
		proc   *proc
		suffix string
	}{{a, "-a.prof"}, {bm, "-b.prof"}} {
		path, err := filepath.Abs(base + p.suffix)
		if err != nil {
			b.Fatal(err)
		}
		if e, _ := p.proc.call("profile "+path, 10*time.Second)["error"].(string); e != "" {
			b.Fatalf("profile of %s: %s", p.proc.name, e)
		}
	}
	return func() {
		for _, p := range []*proc{a, bm} {
			if e, _ := p.call("profile-stop", 10*time.Second)["error"].(string); e != "" {
				b.Fatalf("profile of %s: %s", p.name, e)
			}
		}
	}
}
