package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/procworker"
)

// workerArg is the hidden subcommand that makes this executable a process
// worker: the demo's process pool starts its children as `drover worker`.
const workerArg = "worker"

func newWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   workerArg,
		Short: "Serve the demo's task types to a node over stdin and stdout",
		Long: `Worker serves the demo's task types ("hash", "fetch", "resize") as a
process worker: the node that started it sends tasks as frames on stdin and
reads results from stdout (see actors/procworker/PROTOCOL.md). drover demo
starts its process pool's workers this way; it is not meant to be run by hand.

A handler that panics (the demo's injected faults) becomes a panic result,
and the worker goes on serving. It exits 0 when the node sends shutdown,
closes stdin, or sends SIGTERM or SIGINT.`,
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if term.IsTerminal(int(os.Stdin.Fd())) {
				return usageErrorf("%q speaks frames on stdin and stdout; drover demo starts it, as its process pool's worker", cmd.CommandPath())
			}
			return serveWorker(cmd.Context(), nil, nil)
		},
	}
}

// workerHandlers returns the demo's handlers in the form a process worker
// serves them: the same functions the in-process pools run.
func workerHandlers() map[string]procworker.Handler {
	hs := demoHandlers()
	out := make(map[string]procworker.Handler, len(hs))
	for name, h := range hs {
		out[name] = procworker.Handler(h)
	}
	return out
}

// serveWorker serves the demo's handlers over r and w, or over the
// process's stdin and stdout when both are nil, until the node sends
// shutdown or closes the stream. Ending ctx (a signal) stops it too, and is
// not an error: the node asked this worker to go.
func serveWorker(ctx context.Context, r io.Reader, w io.Writer) error {
	var err error
	if r == nil && w == nil {
		err = procworker.Serve(ctx, workerHandlers())
	} else {
		err = procworker.ServeIO(ctx, r, w, workerHandlers())
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// demoWorker returns the ProcessConfig of the demo's process pool: this
// executable with the argument "worker". Under go test the executable is
// the test binary, which serves as a worker when given that argument too
// (see demo_test.go).
func demoWorker() (actors.ProcessConfig, error) {
	exe, err := os.Executable()
	if err != nil {
		return actors.ProcessConfig{}, err
	}
	return actors.ProcessConfig{Command: exe, Args: []string{workerArg}}, nil
}

// childProcesses counts this process's child processes whose command name
// (the kernel's comm: the executable's base name, cut to 15 bytes) is that
// of command, zombies included, from /proc. ok is false where /proc cannot
// be read (other systems than Linux).
func childProcesses(command string) (n int, ok bool) {
	comm := filepath.Base(command)
	if len(comm) > 15 {
		comm = comm[:15]
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return 0, false
	}
	self := os.Getpid()
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it exited meanwhile
		}
		name, ppid, ok := parseStat(stat)
		if ok && ppid == self && name == comm {
			n++
		}
	}
	return n, true
}

// parseStat returns the command name and the parent's pid from the content
// of /proc/PID/stat: "pid (comm) state ppid ...". comm may hold spaces and
// parentheses; it ends at the last ')'.
func parseStat(stat []byte) (comm string, ppid int, ok bool) {
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	fields := bytes.Fields(stat[end+1:])
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		return "", 0, false
	}
	return string(stat[open+1 : end]), ppid, true
}
