// Command testmember is a cluster member driven over stdin, for the
// package's multi-process tests and benchmarks: every member runs in its
// own process, as protoactor's remote wants.
//
// It starts a member from its flags, prints one line "@{...}" (JSON) when
// ready and one per membership event, then reads commands, one per line,
// and answers each with a line "@{"reply": ...}". Other output (protoactor
// may print) never starts with "@".
//
// Commands:
//
//	wait POOL N TIMEOUT             wait until N members are up with POOL
//	waitview N TIMEOUT              wait until the view lists N members
//	submit N TYPE ARG IDEM TIMEOUT  submit N tasks to the cluster (IDEM: 0 none,
//	                                1 all, 2 every other one idempotent); answers
//	                                "accepted" at once and "results" when all ended
//	view                            the member's View
//	stats                           the member's and its node's counters
//	bench N WINDOW                  N noop tasks to pool "work", WINDOW in flight
//	bench-raw N WINDOW ADDR TARGET  N raw protoactor requests to ADDR's echo actor
//	                                (TARGET echo) or pool work (TARGET pool)
//	cpu                             the CPU time this process used so far, its read
//	                                and write system calls and its threads' context
//	                                switches (Linux; else 0)
//	settle                          collect garbage and return freed memory to the OS
//	                                now, so that a benchmark starts from a settled heap
//	profile FILE                    start a CPU profile into FILE (the -cpuprofile
//	                                flag's, if any, ends there)
//	profile-stop                    stop the CPU profile and close its file
//	touch ADDR TIMEOUT              a raw request to ADDR's control actor
//	health                          the member's Health
//	waitready TIMEOUT               wait until the member's Health is ready
//	waitunready TIMEOUT             wait until the member's Health is not ready
//	waitrejoin TIMEOUT              wait until the member rejoined as a new incarnation
//	marks                           how many times each "mark" task ran here
//	quit                            leave the cluster and exit (as SIGTERM does)
//
// Handlers: "noop" returns nothing, "echo" returns its payload, "sleep"
// sleeps for its payload (a Go duration) or until its context ends, "mark"
// takes "ID/DURATION", counts a run of ID and sleeps like "sleep". The
// submit command gives each "mark" task the payload "ARG-i/ARG's duration"
// when ARG is "TAG:DURATION".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/cluster"
	"github.com/drover-go/drover/protos"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testmember:", err)
		os.Exit(1)
	}
}

var outMu sync.Mutex

// say prints one protocol line.
func say(v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"reply": "error", "error": err.Error()})
	}
	outMu.Lock()
	fmt.Fprintf(os.Stdout, "@%s\n", b)
	outMu.Unlock()
}

func run() error {
	name := flag.String("name", "", "member name")
	bind := flag.String("bind", cluster.DefaultBind, "remote bind address")
	healthPort := flag.Int("health-port", 0, "automanaged HTTP port")
	seeds := flag.String("seeds", "", "automanaged seeds, comma-separated")
	refresh := flag.Duration("refresh", 200*time.Millisecond, "automanaged refresh")
	healthTimeout := flag.Duration("health-timeout", 0, "automanaged poll timeout (0: default)")
	lease := flag.Duration("lease", 0, "etcd lease TTL (0: default)")
	heartbeat := flag.Duration("heartbeat", 0, "etcd lease renewal interval (0: default)")
	lostAfter := flag.Duration("lost-after", 0, "WithLostAfter (0: default)")
	drain := flag.Duration("drain", 10*time.Second, "how long quit (or SIGTERM) lets Shutdown take")
	etcdEndpoints := flag.String("etcd", "", "etcd endpoints, comma-separated (etcd provider)")
	etcdPrefix := flag.String("etcd-prefix", "/drover-test", "etcd base key")
	ca := flag.String("ca", "", "CA certificate (PEM) for mTLS")
	cert := flag.String("cert", "", "member certificate (PEM)")
	key := flag.String("key", "", "member key (PEM)")
	pools := flag.String("pools", "work", "io pools to run, comma-separated; empty: only a pool named local")
	workers := flag.Int("workers", 4, "workers per pool")
	concurrency := flag.Int("concurrency", 64, "tasks per worker")
	queue := flag.Int("queue", 4096, "queue capacity per pool")
	report := flag.Duration("report", 100*time.Millisecond, "report interval")
	strategy := flag.String("strategy", "", "router strategy between members")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until exit")
	logLevel := flag.String("log", "", "log to stderr at this level (trace, debug, info, ...)")
	flag.Parse()
	if *cpuProfile != "" {
		if err := startProfile(*cpuProfile); err != nil {
			return err
		}
		defer func() { _ = stopProfile() }()
	}

	opts := []cluster.Option{
		cluster.WithBind(*bind),
		cluster.WithReportEvery(*report, 0),
		cluster.WithEventHook(func(e cluster.Event) {
			say(map[string]any{"event": e.Kind.String(), "member": e.Member.Name, "reason": e.Reason})
		}),
	}
	if *name != "" {
		opts = append(opts, cluster.WithName(*name))
	}
	if *logLevel != "" {
		opts = append(opts, cluster.WithLogger(hclog.New(&hclog.LoggerOptions{Name: *name, Level: hclog.LevelFromString(*logLevel), Output: os.Stderr})))
	}
	if *lostAfter != 0 {
		opts = append(opts, cluster.WithLostAfter(*lostAfter))
	}
	if *strategy != "" {
		opts = append(opts, cluster.WithStrategy(*strategy))
	}
	if *etcdEndpoints != "" {
		opts = append(opts, cluster.WithProvider(cluster.Etcd{Endpoints: strings.Split(*etcdEndpoints, ","), BaseKey: *etcdPrefix,
			LeaseTTL: *lease, Heartbeat: *heartbeat}))
	} else {
		am := cluster.Automanaged{Port: *healthPort, Refresh: *refresh, Timeout: *healthTimeout}
		if *seeds != "" {
			am.Seeds = strings.Split(*seeds, ",")
		}
		opts = append(opts, cluster.WithProvider(am))
	}
	if *ca != "" {
		cfg, err := cluster.LoadTLS(*ca, *cert, *key)
		if err != nil {
			return err
		}
		opts = append(opts, cluster.WithTLS(cfg))
	}
	nodeOpts := []actors.Option{
		actors.WithHandler("mark", func(ctx context.Context, p []byte) ([]byte, error) {
			id, d, _ := strings.Cut(string(p), "/")
			marks.Lock()
			marks.n[id]++
			marks.Unlock()
			return sleep(ctx, d)
		}),
		actors.WithHandler("noop", func(context.Context, []byte) ([]byte, error) { return nil, nil }),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }),
		actors.WithHandler("sleep", func(ctx context.Context, p []byte) ([]byte, error) { return sleep(ctx, string(p)) }),
	}
	if *pools == "" {
		nodeOpts = append(nodeOpts, actors.WithPool(actors.PoolConfig{Name: "local", Kind: actors.KindIO, Workers: 1}))
	}
	for _, p := range strings.Split(*pools, ",") {
		if p != "" {
			nodeOpts = append(nodeOpts, actors.WithPool(actors.PoolConfig{
				Name: p, Kind: actors.KindIO, Workers: *workers, Concurrency: *concurrency, QueueCapacity: *queue,
			}))
		}
	}
	opts = append(opts, cluster.WithNodeOptions(nodeOpts...))

	m, err := cluster.NewMember(opts...)
	if err != nil {
		return err
	}
	// The echo actor answers bench-raw's requests: protoactor's remote
	// request/response with no work behind it.
	if _, err := m.System().Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if env, ok := c.Message().(*protos.TaskEnvelope); ok {
			c.Respond(&protos.TaskResult{TaskId: env.GetId()})
		}
	}), "bench-echo"); err != nil {
		return err
	}
	say(map[string]any{"event": "ready", "name": m.Name(), "address": m.Address(), "id": m.ID()})

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-sig:
			return leave(m, *drain)
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "quit" {
				return leave(m, *drain)
			}
			command(m, strings.Fields(line))
		}
	}
}

// marks counts the runs of each "mark" task.
var marks = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func sleep(ctx context.Context, p string) ([]byte, error) {
	d, err := time.ParseDuration(p)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func leave(m *cluster.Member, drain time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := m.Shutdown(ctx)
	say(map[string]any{"reply": "quit", "error": errString(err)})
	return err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func command(m *cluster.Member, f []string) {
	if len(f) == 0 {
		return
	}
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	num := func(i int) int { n, _ := strconv.Atoi(arg(i)); return n }
	dur := func(i int) time.Duration { d, _ := time.ParseDuration(arg(i)); return d }
	switch f[0] {
	case "wait":
		ctx, cancel := context.WithTimeout(context.Background(), dur(3))
		err := m.WaitPool(ctx, arg(1), num(2))
		cancel()
		say(map[string]any{"reply": "wait", "ok": err == nil, "error": errString(err)})
	case "waitview":
		ctx, cancel := context.WithTimeout(context.Background(), dur(2))
		err := m.WaitView(ctx, func(v cluster.View) bool { return len(v.Members) >= num(1) })
		cancel()
		say(map[string]any{"reply": "waitview", "ok": err == nil, "error": errString(err)})
	case "submit":
		submit(m, num(1), arg(2), arg(3), num(4), dur(5))
	case "view":
		say(map[string]any{"reply": "view", "view": m.View()})
	case "stats":
		say(map[string]any{"reply": "stats", "member": m.Stats(), "node": m.Node().Stats().Pools})
	case "bench":
		bench(m, num(1), num(2))
	case "bench-raw":
		benchRaw(m, num(1), num(2), arg(3), arg(4), arg(5))
	case "waitready":
		ctx, cancel := context.WithTimeout(context.Background(), dur(1))
		err := m.WaitView(ctx, func(cluster.View) bool { return m.Health().Ready })
		cancel()
		say(map[string]any{"reply": "waitready", "ok": err == nil, "error": errString(err), "health": m.Health()})
	case "waitunready":
		ctx, cancel := context.WithTimeout(context.Background(), dur(1))
		err := m.WaitView(ctx, func(cluster.View) bool { return !m.Health().Ready })
		cancel()
		say(map[string]any{"reply": "waitunready", "ok": err == nil, "error": errString(err), "health": m.Health()})
	case "waitrejoin":
		ctx, cancel := context.WithTimeout(context.Background(), dur(1))
		err := m.WaitView(ctx, func(cluster.View) bool { return m.Health().Incarnations >= 2 })
		cancel()
		say(map[string]any{"reply": "waitrejoin", "ok": err == nil, "error": errString(err), "health": m.Health()})
	case "health":
		say(map[string]any{"reply": "health", "health": m.Health()})
	case "marks":
		marks.Lock()
		n := make(map[string]int, len(marks.n))
		for k, v := range marks.n {
			n[k] = v
		}
		marks.Unlock()
		say(map[string]any{"reply": "marks", "marks": n})
	case "cpu":
		r, w := ioCalls()
		say(map[string]any{"reply": "cpu", "seconds": cpuSeconds(), "syscr": r, "syscw": w, "csw": contextSwitches()})
	case "settle":
		runtime.GC()
		debug.FreeOSMemory()
		say(map[string]any{"reply": "settle"})
	case "profile":
		say(map[string]any{"reply": "profile", "error": errString(startProfile(arg(1)))})
	case "profile-stop":
		say(map[string]any{"reply": "profile-stop", "error": errString(stopProfile())})
	case "touch":
		_, err := m.System().Root.RequestFuture(actor.NewPID(arg(1), "drover-cluster"), &actor.Touch{}, dur(2)).Result()
		say(map[string]any{"reply": "touch", "ok": err == nil, "error": errString(err)})
	default:
		say(map[string]any{"reply": "error", "error": "unknown command " + f[0]})
	}
}

// submit sends n tasks and reports, when all ended, how they ended: by
// member, and by outcome ("ok", "lost" for ErrMemberLost with ErrNoAnswer,
// "lost-unsent" for ErrMemberLost with ErrNotSent, else the error).
func submit(m *cluster.Member, n int, typ, payload string, idem int, timeout time.Duration) {
	type sent struct {
		f    *actors.Future
		idem bool
	}
	var fs []sent
	rejected := map[string]int{}
	for i := 0; i < n; i++ {
		isIdem := idem == 1 || idem == 2 && i%2 == 0
		var opts []cluster.SubmitOption
		if isIdem {
			opts = append(opts, cluster.Idempotent())
		}
		p := payload
		if tag, d, ok := strings.Cut(payload, ":"); ok && typ == "mark" {
			p = tag + "-" + strconv.Itoa(i) + "/" + d
		}
		t := actors.Task{Type: typ, Pool: "work", Payload: []byte(p), Timeout: timeout}
		f, err := m.Submit(context.Background(), t, opts...)
		if err != nil {
			rejected[err.Error()]++
			continue
		}
		fs = append(fs, sent{f, isIdem})
	}
	say(map[string]any{"reply": "accepted", "accepted": len(fs), "rejected": rejected})
	go func() {
		byMember := map[string]int{}
		outcomes := map[string]int{}    // non-idempotent tasks
		idemOutcome := map[string]int{} // idempotent tasks
		for _, s := range fs {
			res, err := s.f.Wait(context.Background())
			outcome := "ok"
			switch {
			case err == nil:
				byMember[res.Node]++
			case errors.Is(err, cluster.ErrMemberLost) && errors.Is(err, cluster.ErrNoAnswer) && errors.Is(err, actors.ErrWorkerCrashed):
				outcome = "lost"
			case errors.Is(err, cluster.ErrMemberLost) && errors.Is(err, cluster.ErrNotSent) && errors.Is(err, actors.ErrWorkerCrashed):
				outcome = "lost-unsent"
			default:
				outcome = err.Error()
			}
			if s.idem {
				idemOutcome[outcome]++
			} else {
				outcomes[outcome]++
			}
		}
		say(map[string]any{"reply": "results", "ended": len(fs), "by_member": byMember, "outcomes": outcomes, "idempotent": idemOutcome, "stats": m.Stats()})
	}()
}

// bench runs n noop tasks on pool "work" from window goroutines, each
// submitting and waiting for one task at a time, and reports tasks per
// second and this process's allocations per task.
func bench(m *cluster.Member, n, window int) {
	report(m, "bench", n, window, func() error {
		f, err := m.Submit(context.Background(), actors.Task{Type: "noop", Pool: "work"})
		if err != nil {
			return err
		}
		_, err = f.Wait(context.Background())
		return err
	})
}

// benchRaw runs n protoactor request/responses (a RequestFuture each) to
// addr's echo actor, or to its pool "work" (target "pool"; the node there
// is named after its member, node), from window goroutines like bench.
func benchRaw(m *cluster.Member, n, window int, addr, target, node string) {
	pid := actor.NewPID(addr, "bench-echo")
	if target == "pool" {
		pid = actor.NewPID(addr, node+"/work")
	}
	root := m.System().Root
	report(m, "bench-raw", n, window, func() error {
		_, err := root.RequestFuture(pid, &protos.TaskEnvelope{Id: "x", Type: "noop", Pool: "work"}, 10*time.Second).Result()
		return err
	})
}

// profile is the file of the CPU profile running, if any.
var profile struct {
	sync.Mutex
	f *os.File
}

// startProfile starts a CPU profile into path, ending the one running.
func startProfile(path string) error {
	if err := stopProfile(); err != nil {
		return err
	}
	profile.Lock()
	defer profile.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	profile.f = f
	return nil
}

// stopProfile ends the CPU profile running, if any.
func stopProfile() error {
	profile.Lock()
	defer profile.Unlock()
	if profile.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := profile.f.Close()
	profile.f = nil
	return err
}

// ioCalls returns the read and write system calls this process made, from
// /proc/self/io; 0 where it cannot be read.
func ioCalls() (reads, writes int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// contextSwitches returns the context switches of this process's threads
// so far (Linux; else 0).
func contextSwitches() int64 {
	dirs, _ := os.ReadDir("/proc/self/task")
	var n int64
	for _, d := range dirs {
		b, err := os.ReadFile("/proc/self/task/" + d.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += x
			}
		}
	}
	return n
}

// cpuSeconds returns the CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// report runs one n times from window goroutines and says how fast.
func report(m *cluster.Member, name string, n, window int, one func() error) {
	window = max(window, 1)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	var failed sync.Map
	per := n / window
	for w := 0; w < window; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if err := one(); err != nil {
					failed.Store(err.Error(), true)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	runtime.ReadMemStats(&ms1)
	done := per * window
	errs := []string{}
	failed.Range(func(k, _ any) bool { errs = append(errs, k.(string)); return true })
	say(map[string]any{"reply": name, "n": done, "seconds": el.Seconds(), "tasks_per_sec": float64(done) / el.Seconds(), "cpu_us_per_task": (cpuSeconds() - cpu0) * 1e6 / float64(done),
		"allocs_per_task": float64(ms1.Mallocs-ms0.Mallocs) / float64(done), "bytes_per_task": float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(done), "errors": errs})
}
