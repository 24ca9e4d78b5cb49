// Command cluster shows Drover nodes sharing work as a cluster.
//
// It starts a small cluster on loopback: this process is member "a", and
// it starts the other members ("b", "c", ...) as child processes of
// itself, because protoactor's remote wants one member per process. The
// members find each other with the embedded automanaged provider (a seed
// list of HTTP health ports, no server to run) and report their load to
// each other. Member a then submits tasks of the registered type "square"
// to pool "work", which every member has; each task goes to the least busy
// member, runs there, and its result comes back to a. It prints how many
// tasks each member ran and checks the sum of the results, then stops the
// children (each leaves the cluster gracefully) and itself.
//
//	go run ./examples/cluster -members 3 -tasks 300
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// run parses args and runs either the whole example or, with -child, one
// child member.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(out)
	members := fs.Int("members", 3, "members in the cluster, this process included")
	tasks := fs.Int("tasks", 300, "tasks to submit")
	child := fs.String("child", "", "run as the child member of this name (used by the example itself)")
	healthPort := fs.Int("health-port", 0, "child: the automanaged HTTP port")
	seeds := fs.String("seeds", "", "child: the seeds, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *child != "" {
		return runChild(ctx, *child, *healthPort, strings.Split(*seeds, ","))
	}
	if *members < 1 || *members > 26 || *tasks < 1 {
		return fmt.Errorf("-members must be 1 to 26 and -tasks at least 1, got %d and %d", *members, *tasks)
	}
	return runCluster(ctx, *members, *tasks, out)
}

// newMember starts a member with pool "work" and the "square" handler.
func newMember(name string, healthPort int, seeds []string) (*cluster.Member, error) {
	return cluster.NewMember(
		cluster.WithName(name),
		cluster.WithProvider(cluster.Automanaged{Port: healthPort, Seeds: seeds, Refresh: 200 * time.Millisecond}),
		cluster.WithNodeOptions(
			actors.WithPool(actors.PoolConfig{Name: "work", Kind: actors.KindCPU, Workers: 2}),
			actors.WithHandler("square", square),
		),
	)
}

// square returns the square of the decimal integer in its payload.
func square(_ context.Context, payload []byte) ([]byte, error) {
	n, err := strconv.ParseInt(string(payload), 10, 64)
	if err != nil {
		return nil, err
	}
	return strconv.AppendInt(nil, n*n, 10), nil
}

// runChild runs one child member until its stdin closes or ctx ends, then
// leaves the cluster.
func runChild(ctx context.Context, name string, healthPort int, seeds []string) error {
	m, err := newMember(name, healthPort, seeds)
	if err != nil {
		return err
	}
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Shutdown(sctx)
}

// runCluster starts the children, joins them as member "a", spreads the
// tasks and reports.
func runCluster(ctx context.Context, members, tasks int, out io.Writer) (err error) {
	names := make([]string, members)
	ports := make([]int, members)
	seeds := make([]string, members)
	for i := range names {
		names[i] = string(rune('a' + i))
		if ports[i], err = freePort(); err != nil {
			return err
		}
		seeds[i] = "127.0.0.1:" + strconv.Itoa(ports[i])
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var children []*exec.Cmd
	defer func() {
		// Closing a child's stdin asks it to leave; wait for it.
		for _, c := range children {
			if cerr := c.Wait(); cerr != nil && err == nil {
				err = fmt.Errorf("member process: %w", cerr)
			}
		}
	}()
	for i := 1; i < members; i++ {
		c := exec.CommandContext(ctx, self, "-child", names[i], "-health-port", strconv.Itoa(ports[i]), "-seeds", strings.Join(seeds, ","))
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		stdin, err := c.StdinPipe()
		if err != nil {
			return err
		}
		if err := c.Start(); err != nil {
			return err
		}
		children = append(children, c)
		defer stdin.Close()
	}

	m, err := newMember(names[0], ports[0], seeds)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := m.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.WaitPool(wctx, "work", members); err != nil {
		return fmt.Errorf("waiting for %d members: %w", members, err)
	}
	var up []string
	for _, mv := range m.View().Up("work") {
		up = append(up, mv.Name)
	}
	sort.Strings(up)
	fmt.Fprintf(out, "cluster: %d members up (%s)\n", len(up), strings.Join(up, ", "))

	futures := make([]*actors.Future, 0, tasks)
	for i := 1; i <= tasks; i++ {
		f, err := m.Submit(ctx, actors.Task{Type: "square", Pool: "work", Payload: strconv.AppendInt(nil, int64(i), 10)}, cluster.Idempotent())
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	var sum int64
	failed := 0
	ranOn := map[string]int{}
	for _, f := range futures {
		res, err := f.Wait(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			continue
		}
		n, perr := strconv.ParseInt(string(res.Output), 10, 64)
		if perr != nil {
			return perr
		}
		sum += n
		ranOn[res.Node]++
	}
	fmt.Fprintf(out, "tasks: %d submitted, %d completed, %d failed\n", tasks, tasks-failed, failed)
	var parts []string
	for _, name := range up {
		parts = append(parts, fmt.Sprintf("%s=%d", name, ranOn[name]))
	}
	fmt.Fprintf(out, "ran on: %s\n", strings.Join(parts, " "))
	want := int64(tasks) * int64(tasks+1) * int64(2*tasks+1) / 6
	fmt.Fprintf(out, "sum of squares 1..%d: %d (expected %d)\n", tasks, sum, want)
	if sum != want || failed > 0 {
		return errors.New("some tasks failed or returned wrong results")
	}
	return nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
