package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/drover-go/drover/actors/admin"
)

// minWatchInterval bounds --interval from below: a refresh faster than this
// is more than a person reads and costs the node a Stats per request.
const minWatchInterval = 100 * time.Millisecond

// clearScreen moves the cursor home and clears a terminal.
const clearScreen = "\x1b[H\x1b[2J"

// watcher refreshes the status of one node until its context ends. It keeps
// what it needs to tell a person how current the numbers are: the last
// answer, when it came, and for how long the node has not answered.
type watcher struct {
	o      statusOptions
	w      io.Writer
	tty    bool
	client *http.Client
	now    func() time.Time

	last     *admin.Status // the last answer, for rates; nil before one
	lastAt   time.Time
	failing  time.Time // when the current run of failures began; zero while answered
	attempts int       // failures since failing
}

// runStatusWatch shows the node's status every o.Interval until ctx ends
// (SIGINT), then returns nil. A node that does not answer is shown as
// unreachable, with since when and why, and without its last numbers,
// which would no longer be current; the watch keeps trying.
func runStatusWatch(ctx context.Context, o statusOptions, w io.Writer) error {
	wt := &watcher{
		o:      o,
		w:      w,
		tty:    isTerminal(w),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		now:    time.Now,
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for {
		if err := wt.refresh(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// refresh fetches the status once and writes one frame, in one Write.
func (wt *watcher) refresh(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(ctx, min(wt.o.Timeout, wt.o.Interval))
	st, err := admin.FetchStatus(fctx, wt.client, wt.o.Addr)
	cancel()
	if ctx.Err() != nil {
		return nil // interrupted: no frame for a fetch cut short
	}
	now := wt.now()
	var b bytes.Buffer
	if wt.tty {
		b.WriteString(clearScreen)
	} else {
		b.WriteString("\n")
	}
	if err != nil {
		if wt.failing.IsZero() {
			wt.failing = now
		}
		wt.attempts++
		fmt.Fprintf(&b, "drover status --watch: %s, every %s, at %s\n\n", wt.o.Addr, wt.o.Interval, clock(now))
		attempts := "1 attempt"
		if wt.attempts > 1 {
			attempts = fmt.Sprintf("%d attempts", wt.attempts)
		}
		fmt.Fprintf(&b, "UNREACHABLE: no answer from %s since %s (%s): %v\n", wt.o.Addr, clock(wt.failing), attempts, err)
		if wt.last != nil {
			fmt.Fprintf(&b, "Its last answer, at %s, is not shown: those numbers are no longer current.\n", clock(wt.lastAt))
		}
		fmt.Fprintf(&b, "Trying again every %s; Ctrl-C to quit.\n", wt.o.Interval)
		_, werr := wt.w.Write(b.Bytes())
		return werr
	}
	wt.failing, wt.attempts = time.Time{}, 0
	fmt.Fprintf(&b, "drover status --watch: %s, every %s, updated %s\n", wt.o.Addr, wt.o.Interval, clock(now))
	if wt.last != nil && wt.last.Node == st.Node {
		writeRates(&b, *wt.last, st, now.Sub(wt.lastAt))
	}
	b.WriteString("\n")
	if err := st.WriteText(&b); err != nil {
		return err
	}
	if err := writeBreakers(&b, st); err != nil {
		return err
	}
	wt.last, wt.lastAt = &st, now
	_, err = wt.w.Write(b.Bytes())
	return err
}

// writeRates writes the node's task rates between two answers.
func writeRates(w io.Writer, prev, cur admin.Status, dt time.Duration) {
	s := dt.Seconds()
	if s <= 0 {
		return
	}
	rate := func(c, p uint64) float64 {
		if c < p {
			return 0 // the node restarted
		}
		return float64(c-p) / s
	}
	a, b := prev.Totals, cur.Totals
	fmt.Fprintf(w, "rates over the last %s: %.1f submitted/s, %.1f completed/s, %.1f failed/s, %.1f rejected/s; %d restarts\n",
		dt.Round(time.Millisecond), rate(b.Submitted, a.Submitted), rate(b.Completed, a.Completed),
		rate(b.Failed, a.Failed), rate(b.Rejected, a.Rejected), b.Restarts-min(a.Restarts, b.Restarts))
}

func clock(t time.Time) string { return t.Format("15:04:05") }
