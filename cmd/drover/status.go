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
	Addr    string        // the node's admin address, host:port or a URL
	JSON    bool          // print the status as JSON
	Timeout time.Duration // bounds the whole request
}

func defaultStatusOptions() statusOptions {
	return statusOptions{Addr: config.DefaultAdminAddress, Timeout: 5 * time.Second}
}

func newStatusCmd() *cobra.Command {
	o := defaultStatusOptions()
	cmd := &cobra.Command{
		Use:   "status [--addr ADDR] [--json]",
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

Exit status: 0 when the node answered; 1 when it cannot be reached or does
not answer as a Drover admin endpoint (the message names the address); 2 for
a bad flag.`,
		Example: `  drover status
  drover status --addr 127.0.0.1:9090 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", o.Addr, `the node's admin address: host:port, or a URL such as "http://host:9090"`)
	f.BoolVar(&o.JSON, "json", o.JSON, "print the status as one JSON object")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up on the node after this long")
	return cmd
}

// runStatus fetches the status of the node at o.Addr and writes it to w.
func runStatus(ctx context.Context, o statusOptions, w io.Writer) error {
	switch {
	case o.Addr == "":
		return usageErrorf(`--addr is ""; allowed: host:port or a URL, such as %q`, config.DefaultAdminAddress)
	case o.Timeout <= 0:
		return usageErrorf("--timeout is %s; allowed: more than 0", o.Timeout)
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
