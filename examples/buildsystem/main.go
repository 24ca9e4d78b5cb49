// Command buildsystem shows a build system on Drover: the compile and test
// steps of a project run in parallel in worker processes, as make -j or a CI
// runner runs them, and a step that hangs is killed with its process
// without stopping the build.
//
// The program is its own worker. Run with the single argument "worker", it
// serves the step handlers to the node that started it, over stdin and
// stdout (package actors/procworker). Otherwise it is the build driver: it
// starts a node with one pool of kind process (actors.KindProcess) whose
// command is its own executable with that argument, so one binary is both
// the driver and its workers, and each worker process runs one step at a
// time.
//
// The steps, on a project generated in memory (-packages packages sharing
// -files Go files):
//
//   - compile, one per file, all submitted at once: it hashes the file's
//     source for -rounds rounds, standing for the compiler's work, and
//     returns the object's digest. A file that contains "syntax error"
//     fails with "file:line: syntax error ...".
//   - test, one per package, submitted as soon as every file of the package
//     has compiled, at high priority so that it overtakes the compiles still
//     queued: it hashes the package's objects and runs for -test-time. A
//     package with a file that did not compile is not tested.
//
// Every test has -test-timeout. A test that outlasts it is canceled and
// stops (a slow test); one that ignores the cancel (a hung test, deadlocked
// in its process) gets -kill-grace to answer, then its worker process is
// killed and the pool starts a new one; the other steps go on. Flags break
// the project on purpose: -syntax-errors puts a syntax error in the first
// file of the last packages, -slow-tests and -hung-tests slow down or hang
// the tests of the first packages.
//
// The build log goes to stdout, one line per step as it ends, with the
// node's warnings (a worker process killed) among them, then a summary:
// files built, steps failed, steps timed out. The exit status is 1 if a
// step failed or timed out.
//
//	go run ./examples/buildsystem
//	go run ./examples/buildsystem -files 40 -packages 8 -workers 4
//	go run ./examples/buildsystem -syntax-errors 1 -slow-tests 1 -hung-tests 1
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/procworker"
)

// workerArg, as the only argument, makes the program a worker process.
const workerArg = "worker"

func main() {
	if len(os.Args) == 2 && os.Args[1] == workerArg {
		os.Exit(worker())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "buildsystem:", err)
		os.Exit(1)
	}
}

// worker serves the step handlers to the node that started this process,
// on stdin and stdout, and returns the exit status. SIGTERM keeps its
// default action, ending the process at once: the node sends it only to a
// worker that did not stop when asked.
func worker() int {
	if err := procworker.Serve(context.Background(), handlers()); err != nil {
		fmt.Fprintln(os.Stderr, "buildsystem worker:", err)
		return 1
	}
	return 0
}

// The step types the workers serve.
const (
	stepCompile = "compile"
	stepTest    = "test"
)

// handlers returns the worker's step handlers, by type.
func handlers() map[string]procworker.Handler {
	return map[string]procworker.Handler{stepCompile: compile, stepTest: test}
}

// compileStep is the payload of a compile step.
type compileStep struct {
	File   string `json:"file"`
	Source string `json:"source"`
	Rounds int    `json:"rounds"`
}

// testStep is the payload of a test step.
type testStep struct {
	Package string        `json:"package"`
	Objects []string      `json:"objects"`
	Runs    time.Duration `json:"runs"`  // how long the tests run
	Hangs   bool          `json:"hangs"` // the tests deadlock
}

// compile "compiles" a file: it refuses a syntax error, then hashes the
// source for the given rounds and returns the object's digest.
func compile(ctx context.Context, payload []byte) ([]byte, error) {
	var step compileStep
	if err := json.Unmarshal(payload, &step); err != nil {
		return nil, fmt.Errorf("compile: bad step: %w", err)
	}
	for i, line := range strings.Split(step.Source, "\n") {
		if strings.Contains(line, "syntax error") {
			return nil, fmt.Errorf("%s:%d: syntax error: unexpected %q", step.File, i+1, strings.TrimSpace(line))
		}
	}
	sum := sha256.Sum256([]byte(step.Source))
	for i := 1; i < step.Rounds; i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		sum = sha256.Sum256(sum[:])
	}
	return []byte(hex.EncodeToString(sum[:8])), nil
}

// test "runs a package's tests": it hashes the package's objects, then
// waits for the run time or until ctx ends. Hung tests never return and
// never look at ctx: only killing the process ends them.
func test(ctx context.Context, payload []byte) ([]byte, error) {
	var step testStep
	if err := json.Unmarshal(payload, &step); err != nil {
		return nil, fmt.Errorf("test: bad step: %w", err)
	}
	if step.Hangs {
		select {} // a deadlock
	}
	h := sha256.New()
	for _, o := range step.Objects {
		h.Write([]byte(o))
	}
	t := time.NewTimer(step.Runs)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []byte(fmt.Sprintf("ok %x", h.Sum(nil)[:4])), nil
}

// pkg is one package of the project.
type pkg struct {
	Path  string
	Files []compileStep
	Runs  time.Duration // its tests' run time
	Hangs bool          // its tests hang
}

// project is the shape of the generated project.
type project struct {
	files, packages          int
	rounds                   int
	syntaxErrors, slow, hung int
	testTime, slowTime       time.Duration
}

// generate makes the project's packages: files go to the packages in turn;
// the first file of each of the last syntaxErrors packages has a syntax
// error; the first slow packages' tests take slowTime, and the next hung
// packages' tests hang.
func (p project) generate() []pkg {
	// The packages' names; past eight, they repeat with a number.
	names := []string{"cmd/app", "internal/parse", "internal/store", "internal/net", "internal/auth", "pkg/api", "pkg/log", "pkg/cache"}
	pkgs := make([]pkg, p.packages)
	for i := range pkgs {
		name := names[i%len(names)]
		if i >= len(names) {
			name = fmt.Sprintf("%s%d", name, i/len(names))
		}
		pkgs[i] = pkg{Path: name, Runs: p.testTime}
		switch {
		case i < p.slow:
			pkgs[i].Runs = p.slowTime
		case i < p.slow+p.hung:
			pkgs[i].Hangs = true
		}
	}
	for i := range p.files {
		k := &pkgs[i%p.packages]
		base := path.Base(k.Path)
		body := fmt.Sprintf("\treturn x*%d + %d", i+2, len(k.Files))
		if len(k.Files) == 0 && i%p.packages >= p.packages-p.syntaxErrors {
			body = "\treturn x * syntax error"
		}
		src := fmt.Sprintf("package %s\n\n// f%d is function %d of %s.\nfunc f%d(x int) int {\n%s\n}\n", base, i, i, k.Path, i, body)
		k.Files = append(k.Files, compileStep{File: fmt.Sprintf("%s/%s_%d.go", k.Path, base, i), Source: src, Rounds: p.rounds})
	}
	return pkgs
}

// summary counts the build's steps.
type summary struct {
	built, compileFailed  int
	passed, testFailed    int
	compileTimedOut       int
	testTimedOut, skipped int
}

func (s summary) failed() int   { return s.compileFailed + s.testFailed }
func (s summary) timedOut() int { return s.compileTimedOut + s.testTimedOut }

// run builds the generated project on a node of worker processes, writes
// the build log and the summary to out, and returns an error if a step
// failed or timed out.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	fs := flag.NewFlagSet("buildsystem", flag.ContinueOnError)
	fs.SetOutput(out)
	files := fs.Int("files", 12, "source files in the project")
	packages := fs.Int("packages", 4, "packages the files are spread over")
	workers := fs.Int("workers", 2, "worker processes; each runs one step at a time")
	rounds := fs.Int("rounds", 20_000, "SHA-256 rounds of one compile")
	testTime := fs.Duration("test-time", 20*time.Millisecond, "how long a package's tests run")
	testTimeout := fs.Duration("test-timeout", 500*time.Millisecond, "timeout of a package's tests")
	killGrace := fs.Duration("kill-grace", 200*time.Millisecond, "how long a canceled step has to stop before its worker process is killed")
	syntaxErrors := fs.Int("syntax-errors", 0, "packages with a file that does not compile")
	slow := fs.Int("slow-tests", 0, "packages whose tests outlast the timeout, and stop when canceled")
	hung := fs.Int("hung-tests", 0, "packages whose tests hang, ignoring the cancel")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *packages < 1 || *files < *packages:
		return fmt.Errorf("-packages is %d and -files %d; allowed: 1 <= packages <= files", *packages, *files)
	case *workers < 1:
		return fmt.Errorf("-workers is %d; allowed: 1 or more", *workers)
	case *rounds < 1:
		return fmt.Errorf("-rounds is %d; allowed: 1 or more", *rounds)
	case *testTime < 0 || *testTimeout <= 0 || *killGrace <= 0:
		return errors.New("-test-time must not be negative, -test-timeout and -kill-grace must be positive")
	case *syntaxErrors < 0 || *syntaxErrors > *packages:
		return fmt.Errorf("-syntax-errors is %d; allowed: 0 to -packages (%d)", *syntaxErrors, *packages)
	case *slow < 0 || *hung < 0 || *slow+*hung > *packages:
		return fmt.Errorf("-slow-tests is %d and -hung-tests %d; allowed: 0 or more, together at most -packages (%d)", *slow, *hung, *packages)
	}

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	b := &builder{out: out, testTimeout: *testTimeout}
	// The node's warnings (a worker process killed, or dead) go to the
	// build log.
	logger := hclog.New(&hclog.LoggerOptions{Name: "node", Level: hclog.Warn, Output: lockedWriter{&b.mu, out}, DisableTime: true})
	node, err := actors.NewNode(actors.WithName("buildsystem"), actors.WithLogger(logger), actors.WithPool(actors.PoolConfig{
		Name:        "steps",
		Kind:        actors.KindProcess,
		Workers:     *workers,
		Concurrency: 1,
		Strategy:    "least-busy",
		Process:     &actors.ProcessConfig{Command: exe, Args: []string{workerArg}, KillGrace: *killGrace},
	}))
	if err != nil {
		return err
	}
	b.node = node
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := node.Shutdown(sctx)
		return err
	}
	defer func() { err = errors.Join(err, shutdown()) }() // a second Shutdown returns the first's outcome

	pkgs := project{
		files: *files, packages: *packages, rounds: *rounds,
		syntaxErrors: *syntaxErrors, slow: *slow, hung: *hung,
		testTime: *testTime, slowTime: 4 * *testTimeout,
	}.generate()
	fmt.Fprintf(out, "build: %d files in %d packages on %d worker processes\n", *files, *packages, *workers)
	start := time.Now()
	s, err := b.build(ctx, pkgs)
	if err != nil {
		return err
	}
	took := time.Since(start)
	restarts := node.Stats().Pools[0].Restarts
	// Stop the workers before the summary, so that the log shows a hung
	// step's process being killed even when it was the last step.
	if err := shutdown(); err != nil {
		return err
	}
	fmt.Fprintf(out, "summary: built %d, failed %d, timed out %d (compile: %d ok, %d failed, %d timed out; test: %d passed, %d failed, %d timed out, %d skipped) in %s, %d worker process restarts\n",
		s.built, s.failed(), s.timedOut(),
		s.built, s.compileFailed, s.compileTimedOut, s.passed, s.testFailed, s.testTimedOut, s.skipped,
		took.Round(time.Millisecond), restarts)
	if s.failed() > 0 || s.timedOut() > 0 {
		return fmt.Errorf("build failed: %d failed, %d timed out", s.failed(), s.timedOut())
	}
	fmt.Fprintln(out, "build ok")
	return nil
}

// builder runs the steps of one build. Its methods are safe for concurrent
// use: the log is written under mu, and so is the summary.
type builder struct {
	node        *actors.Node
	testTimeout time.Duration

	mu  sync.Mutex
	out io.Writer
	sum summary
}

// build submits every compile step, then each package's test step once its
// compiles have succeeded, and waits for them all. It returns the summary,
// or ctx's error if ctx ended first.
func (b *builder) build(ctx context.Context, pkgs []pkg) (summary, error) {
	var wg sync.WaitGroup
	for _, p := range pkgs {
		objects := make([]chan string, len(p.Files)) // "" for a file that did not compile
		for i, f := range p.Files {
			payload, err := json.Marshal(f)
			if err != nil {
				return summary{}, err
			}
			fut, err := b.node.Submit(ctx, actors.Task{ID: stepCompile + ":" + f.File, Type: stepCompile, Payload: payload})
			if err != nil {
				wg.Wait()
				return summary{}, err
			}
			objects[i] = make(chan string, 1)
			wg.Go(func() { objects[i] <- b.compiled(ctx, f.File, fut) })
		}
		wg.Go(func() { b.test(ctx, p, objects) })
	}
	wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sum, ctx.Err()
}

// compiled waits for a compile step, logs it and returns the object, or ""
// if the file did not compile.
func (b *builder) compiled(ctx context.Context, file string, f *actors.Future) string {
	res, err := f.Wait(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		return ""
	case err == nil:
		b.sum.built++
		b.logf("compile %-28s ok       %6s  %s  object %s", file, res.Run.Round(100*time.Microsecond), res.Worker, res.Output)
		return string(res.Output)
	case errors.Is(err, actors.ErrTimeout):
		b.sum.compileTimedOut++
		b.logf("compile %-28s TIMEOUT  %v", file, err)
	default:
		b.sum.compileFailed++
		b.logf("compile %-28s FAILED   %v", file, err)
	}
	return ""
}

// test waits for a package's compiles, then runs its tests unless one
// failed.
func (b *builder) test(ctx context.Context, p pkg, objects []chan string) {
	step := testStep{Package: p.Path, Runs: p.Runs, Hangs: p.Hangs}
	missing := 0
	for _, ch := range objects {
		if o := <-ch; o != "" {
			step.Objects = append(step.Objects, o)
		} else {
			missing++
		}
	}
	if ctx.Err() != nil {
		return
	}
	if missing > 0 {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.sum.skipped++
		b.logf("test    %-28s SKIPPED  %d of %d files did not compile", p.Path, missing, len(objects))
		return
	}
	payload, err := json.Marshal(step)
	if err == nil {
		var f *actors.Future
		f, err = b.node.Submit(ctx, actors.Task{ID: stepTest + ":" + p.Path, Type: stepTest, Payload: payload,
			Priority: actors.PriorityHigh, Timeout: b.testTimeout})
		if err == nil {
			var res actors.Result
			res, err = f.Wait(ctx)
			if err == nil {
				b.mu.Lock()
				defer b.mu.Unlock()
				b.sum.passed++
				b.logf("test    %-28s ok       %6s  %s", p.Path, res.Run.Round(100*time.Microsecond), res.Worker)
				return
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case ctx.Err() != nil:
	case errors.Is(err, actors.ErrTimeout):
		b.sum.testTimedOut++
		b.logf("test    %-28s TIMEOUT  %v", p.Path, err)
	default:
		b.sum.testFailed++
		b.logf("test    %-28s FAILED   %v", p.Path, err)
	}
}

// lockedWriter writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// logf writes one line of the build log; b.mu must be held.
func (b *builder) logf(format string, args ...any) {
	fmt.Fprintf(b.out, format+"\n", args...)
}
