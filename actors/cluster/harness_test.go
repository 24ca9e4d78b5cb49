package cluster_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The multi-process tests run every member in its own process (protoactor's
// remote races with itself when two share one): the internal/testmember
// binary, built once per run, driven over stdin and read from stdout.

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// gossipThrottle is the goroutine protoactor's gossip throttle starts on
// its first call in a period (every Get/SetState): it waits out the
// period, 60 s, on a ticker of its own, and nothing stops it when the
// cluster shuts down. It ends by itself; TestGossipThrottleOutlivesShutdown
// shows it.
const gossipThrottle = "github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1"

func TestMain(m *testing.M) {
	code := m.Run()
	stopBenchPair()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	if code == 0 {
		// Goroutines of a member that has just shut down (its remote's
		// gRPC server and connections) may need a moment to end. goleak
		// retries for about a second each time; keep asking for a few.
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; {
			if err = goleak.Find(goleak.IgnoreTopFunction(gossipThrottle)); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// memberBinary builds internal/testmember once (with -race when the tests
// run with it) and returns its path.
func memberBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "drover-cluster-test-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "testmember")
		args := []string{"build", "-o", buildPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./internal/testmember")
		cmd := exec.Command("go", args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build testmember: %w\n%s", err, out)
		}
	})
	require.NoError(tb, buildErr)
	return buildPath
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(tb, ln.Close())
	return port
}

// proc is one member process.
type proc struct {
	tb      testing.TB
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  lockedBuffer
	exited  chan struct{}
	address string

	mu      sync.Mutex
	replies []map[string]any
	events  []map[string]any
	notify  chan struct{} // closed and replaced on every line
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc starts a member process with the given flags and waits until
// it is ready.
func startProc(tb testing.TB, name string, args ...string) *proc {
	tb.Helper()
	p := &proc{tb: tb, name: name, exited: make(chan struct{}), notify: make(chan struct{})}
	p.cmd = exec.Command(memberBinary(tb), append([]string{"-name", name}, args...)...)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(tb, err)
	p.stdin, err = p.cmd.StdinPipe()
	require.NoError(tb, err)
	require.NoError(tb, p.cmd.Start())
	go p.read(stdout)
	tb.Cleanup(p.stop)
	ready := p.waitFor(func(m map[string]any) bool { return m["event"] == "ready" }, true, 30*time.Second)
	p.address, _ = ready["address"].(string)
	return p
}

func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "@") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line[1:]), &m); err != nil {
			continue
		}
		m["_at"] = time.Now()
		p.mu.Lock()
		if _, ok := m["reply"]; ok {
			p.replies = append(p.replies, m)
		} else {
			p.events = append(p.events, m)
		}
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}
	_ = p.cmd.Wait()
	close(p.exited)
	p.mu.Lock()
	close(p.notify)
	p.notify = make(chan struct{})
	p.mu.Unlock()
}

// waitFor waits for a reply (or an event) that match accepts and takes it.
func (p *proc) waitFor(match func(map[string]any) bool, event bool, timeout time.Duration) map[string]any {
	p.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		list := &p.replies
		if event {
			list = &p.events
		}
		for i, m := range *list {
			if match(m) {
				*list = append((*list)[:i], (*list)[i+1:]...)
				p.mu.Unlock()
				return m
			}
		}
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.exited:
			select {
			case <-ch:
				continue // read what came before the exit
			default:
			}
			p.tb.Fatalf("member %s exited while waiting; stderr:\n%s", p.name, tail(p.stderr.String()))
		case <-deadline.C:
			p.tb.Fatalf("member %s: nothing matched within %s; stderr:\n%s", p.name, timeout, tail(p.stderr.String()))
		}
	}
}

// call sends a command and waits for its reply.
func (p *proc) call(cmd string, timeout time.Duration) map[string]any {
	p.tb.Helper()
	p.send(cmd)
	name := strings.Fields(cmd)[0]
	return p.reply(name, timeout)
}

// submit sends "submit ARGS" and waits for its "accepted" reply; the
// "results" reply comes when every accepted task ended.
func (p *proc) submit(args string, timeout time.Duration) map[string]any {
	p.tb.Helper()
	p.send("submit " + args)
	return p.reply("accepted", timeout)
}

func (p *proc) send(cmd string) {
	p.tb.Helper()
	_, err := io.WriteString(p.stdin, cmd+"\n")
	require.NoError(p.tb, err, "member %s", p.name)
}

func (p *proc) reply(name string, timeout time.Duration) map[string]any {
	p.tb.Helper()
	return p.waitFor(func(m map[string]any) bool { return m["reply"] == name }, false, timeout)
}

// view returns the member's view as JSON-decoded maps, by member name.
func (p *proc) view() map[string]map[string]any {
	p.tb.Helper()
	r := p.call("view", 10*time.Second)
	out := map[string]map[string]any{}
	v, _ := r["view"].(map[string]any)
	ms, _ := v["Members"].([]any)
	for _, x := range ms {
		mv := x.(map[string]any)
		out[mv["Name"].(string)] = mv
	}
	return out
}

// has reports whether an event that match accepts came, without taking it.
func (p *proc) has(match func(map[string]any) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.events {
		if match(m) {
			return true
		}
	}
	return false
}

// pause stops the process (SIGSTOP); resume lets it go on (SIGCONT).
func (p *proc) pause()  { require.NoError(p.tb, p.cmd.Process.Signal(syscall.SIGSTOP)) }
func (p *proc) resume() { require.NoError(p.tb, p.cmd.Process.Signal(syscall.SIGCONT)) }

// kill ends the process at once (SIGKILL).
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// terminate asks the member to leave (SIGTERM).
func (p *proc) terminate() { _ = p.cmd.Process.Signal(syscall.SIGTERM) }

// stop ends the process if it still runs, and fails the test on a data
// race it reported.
func (p *proc) stop() {
	select {
	case <-p.exited:
	default:
		_, _ = io.WriteString(p.stdin, "quit\n")
		t := time.NewTimer(15 * time.Second)
		select {
		case <-p.exited:
		case <-t.C:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		t.Stop()
	}
	ours, theirs := races(p.stderr.String())
	for _, r := range ours {
		p.tb.Errorf("member %s reported a data race in Drover's code:\n%s", p.name, r)
	}
	if len(theirs) > 0 {
		p.tb.Logf("member %s: %d data race(s) inside protoactor alone (its cluster's block list and gossip), ignored", p.name, len(theirs))
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

// races splits the race detector's reports in a process's output into
// those with a frame of Drover's code and those entirely inside
// dependencies (protoactor's cluster races with itself: its block list is
// written by the gossip actor and read by the provider without a lock).
func races(stderr string) (ours, theirs []string) {
	const start, end = "WARNING: DATA RACE", "=================="
	for {
		i := strings.Index(stderr, start)
		if i < 0 {
			return ours, theirs
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
		} else {
			theirs = append(theirs, report)
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// clusterSpec describes members to start with the automanaged provider.
type clusterSpec struct {
	names []string
	// args returns extra flags for member i.
	args func(i int) []string
}

// startCluster starts the members in parallel, each knowing the others'
// health ports as seeds.
func startCluster(tb testing.TB, spec clusterSpec) []*proc {
	tb.Helper()
	ports := make([]int, len(spec.names))
	seeds := make([]string, len(spec.names))
	for i := range spec.names {
		ports[i] = freePort(tb)
		seeds[i] = "127.0.0.1:" + strconv.Itoa(ports[i])
	}
	procs := make([]*proc, len(spec.names))
	var wg sync.WaitGroup
	errs := make(chan string, len(spec.names))
	for i, name := range spec.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs <- fmt.Sprint(r)
				}
			}()
			args := []string{"-health-port", strconv.Itoa(ports[i]), "-seeds", strings.Join(seeds, ",")}
			if spec.args != nil {
				args = append(args, spec.args(i)...)
			}
			procs[i] = startProc(&goTB{tb}, name, args...)
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		tb.Fatal(e)
	}
	for _, p := range procs {
		p.tb = tb
	}
	return procs
}

// goTB lets startProc run on another goroutine: Fatal panics instead of
// calling runtime.Goexit, and startCluster turns the panic into a Fatal.
type goTB struct{ testing.TB }

func (g *goTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (g *goTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (g *goTB) FailNow()                          { panic("FailNow") }
func (g *goTB) Helper()                           {}

// num reads a JSON number.
func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// counts reads a JSON object of numbers.
func counts(v any) map[string]int {
	out := map[string]int{}
	m, _ := v.(map[string]any)
	for k, x := range m {
		out[k] = num(x)
	}
	return out
}

// TestRaceClassifier pins which race reports fail the cluster tests: one
// where a protoactor goroutine races with protoactor code that Drover
// called (the etcd provider's unguarded shutdown flag) is protoactor's;
// one whose access ends in Drover's code is Drover's.
func TestRaceClassifier(t *testing.T) {
	theirs := `WARNING: DATA RACE
Write at 0x00c000103231 by main goroutine:
  github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd.(*Provider).Shutdown()
      /x/etcd_provider.go:117 +0x44
  github.com/drover-go/drover/actors/cluster.(*lazyEtcd).Shutdown()
      /x/member.go:288 +0x6a
  main.run()
      /x/main.go:199 +0x25a4

Previous read at 0x00c000103231 by goroutine 53:
  github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd.(*Provider).keepAliveForever()
      /x/etcd_provider.go:168 +0x74f

Goroutine 53 (running) created at:
  github.com/drover-go/drover/actors/cluster.(*lazyEtcd).StartMember()
      /x/member.go:274 +0x7c
`
	ours := strings.Replace(theirs, "Previous read at 0x00c000103231 by goroutine 53:\n",
		"Previous read at 0x00c000103231 by goroutine 53:\n  runtime.mapaccess1()\n      /x/map.go:1\n  github.com/drover-go/drover/actors/cluster.(*Member).view()\n      /x/view.go:1\n", 1)
	both := strings.Replace(theirs, "etcd.(*Provider).keepAliveForever()\n      /x/etcd_provider.go:168 +0x74f\n",
		"etcd.(*Provider).keepAliveForever()\n      /x/etcd_provider.go:168 +0x74f\n  github.com/drover-go/drover/actors/cluster.(*Member).watch()\n      /x/member.go:1\n", 1)
	o, th := races("noise\n" + theirs + "==================\n" + ours + "==================\n" + both)
	require.Len(t, o, 2)
	require.Len(t, th, 1)
	require.Contains(t, th[0], "keepAliveForever")
	require.Contains(t, o[0], "(*Member).view")
	require.Contains(t, o[1], "(*Member).watch")
}

// needEtcd skips the test when the etcd binary is not installed.
func needEtcd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed: apt-get install -y etcd-server (Debian) to run the tests with the etcd provider")
	}
	return bin
}

// etcdProc is an etcd server on loopback, with its data in a directory of
// the test's: stop and start it again on the same data and ports.
type etcdProc struct {
	t            *testing.T
	bin, dir     string
	client, peer int
	endpoint     string
	cmd          *exec.Cmd
	log          *lockedBuffer
	done         chan struct{}
}

// startEtcd starts an etcd server and waits until it serves; the test's
// cleanup stops it.
func startEtcd(t *testing.T) *etcdProc {
	t.Helper()
	e := &etcdProc{t: t, bin: needEtcd(t), dir: t.TempDir(), client: freePort(t), peer: freePort(t)}
	e.endpoint = "127.0.0.1:" + strconv.Itoa(e.client)
	e.start()
	t.Cleanup(e.stop)
	return e
}

// start runs etcd and waits until it serves client traffic.
func (e *etcdProc) start() {
	e.t.Helper()
	peer := "http://127.0.0.1:" + strconv.Itoa(e.peer)
	e.cmd = exec.Command(e.bin,
		"--name", "drover-test",
		"--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", "http://"+e.endpoint,
		"--advertise-client-urls", "http://"+e.endpoint,
		"--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer,
		"--initial-cluster", "drover-test="+peer,
		"--logger", "zap", "--log-outputs", "stderr",
	)
	stderr, err := e.cmd.StderrPipe()
	require.NoError(e.t, err)
	require.NoError(e.t, e.cmd.Start())
	e.log = &lockedBuffer{}
	ready := make(chan struct{})
	done := make(chan struct{})
	e.done = done
	cmd, log := e.cmd, e.log
	go func() {
		sc := bufio.NewScanner(stderr)
		signal := ready
		for sc.Scan() {
			_, _ = log.Write(append(sc.Bytes(), '\n'))
			if signal != nil && strings.Contains(sc.Text(), "serving client") {
				close(signal)
				signal = nil
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-ready:
	case <-done:
		e.t.Fatalf("etcd exited:\n%s", tail(log.String()))
	case <-time.After(20 * time.Second):
		e.t.Fatalf("etcd not ready within 20s:\n%s", tail(log.String()))
	}
}

// stop kills etcd (as a crash would) and waits until it exited.
func (e *etcdProc) stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.done
	e.cmd = nil
}
