package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
	"github.com/drover-go/drover/actors/api"
	"github.com/drover-go/drover/actors/cluster"
	"github.com/drover-go/drover/actors/config"
)

// exitInterrupted is the exit status of `drover run` stopped by a second
// signal before its drain finished (128 + SIGINT, as a shell reports it).
const exitInterrupted = 130

// adminStopTimeout bounds how long the admin endpoint's requests in progress
// may take to finish once the node has stopped.
const adminStopTimeout = 5 * time.Second

// runOptions are the settings of `drover run`, as the flags give them.
type runOptions struct {
	ConfigFile string // --config: the configuration file; required
	Admin      string // --admin: replaces the file's admin.address; "" keeps it
	API        string // --api: serves the task API there, replacing the file's api.address; "" keeps the file's
	LogLevel   string // --log-level, when given: replaces the file's log.level; "" keeps it
	// ProtoactorMetrics (--protoactor-metrics) adds protoactor's own actor
	// metrics to /metrics.
	ProtoactorMetrics bool
	// Check (--check) validates the file and exits without starting a node.
	Check bool

	// reloads, when a value arrives (SIGHUP), makes the node read its file
	// again (see reload).
	reloads <-chan os.Signal

	// started, if not nil, is called once the node runs and its admin
	// endpoint listens, with the address it got.
	started func(n *actors.Node, adminAddr net.Addr)
	// apiStarted, if not nil, is called once the task API listens, with
	// its address.
	apiStarted func(net.Addr)
}

func newRunCmd(g *globalOptions) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run --config FILE [--admin ADDR] | run --check FILE",
		Short: "Run a long-lived node from a configuration file",
		Long: `Run starts a node as its configuration file describes it (its name, pools,
resource limits, log level and format, drain timeout and admin address; see
the sample in examples/node/drover.hcl) and runs it until SIGINT or SIGTERM.

The admin endpoint serves, on the configured address (127.0.0.1:9090 unless
the file or --admin names another; on loopback only by default):

  /          the live dashboard, in a browser: pools, workers, queues,
             rates, latency, events and charts, pushed as they change
  /events    the dashboard's stream (Server-Sent Events)
  /metrics   Prometheus text format: drover_* series per pool, go_*, process_*
  /status    the node's pools, workers and queues as JSON ('drover status')
  /healthz   200 while the process serves HTTP
  /readyz    200 while the node takes tasks, 503 once it drains

With --api ADDR (or an api block in the file), the node also serves its task
API there, for 'drover submit', curl and Go programs (package actors/client):
gRPC (drover.v1.TaskService) and HTTP/JSON (POST /v1/tasks, GET and DELETE
/v1/tasks/ID) on one port; the log line "api listening" gives the address. An
address other machines can reach needs a token (api.token_file,
api.token_env) or api.tls, or insecure = true.

The log line "admin listening" gives the address it bound (with --admin
127.0.0.1:0, a free port). Logs go to stderr in the file's log format, at its
log level, or at --log-level when that flag is given.

A node run from a file serves these built-in task types:

` + builtinTaskTypes + `

With a cluster block in the file, the node runs as a member of a cluster
(package actors/cluster): it logs "cluster member joined" with its name,
remote address and cluster, takes tasks from the other members, and /status
and 'drover status' show the members as it sees them (state, pools' load)
and its cluster counters.

On SIGHUP, or POST /v1/admin/reload on a task API with a token or mutual
TLS, the node reads its file again and applies what can change while it
runs: pools' worker counts and bounds, weights, queue capacity, task
timeouts, aging, shed and breakers, the limits, the log level and the drain
timeout. Nothing is lost: a pool that shrinks retires its surplus workers once
their tasks are done. It logs "configuration reloaded" with what changed, and
one warning per setting that waits for a restart, with the reason (a pool's
kind, concurrency, strategy or process; pools added or removed; the name,
the admin address, the log format, the cluster). A file that is not valid
changes nothing: the problems are logged and the node runs on as it was.

With --check, run only validates the file (FILE is --config's, or the one
argument) as a node would read it, prints "FILE: valid (node ..., pools ...)"
and exits 0, or
exits 2 listing every problem.

On SIGINT or SIGTERM the node stops taking tasks (/readyz turns 503), lets
queued and running tasks finish for the file's drain_timeout, fails what
remains with "shutting down", logs a report ("node stopped" with drained,
failed and abandoned counts), stops the admin endpoint and exits 0; a
cluster member first tells the others it leaves and waits, within the same
drain_timeout, for its tasks on them. A second SIGINT or SIGTERM during the
drain stops at once with exit status 130.

Exit status: 0 after a drain; 1 when the node or its admin endpoint cannot
start (the address is taken, say) or the endpoint fails; 2 for a bad flag or
a configuration file that cannot be read or is not valid (every problem is
printed, one per line, as file:line:column: field is value; allowed: ...);
130 after a second signal.`,
		Example: `  drover run --config examples/node/drover.hcl
  drover run --config examples/node/drover.hcl --api 127.0.0.1:7070
  drover run --config examples/node/drover.hcl --admin 127.0.0.1:0 --log-level debug
  drover run --check examples/node/drover.hcl
  kill -HUP <pid>    # read the file again`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.Check && len(args) == 1 && o.ConfigFile == "" {
				o.ConfigFile = args[0]
				return nil
			}
			return noArgs(cmd, args)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("log-level") {
				o.LogLevel = g.logLevel
			}
			if o.Check {
				return checkConfig(o, cmd.OutOrStdout())
			}
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
			hups := make(chan os.Signal, 1)
			signal.Notify(hups, syscall.SIGHUP)
			defer signal.Stop(hups)
			o.reloads = hups
			return runNode(cmd.Context(), o, cmd.ErrOrStderr(), sigs)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ConfigFile, "config", "", "the node's configuration file (HCL), such as examples/node/drover.hcl; required")
	f.StringVar(&o.Admin, "admin", "", `admin endpoint host:port, replacing the file's admin.address ("127.0.0.1:0" picks a free port)`)
	f.BoolVar(&o.Check, "check", false, "validate the configuration file (--config's, or the one argument) and exit: 0 when valid, 2 listing every problem")
	f.StringVar(&o.API, "api", "", `serve the task API (gRPC and HTTP/JSON, for 'drover submit', curl and actors/client) on host:port, replacing the file's api.address`)
	f.BoolVar(&o.ProtoactorMetrics, "protoactor-metrics", false, "also serve protoactor's own actor metrics (protoactor_*) on /metrics; this sets OpenTelemetry's global meter provider for the process")
	return cmd
}

// loadRunConfig reads o.ConfigFile and applies the flags that override it.
// Every error is a usage error (exit status 2).
func loadRunConfig(o runOptions) (*config.Config, error) {
	if o.ConfigFile == "" {
		return nil, usageErrorf("--config is missing; allowed: the path of a node's configuration file, such as examples/node/drover.hcl")
	}
	cfg, err := config.Load(o.ConfigFile)
	switch {
	case errors.Is(err, config.ErrRead):
		return nil, usageErrorf("--config %s: %w", o.ConfigFile, err)
	case err != nil:
		return nil, configError(o.ConfigFile, err)
	}
	if o.Admin != "" {
		cfg.Admin.Address = o.Admin
		if err := cfg.Validate(); err != nil {
			var ce *config.Error
			if errors.As(err, &ce) && ce.Field == "admin.address" {
				return nil, usageErrorf("--admin is %s; allowed: %s", ce.Value, ce.Allowed)
			}
			return nil, configError(o.ConfigFile, err)
		}
	}
	if o.API != "" {
		a := config.API{}
		if cfg.API != nil {
			a = *cfg.API
		}
		a.Address = o.API
		cfg.API = &a
		if err := cfg.Validate(); err != nil {
			var ce *config.Error
			if errors.As(err, &ce) && ce.Field == "api.address" {
				return nil, usageErrorf("--api is %s; allowed: %s", ce.Value, ce.Allowed)
			}
			return nil, configError(o.ConfigFile, err)
		}
	}
	if o.LogLevel != "" {
		l := hclog.LevelFromString(o.LogLevel)
		if l == hclog.NoLevel {
			return nil, usageErrorf("--log-level is %q; allowed: %s", o.LogLevel, logLevels)
		}
		cfg.Log.Level = l
	}
	return cfg, nil
}

// checkConfig validates o's file as runNode reads it, cluster settings
// included, and reports it valid on stdout.
func checkConfig(o runOptions, stdout io.Writer) error {
	cfg, err := loadRunConfig(o)
	if err != nil {
		return err
	}
	if cfg.Cluster != nil {
		if _, err := cfg.ClusterOptions(); err != nil {
			return configError(cfg.File, err)
		}
	}
	pools := make([]string, 0, len(cfg.Pools))
	for _, p := range cfg.Pools {
		pools = append(pools, p.Name)
	}
	if len(pools) == 0 {
		pools = append(pools, "default")
	}
	_, err = fmt.Fprintf(stdout, "%s: valid (node %q, pools %s)\n", cfg.File, cfg.WithDefaults().Name, strings.Join(pools, ", "))
	return err
}

// protoactorMeters returns an OpenTelemetry meter provider that exports to
// a Prometheus registry of its own, for protoactor's actor metrics.
func protoactorMeters() (*prometheus.Registry, *sdkmetric.MeterProvider, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	return reg, sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)), nil
}

// configError is a usage error listing the problems in a configuration, one
// per line as config.Load gives them, below a line naming the file.
func configError(file string, err error) error {
	n := 1
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n = len(j.Unwrap())
	}
	s := "s"
	if n == 1 {
		s = ""
	}
	return usageErrorf("%s is not a valid configuration (%d problem%s):\n%w", file, n, s, err)
}

// runNode runs the node that o describes until ctx ends or a signal comes
// on sigs, then drains it and stops its admin endpoint. A second signal on
// sigs during the drain makes it return at once with exit status 130,
// leaving the node's shutdown to finish (or not) on its own. Logs go to
// stderr.
func runNode(ctx context.Context, o runOptions, stderr io.Writer, sigs <-chan os.Signal) error {
	cfg, err := loadRunConfig(o)
	if err != nil {
		return err
	}
	cfg = cfg.WithDefaults()
	logger := cfg.NewLogger(stderr)

	opts, err := cfg.NodeOptions(logger)
	if err != nil {
		return configError(cfg.File, err)
	}
	var gatherers []prometheus.Gatherer
	if o.ProtoactorMetrics {
		reg, provider, err := protoactorMeters()
		if err != nil {
			return failuref("protoactor metrics: %w", err)
		}
		// protoactor reads OpenTelemetry's global meter, whatever provider
		// its system is given: the command, not the library, sets it.
		otel.SetMeterProvider(provider)
		defer func() { _ = provider.Shutdown(context.Background()) }()
		opts = append(opts, actors.WithProtoactorMetrics(provider))
		gatherers = append(gatherers, reg)
	}
	handlers := builtinHandlers()
	types := make([]string, 0, len(handlers))
	for name, h := range handlers {
		opts = append(opts, actors.WithHandler(name, h))
		types = append(types, name)
	}
	slices.Sort(types)
	var (
		n      *actors.Node
		member *cluster.Member
	)
	if cfg.Cluster != nil {
		if member, err = startMember(cfg, opts, logger); err != nil {
			return err
		}
		n = member.Node()
	} else if n, err = actors.NewNode(opts...); err != nil {
		if errors.Is(err, actors.ErrInvalidConfig) {
			return usageErrorf("%s: %w", cfg.File, err)
		}
		return failuref("start node: %w", err)
	}
	// stop drains the node within ctx; a member leaves the cluster first.
	stop := func(ctx context.Context) (actors.ShutdownReport, error) {
		if member == nil {
			return n.Shutdown(ctx)
		}
		err := member.Shutdown(ctx)
		rep, _ := n.Shutdown(ctx) // drained by the member: its first outcome
		return rep, err
	}
	began := time.Now()
	pools := make([]string, 0, len(n.Stats().Pools))
	for _, p := range n.Stats().Pools {
		pools = append(pools, fmt.Sprintf("%s (%s, %d workers, %s)", p.Name, p.Kind, p.Workers, p.Strategy))
	}
	logger.Info("node started", "config", cfg.File, "pools", strings.Join(pools, "; "),
		"task_types", strings.Join(types, ", "), "drain_timeout", cfg.DrainTimeout)

	adminOpts := []admin.Option{
		admin.WithReady(func() bool { return !n.Draining() && (member == nil || member.Health().Ready) }),
		admin.WithRuntimeMetrics(),
		admin.WithLogger(logger),
	}
	if member != nil {
		name := cfg.Cluster.Name
		adminOpts = append(adminOpts,
			admin.WithReadyReason(func() string {
				if h := member.Health(); !h.Ready {
					return "cluster member: " + h.Reason
				}
				return ""
			}),
			admin.WithClusterView(func() admin.ClusterStatus {
				cs := clusterStatus(name, member.View(), member.Stats(), time.Now())
				cs.NotReady = member.Health().Reason
				return cs
			}))
		reg := prometheus.NewRegistry()
		reg.MustRegister(newClusterCollector(member))
		gatherers = append(gatherers, reg)
	}
	adminOpts = append(adminOpts, admin.WithGatherers(gatherers...))
	h := admin.NewHandler(n, adminOpts...)
	srv, err := admin.Start(cfg.Admin.Address, h, admin.WithLogger(logger))
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
		defer cancel()
		_, _ = stop(stopCtx)
		return failuref("%w (set admin.address in %s, or --admin)", err, cfg.File)
	}
	addr := srv.Addr()
	logger.Info("admin listening", "addr", addr.String())
	if !isLoopback(addr) {
		logger.Warn("the admin endpoint is reachable from other machines and has no authentication", "addr", addr.String())
	}
	// A reload asked over the API runs here, on the loop that owns cfg.
	apiReloads, loopEnded := make(chan apiReload), make(chan struct{})
	reloadOverAPI := func(ctx context.Context) ([]string, []api.Kept, error) {
		req := apiReload{ctx: ctx, reply: make(chan apiReloaded, 1)}
		select {
		case apiReloads <- req:
		case <-loopEnded:
			return nil, nil, fmt.Errorf("%w: the node is stopping", actors.ErrShuttingDown)
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		r := <-req.reply
		return r.applied, r.kept, r.err
	}
	apiSrv, err := startAPI(cfg, n, logger, api.WithReload(reloadOverAPI))
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
		defer cancel()
		_, _ = stop(stopCtx)
		_ = srv.Shutdown(stopCtx)
		return err
	}
	if apiSrv != nil && o.apiStarted != nil {
		o.apiStarted(apiSrv.Addr())
	}
	if o.started != nil {
		o.started(n, addr)
	}

	signals := 0
	reason := "context ended"
	for {
		select {
		case <-o.reloads:
			cfg, _ = reload(ctx, o, n, logger, cfg)
			continue
		case req := <-apiReloads:
			var r apiReloaded
			cfg, r = reload(req.ctx, o, n, logger, cfg)
			req.reply <- r
			continue
		case s := <-sigs:
			signals++
			reason = s.String()
		case <-ctx.Done():
			// The signal that ended ctx may be on its way to sigs too: count
			// it here if it has arrived, in the drain below otherwise.
			select {
			case s := <-sigs:
				signals++
				reason = s.String()
			default:
				// signal.NotifyContext names the signal in the cause:
				// "terminated signal received".
				if c := context.Cause(ctx); c != nil && strings.HasSuffix(c.Error(), " signal received") {
					reason = strings.TrimSuffix(c.Error(), " signal received")
				}
			}
		case <-srv.Done():
			close(loopEnded)
			logger.Error("admin endpoint stopped serving", "error", srv.Err())
			stopCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
			defer cancel()
			_, _ = stop(stopCtx)
			return failuref("%w", srv.Err())
		}
		break // a signal, or ctx ended: drain
	}
	close(loopEnded)

	logger.Info("draining", "reason", reason, "drain_timeout", cfg.DrainTimeout, "uptime", time.Since(began).Round(time.Millisecond))
	drainStart := time.Now()
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancelDrain()
	type outcome struct {
		rep actors.ShutdownReport
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		rep, err := stop(drainCtx)
		done <- outcome{rep, err}
	}()
	var out outcome
drain:
	for {
		select {
		case out = <-done:
			break drain
		case s := <-sigs:
			if signals++; signals < 2 {
				continue
			}
			logger.Error("second signal: stopping without finishing the drain", "signal", s.String(),
				"draining_for", time.Since(drainStart).Round(time.Millisecond))
			cancelDrain()
			closeNow, cancel := context.WithCancel(context.Background())
			cancel()
			_ = srv.Shutdown(closeNow)
			if apiSrv != nil {
				_ = apiSrv.Shutdown(closeNow)
			}
			return &exitError{code: exitInterrupted, err: fmt.Errorf("stopped by a second signal (%s) before the drain finished", s)}
		}
	}

	switch {
	case errors.Is(out.err, context.DeadlineExceeded):
		logger.Warn("the drain did not finish within drain_timeout: the tasks left failed with shutting down",
			"drain_timeout", cfg.DrainTimeout, "error", out.err)
	case out.err != nil:
		logger.Warn("the cluster member did not leave cleanly", "error", out.err)
	}
	logger.Info("node stopped", "drained", out.rep.Drained, "failed", out.rep.Failed,
		"abandoned", out.rep.Abandoned, "took", time.Since(drainStart).Round(time.Millisecond))
	stopCtx, cancel := context.WithTimeout(context.Background(), adminStopTimeout)
	defer cancel()
	if apiSrv != nil {
		// The node has stopped: every task has its result, which streams
		// deliver before they end.
		if err := apiSrv.Shutdown(stopCtx); err != nil {
			logger.Warn("task API cut connections off", "error", err)
		}
	}
	if err := srv.Shutdown(stopCtx); err != nil {
		logger.Warn("admin endpoint cut requests off", "error", err)
	}
	return nil
}

// reload reads o's file again and applies it to n, which runs running
// (see config.Reload); it returns the configuration now in force. A file
// that cannot be read or is not valid changes nothing.
// apiReload is a reload asked over the task API, with where to answer.
type apiReload struct {
	ctx   context.Context
	reply chan apiReloaded
}

// apiReloaded is what a reload did.
type apiReloaded struct {
	applied []string
	kept    []api.Kept
	err     error
}

func reload(ctx context.Context, o runOptions, n *actors.Node, logger hclog.Logger, running *config.Config) (*config.Config, apiReloaded) {
	logger.Info("reloading the configuration", "config", o.ConfigFile)
	next, err := loadRunConfig(o)
	if err != nil {
		logger.Error("the configuration was not reloaded: the node runs on as it was", "error", err)
		return running, apiReloaded{err: fmt.Errorf("the configuration was not reloaded, the node runs on as it was: %w", err)}
	}
	cur, rep, err := config.Reload(ctx, n, logger, running, next)
	res := apiReloaded{applied: rep.Applied, err: err}
	for _, k := range rep.Kept {
		logger.Warn("setting kept until the node restarts", "setting", k.Setting, "reason", k.Reason)
		res.kept = append(res.kept, api.Kept{Setting: k.Setting, Reason: k.Reason})
	}
	if err != nil {
		logger.Error("the configuration was not reloaded in full", "error", err, "applied", strings.Join(rep.Applied, "; "))
		return cur, res
	}
	applied := strings.Join(rep.Applied, "; ")
	if applied == "" {
		applied = "nothing"
	}
	logger.Info("configuration reloaded", "applied", applied, "kept", len(rep.Kept))
	return cur, res
}

// startMember starts the cluster member that cfg describes, with nodeOpts
// for its node and logger for it, its node and protoactor, and logs its
// address. A configuration it cannot run (certificates that cannot be
// read, say) is a usage error; a member that cannot start (a busy port) is
// a failure.
func startMember(cfg *config.Config, nodeOpts []actors.Option, logger hclog.Logger) (*cluster.Member, error) {
	opts, err := cfg.ClusterOptions()
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, configError(cfg.File, err)
		}
		return nil, usageErrorf("%w", err)
	}
	m, err := cluster.NewMember(append(opts, cluster.WithNodeOptions(nodeOpts...), cluster.WithLogger(logger))...)
	if err != nil {
		if errors.Is(err, actors.ErrInvalidConfig) || errors.Is(err, cluster.ErrInvalidConfig) {
			return nil, usageErrorf("%s: %w", cfg.File, err)
		}
		return nil, failuref("start cluster member: %w (see the cluster block of %s)", err, cfg.File)
	}
	logger.Info("cluster member joined", "name", m.Name(), "address", m.Address(), "cluster", cfg.Cluster.Name)
	return m, nil
}

// isLoopback reports whether addr is on a loopback interface only.
func isLoopback(addr net.Addr) bool {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.IsLoopback()
	}
	return false
}

// startAPI serves the task API when the configuration asks for it (an api
// block, or --api), and logs its address; nil when it does not.
func startAPI(cfg *config.Config, n *actors.Node, logger hclog.Logger, extra ...api.Option) (*api.Server, error) {
	addr, opts, err := cfg.APIOptions()
	opts = append(opts, extra...)
	if err != nil {
		return nil, usageErrorf("%w", err)
	}
	if addr == "" {
		return nil, nil
	}
	s, err := api.Listen(addr, n, append(opts, api.WithLogger(logger.Named("api")))...)
	if err != nil {
		if errors.Is(err, api.ErrInsecure) {
			return nil, usageErrorf("%w: set api.token_file, api.token_env or an api.tls block in %s, or insecure = true", err, cfg.File)
		}
		return nil, failuref("%w (set api.address in %s, or --api)", err, cfg.File)
	}
	logger.Info("api listening", "addr", s.Addr().String())
	return s, nil
}
