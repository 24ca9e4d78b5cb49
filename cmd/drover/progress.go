package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/term"
)

// Progress refresh intervals: a terminal line is redrawn at most 10 times a
// second; plain output gets at most one line a second.
const (
	progressTTYEvery   = 100 * time.Millisecond
	progressPlainEvery = time.Second
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// console serializes writes to stderr between the log and the progress
// line. On a terminal the progress line is rewritten in place with \r, and a
// log line first clears it (the next tick redraws it). It is safe for
// concurrent use.
type console struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	showing bool // a progress line without its newline is on screen
}

func newConsole(w io.Writer, tty bool) *console { return &console{w: w, tty: tty} }

// Write writes log output, on a line of its own.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.showing {
		if _, err := io.WriteString(c.w, "\r\x1b[K"); err != nil {
			return 0, err
		}
		c.showing = false
	}
	return c.w.Write(p)
}

// progress shows line as the progress line: in place on a terminal, as a
// line of its own otherwise. final ends the line on a terminal.
func (c *console) progress(line string, final bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.tty:
		fmt.Fprintln(c.w, line)
	case final:
		fmt.Fprintf(c.w, "\r%s\x1b[K\n", line)
		c.showing = false
	default:
		fmt.Fprintf(c.w, "\r%s\x1b[K", line)
		c.showing = true
	}
}

// progressSnapshot is what the progress line shows.
type progressSnapshot struct {
	done, total      uint64 // total 0: no task limit
	inFlight, failed uint64
	restarts         uint64
	elapsed          time.Duration
}

func (s progressSnapshot) String() string {
	rate := 0.0
	if s.elapsed > 0 {
		rate = float64(s.done) / s.elapsed.Seconds()
	}
	done := fmt.Sprintf("%d", s.done)
	if s.total > 0 {
		done = fmt.Sprintf("%d/%d (%.0f%%)", s.done, s.total, 100*float64(s.done)/float64(s.total))
	}
	return fmt.Sprintf("demo: %s done, %.0f tasks/s, %d in flight, %d failed, %d restarts, %s",
		done, rate, s.inFlight, s.failed, s.restarts, s.elapsed.Round(100*time.Millisecond))
}

// runProgress shows snap on c every interval until stop closes, then shows
// it one last time and closes done.
func runProgress(c *console, every time.Duration, snap func() progressSnapshot, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.progress(snap().String(), false)
		case <-stop:
			c.progress(snap().String(), true)
			return
		}
	}
}
