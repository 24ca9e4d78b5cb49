package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/actors/config"
)

// statusOptions are the settings of `drover status`, as the flags give them.
type statusOptions struct {
	Addr     string        // the node's admin address, host:port or a URL
	JSON     bool          // print the status as JSON
	Timeout  time.Duration // bounds the whole request
	Watch    bool          // refresh until interrupted
	Interval time.Duration // between refreshes, with Watch
}

func defaultStatusOptions() statusOptions {
	return statusOptions{Addr: config.DefaultAdminAddress, Timeout: 5 * time.Second, Interval: 2 * time.Second}
}

func newStatusCmd() *cobra.Command {
	o := defaultStatusOptions()
	cmd := &cobra.Command{
		Use:   "status [--addr ADDR] [--json | --watch [--interval D]]",
		Short: "Show a running node's pools, workers, queues and cluster",
		Long: `Status reads /status from the admin endpoint of a node started with
'drover run' (or of any service serving Drover's admin handler) and prints it:
the node and its totals, one line per pool (kind, strategy, workers, tasks in
flight, queued tasks by priority critical/high/normal/low, queue capacity,
counters), each pool's workers with their state; for a cluster member, the
cluster's counters and one line per member (address, state, age of its last
load report, this member's tasks on it, its pools' tasks in flight, queued
and capacity); and the circuit breakers with theirs (closed, open,
half-open) when a pool has any.

With --json it prints the status as one JSON object, as /status serves it.

With --watch it shows the status again every --interval (2s), like a
monitor: on a terminal it redraws the screen, elsewhere it writes one frame
after another; each frame says when it was taken and adds the node's task
rates since the previous one. A node that stops answering is shown as
UNREACHABLE, since when, after how many attempts and why, and its last
numbers are not shown as if they were current; the watch keeps trying and
shows the node again once it answers. The node's own dashboard, at its admin
address in a browser, shows the same live, with charts and events.

Exit status: 0 when the node answered (with --watch: when interrupted); 1
when it cannot be reached or does not answer as a Drover admin endpoint (the
message names the address); 2 for a bad flag.`,
		Example: `  drover status
  drover status --addr 127.0.0.1:9090 --json
  drover status --watch --interval 1s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", o.Addr, `the node's admin address: host:port, or a URL such as "http://host:9090"`)
	f.BoolVar(&o.JSON, "json", o.JSON, "print the status as one JSON object")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up on the node after this long (with --watch: on each refresh, at most --interval)")
	f.BoolVar(&o.Watch, "watch", o.Watch, "refresh the status every --interval until interrupted")
	f.DurationVar(&o.Interval, "interval", o.Interval, "time between refreshes with --watch")
	return cmd
}

// runStatus fetches the status of the node at o.Addr and writes it to w.
func runStatus(ctx context.Context, o statusOptions, w io.Writer) error {
	switch {
	case o.Addr == "":
		return usageErrorf(`--addr is ""; allowed: host:port or a URL, such as %q`, config.DefaultAdminAddress)
	case o.Timeout <= 0:
		return usageErrorf("--timeout is %s; allowed: more than 0", o.Timeout)
	case o.Watch && o.JSON:
		return usageErrorf("--watch and --json do not go together: --watch is for people; for a program, read /status (or --json) as often as it needs")
	case o.Watch && o.Interval < minWatchInterval:
		return usageErrorf("--interval is %s; allowed: %s or more", o.Interval, minWatchInterval)
	}
	if o.Watch {
		return runStatusWatch(ctx, o, w)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	st, err := admin.FetchStatus(ctx, client, o.Addr)
	if err != nil {
		return failuref("no node status from %s (is 'drover run' serving its admin endpoint there?): %w", o.Addr, err)
	}
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	if err := st.WriteText(w); err != nil {
		return err
	}
	return writeBreakers(w, st)
}

// writeBreakers lists the pools' circuit breakers and their states, by pool
// and task type ("(pool)" for a pool's own breaker), or nothing when no pool
// has one.
func writeBreakers(w io.Writer, st admin.Status) error {
	type row struct{ pool, taskType, state string }
	var rows []row
	for _, p := range st.Pools {
		types := make([]string, 0, len(p.Breakers))
		for t := range p.Breakers {
			types = append(types, t)
		}
		slices.Sort(types)
		for _, t := range types {
			name := t
			if name == "" {
				name = "(pool)"
			}
			rows = append(rows, row{p.Name, name, p.Breakers[t]})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\ncircuit breakers:")
	fmt.Fprintln(tw, "  POOL\tTASK TYPE\tSTATE")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.pool, r.taskType, r.state)
	}
	return tw.Flush()
}
