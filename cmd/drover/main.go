package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// Exit statuses of the command.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns its exit status. The first
// SIGINT or SIGTERM cancels the command's context (commands wind down
// gracefully); a second one ends the process the default way.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "drover: %v\n", err)
	code := exitCode(err)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// globalOptions holds the root's persistent flags, which every subcommand sees.
type globalOptions struct {
	logLevel string
}

// newRootCmd builds the command tree. Each subcommand is built by its own
// newXxxCmd function, in its own file, and added here.
func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "drover",
		Short: "Drover runs pools of supervised workers on Proto.Actor",
		Long: `Drover is a process manager built as an actor-model supervision framework on
Proto.Actor: a root supervisor spawns pools of CPU, I/O and mixed workers behind
routers (round-robin, least-busy, power-of-two-choices, ...), restarts them
one-for-one when they fail, bounds every queue for backpressure, and reports
what it does.

Start with 'drover demo': it runs a seeded workload with injected faults on an
in-process node and prints what happened.

Logs go to stderr, reports to stdout. Exit status: 0 on success, 1 when a
command fails, 2 on bad usage (the message names the flag and its allowed range).`,
		Version: version(),
		// Suggest "demo" for "dmeo".
		SuggestionsMinimumDistance: 2,
		SilenceUsage:               true,
		SilenceErrors:              true,
		Args:                       unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info",
		"log level on stderr: "+logLevels)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})

	root.AddCommand(newDemoCmd(g))
	root.AddCommand(newRunCmd(g))
	root.AddCommand(newStatusCmd())
	root.AddCommand(newBenchCmd(g))
	root.AddCommand(newWorkerCmd())
	root.AddCommand(newSubmitCmd())
	return root
}

// unknownCommand refuses positional arguments that name no subcommand.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return &exitError{code: exitUsage, err: errors.New(msg)}
}

// noArgs refuses positional arguments, for commands that take flags only.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return usageErrorf("unexpected argument %q; %q takes flags only", args[0], cmd.CommandPath())
}

// version describes the binary from its build information (see
// versionOf).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	return versionOf(bi)
}

// versionOf is the module version the binary was built from, or, for a
// build from a work tree ("(devel)"), the commit and its time, with
// "+dirty" for uncommitted changes; then the Go version it was built with:
// "v1.2.0 (go1.26.8)", "devel 3f2a9c1e0b7d 2026-11-29T17:58:52Z+dirty (go1.26.8)".
func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		var rev, at, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value[:min(len(s.Value), 12)]
			case "vcs.time":
				at = " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		v = "devel"
		if rev != "" {
			v += " " + rev + at + dirty
		}
	}
	return v + " (" + bi.GoVersion + ")"
}

// exitError carries the exit status a command's error should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf returns an error that exits with status 2. Its message should
// name the flag and the allowed range, as in "--tasks is -1; allowed: 0 or more".
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// failuref returns an error that exits with status 1.
func failuref(format string, args ...any) error {
	return &exitError{code: exitFailure, err: fmt.Errorf(format, args...)}
}

// exitCode is the exit status for err: the one it carries, or 1.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

// logLevels lists the values --log-level accepts.
const logLevels = "trace, debug, info, warn, error, off"

// newLogger returns the command's logger: plain (uncoloured) hclog lines on w
// at the named level. A level not in logLevels is a usage error.
func newLogger(level string, w io.Writer) (hclog.Logger, error) {
	l := hclog.LevelFromString(level)
	if l == hclog.NoLevel {
		return nil, usageErrorf("--log-level is %q; allowed: %s", level, logLevels)
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:   "drover",
		Level:  l,
		Output: w,
		Color:  hclog.ColorOff,
	}), nil
}
