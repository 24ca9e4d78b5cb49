// Command testworker is a worker process for Drover's tests: it serves task
// types that succeed, fail, panic, exit, segfault, hang, write garbage to
// stdout, allocate memory, start a process of their own ("spawn": a
// "sleep 60" in the worker's process group, whose pid it returns) and
// report their process id, so that the tests can run a real child process
// for every fault.
//
// Flags change its start-up: -exit-at-start N exits with status N at once;
// -never-ready reads its stdin and never answers; -bad-version answers the handshake with protocol version 99;
// -ignore-term ignores SIGTERM (so that only SIGKILL stops it). When the
// environment variable DROVER_TESTWORKER_PIDDIR names a directory, it
// creates an empty file named by its process id there at start-up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

// held keeps the memory of "alloc" tasks alive.
var held [][]byte

func main() {
	neverReady := flag.Bool("never-ready", false, "never answer the handshake")
	exitAtStart := flag.Int("exit-at-start", 0, "exit with this status before the handshake (0: do not)")
	badVersion := flag.Bool("bad-version", false, "answer the handshake with protocol version 99")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	flag.Parse()

	if dir := os.Getenv("DROVER_TESTWORKER_PIDDIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "testworker:", err)
			os.Exit(1)
		}
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	switch {
	case *exitAtStart != 0:
		fmt.Fprintln(os.Stderr, "testworker: exiting at start")
		os.Exit(*exitAtStart)
	case *neverReady:
		_, _ = io.Copy(io.Discard, os.Stdin)
		select {} // stdin closed; still never ready
	case *badVersion:
		var f protos.Frame
		_ = procworker.NewFrameReader(os.Stdin, 0).ReadFrame(&f)
		w := procworker.NewFrameWriter(os.Stdout, 0)
		_ = w.WriteFrame(&protos.Frame{Body: &protos.Frame_Ready{Ready: &protos.Ready{Version: 99}}})
		_ = w.Flush()
		_, _ = io.Copy(io.Discard, os.Stdin)
		return
	}
	fmt.Fprintln(os.Stderr, "testworker: serving")
	if err := procworker.Serve(context.Background(), handlers); err != nil {
		fmt.Fprintln(os.Stderr, "testworker:", err)
		os.Exit(1)
	}
}

var handlers = map[string]procworker.Handler{
	"empty":  func(context.Context, []byte) ([]byte, error) { return nil, nil },
	"echo":   func(_ context.Context, p []byte) ([]byte, error) { return p, nil },
	"getenv": func(_ context.Context, p []byte) ([]byte, error) { return []byte(os.Getenv(string(p))), nil },
	"cwd": func(context.Context, []byte) ([]byte, error) {
		d, err := os.Getwd()
		return []byte(d), err
	},
	"pid": func(context.Context, []byte) ([]byte, error) {
		return []byte(strconv.Itoa(os.Getpid())), nil
	},
	"fail": func(_ context.Context, p []byte) ([]byte, error) {
		return nil, errors.New("failed: " + string(p))
	},
	"panic": func(_ context.Context, p []byte) ([]byte, error) { panic(string(p)) },
	"exit": func(context.Context, []byte) ([]byte, error) {
		os.Exit(3)
		return nil, nil
	},
	// hang ignores its context: only a signal ends it. It says so on
	// stderr first, so that a test knows the task reached the process.
	"hang": func(_ context.Context, p []byte) ([]byte, error) {
		fmt.Fprintf(os.Stderr, "testworker: hang %s\n", p)
		select {}
	},
	// segfault dies of SIGSEGV, as a crashing native library would.
	"segfault": func(context.Context, []byte) ([]byte, error) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
		select {}
	},
	// sleep waits for the duration in its payload, or for its context. It
	// says so on stderr first.
	"sleep": func(ctx context.Context, p []byte) ([]byte, error) {
		d, err := time.ParseDuration(string(p))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "testworker: sleep %s\n", p)
		select {
		case <-time.After(d):
			return p, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	},
	// garbage writes bytes that are not a frame straight to file descriptor
	// 1, then waits for its context.
	"garbage": func(ctx context.Context, _ []byte) ([]byte, error) {
		_, _ = syscall.Write(1, []byte{0x05, 0xff, 0xff, 0xff, 0xff, 0xff})
		<-ctx.Done()
		return nil, ctx.Err()
	},
	// print writes to os.Stdout, which Serve points at stderr.
	"print": func(_ context.Context, p []byte) ([]byte, error) {
		fmt.Println(string(p))
		return p, nil
	},
	// alloc allocates and keeps the number of MiB in its payload, touching
	// every page, and returns the process id.
	"alloc": func(_ context.Context, p []byte) ([]byte, error) {
		n, err := strconv.Atoi(strings.TrimSpace(string(p)))
		if err != nil {
			return nil, err
		}
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
		return []byte(strconv.Itoa(os.Getpid())), nil
	},
	// spawn starts "sleep 60" as a child of this process, in its process
	// group, and returns its process id.
	"spawn": func(context.Context, []byte) ([]byte, error) {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return []byte(strconv.Itoa(cmd.Process.Pid)), nil
	},
	// spin burns the CPU time in its payload: the process's CPU clock, not
	// the wall clock, so that a loaded machine does not shorten the burn.
	"spin": func(_ context.Context, p []byte) ([]byte, error) {
		d, err := time.ParseDuration(string(p))
		if err != nil {
			return nil, err
		}
		start, err := processCPU()
		if err != nil {
			return nil, err
		}
		x := 0
		for {
			for range 10000 {
				x++
			}
			now, err := processCPU()
			if err != nil {
				return nil, err
			}
			if now-start >= d {
				break
			}
		}
		return []byte(strconv.Itoa(x % 2)), nil
	},
}

// processCPU returns the CPU time the process has used, user and system.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
