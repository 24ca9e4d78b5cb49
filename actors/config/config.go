package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/cluster"
	"github.com/drover-go/drover/supervision"
)

// Defaults of a Config, applied by Default, Parse and Load to every field
// the file leaves out.
const (
	DefaultName         = actors.DefaultName
	DefaultAdminAddress = "127.0.0.1:9090"
	DefaultDrainTimeout = 30 * time.Second
	DefaultLogLevel     = hclog.Info
	DefaultLogFormat    = FormatText
)

// Log formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Config is a node's configuration. Parse and Load return it with every
// default filled in; a Config built in code may leave fields at zero, which
// mean the defaults listed on each field. A Config is a plain value: read
// it from any goroutine, modify it from one.
type Config struct {
	// File is the file the configuration was read from ("" if none).
	File string
	// Name is the node's name; zero means DefaultName ("drover").
	Name string
	// Log configures the node's logger (see NewLogger).
	Log Log
	// Admin configures the admin HTTP endpoint.
	Admin Admin
	// API, when not nil, serves the node's task API (see APIOptions); nil
	// serves none.
	API *API
	// DrainTimeout bounds the graceful drain on SIGINT/SIGTERM (the context
	// given to Node.Shutdown); zero means DefaultDrainTimeout (30s).
	DrainTimeout time.Duration
	// Limits are the node's resource limits.
	Limits Limits
	// Pools are the node's pools in the order declared; none means the
	// node's default pool (see actors.NewNode). A zero field of a pool means
	// the default listed on actors.PoolConfig.
	Pools []actors.PoolConfig
	// Cluster, when not nil, makes the node a member of a cluster (see
	// ClusterOptions); nil runs it alone.
	Cluster *ClusterConfig
}

// ClusterConfig makes the node a cluster member (package actors/cluster).
// Zero fields mean the defaults listed on each; Parse fills them in. It is
// a plain value like Config.
type ClusterConfig struct {
	// Name is the cluster's name: members of different clusters ignore
	// each other. Zero means cluster.DefaultClusterName ("drover").
	Name string
	// Bind is the host:port of the member's remote (gRPC); port 0 picks a
	// free one. Zero means cluster.DefaultBind ("127.0.0.1:0").
	Bind string
	// Advertise is the host:port other members dial, when it differs from
	// Bind (behind NAT, or a bind on 0.0.0.0); zero means Bind's.
	Advertise string
	// Strategy names the router that picks a member for each task (see
	// router.Names); zero means cluster.DefaultStrategy (least-busy).
	Strategy string
	// ReportEvery is how often the member sends its load to the others;
	// zero means cluster.DefaultReportEvery (200ms).
	ReportEvery time.Duration
	// LostAfter is how long another member may send no report before
	// this one counts it lost (cluster.WithLostAfter); zero means twice
	// the stale bound (ten reports).
	LostAfter time.Duration
	// Automanaged and Etcd choose how members find each other; at most one
	// is set. Neither means Automanaged with zero fields: a member alone.
	Automanaged *Automanaged
	Etcd        *Etcd
	// TLS, when not nil, turns on mutual TLS between members.
	TLS *TLSFiles
}

// Automanaged configures the automanaged provider (cluster.Automanaged):
// each member serves its description over HTTP on Port and polls Seeds.
type Automanaged struct {
	// Port is this member's HTTP port; 0 picks a free one, which suits a
	// member alone only.
	Port int
	// Seeds are the host:port HTTP endpoints of every member, this one
	// included; none means this member alone.
	Seeds []string
	// Refresh is the time between two polls of the seeds and Timeout
	// bounds one poll; zero means cluster.DefaultRefresh (250ms) and
	// cluster.DefaultHealthTimeout (700ms).
	Refresh, Timeout time.Duration
}

// Etcd configures the etcd provider (cluster.Etcd).
type Etcd struct {
	// Endpoints are etcd's client URLs or host:port; at least one.
	Endpoints []string
	// BaseKey is the key prefix; zero means cluster.DefaultEtcdBaseKey.
	BaseKey string
	// LeaseTTL, Heartbeat, RequestTimeout and DialTimeout are
	// cluster.Etcd's; zero means its defaults (3s, a third of LeaseTTL,
	// 1s, 5s).
	LeaseTTL, Heartbeat, RequestTimeout, DialTimeout time.Duration
}

// TLSFiles names the PEM files of a member's mutual TLS (see
// cluster.LoadTLS); all three are required. Relative paths are relative to
// the working directory, not to the file.
type TLSFiles struct {
	// CAFile is the CA certificate that signs every member's certificate.
	CAFile string
	// CertFile and KeyFile are this member's certificate and key.
	CertFile, KeyFile string
}

// Log configures the node's logger.
type Log struct {
	// Level is the lowest level written; zero (hclog.NoLevel) means
	// DefaultLogLevel (info).
	Level hclog.Level
	// Format is FormatText or FormatJSON; zero means FormatText.
	Format string
}

// Admin configures the admin HTTP endpoint.
type Admin struct {
	// Address is the host:port the endpoint listens on; zero means
	// DefaultAdminAddress, on loopback only.
	Address string
}

// Limits are the node's resource limits, enforced as
// actors.ResourceLimits says: over a soft limit the node refuses
// low-priority tasks, over MemoryHard all but critical ones. Zero fields
// mean no limit, or for Interval and Window their defaults.
type Limits struct {
	// MemorySoft is the memory, in bytes (the Go heap plus process
	// workers' resident memory), above which the node sheds load.
	MemorySoft uint64
	// MemoryHard is the memory, in bytes, above which the node takes only
	// critical tasks; at least MemorySoft when both are set.
	MemoryHard uint64
	// CPUPercent is the share of all the machine's CPUs the node should use,
	// from 1 to 100.
	CPUPercent float64
	// Interval is the time between samples; zero means
	// actors.DefaultResourceInterval (1s).
	Interval time.Duration
	// Window is the span CPU use is averaged over, at least Interval; zero
	// means 5 intervals.
	Window time.Duration
}

// ResourceLimits returns l as the runtime takes it.
func (l Limits) ResourceLimits() actors.ResourceLimits {
	return actors.ResourceLimits{MemorySoft: l.MemorySoft, MemoryHard: l.MemoryHard, CPUPercent: l.CPUPercent, Interval: l.Interval, Window: l.Window}
}

// Default returns the configuration of an empty file: a node named
// "drover", logging at info as text, its admin endpoint on 127.0.0.1:9090,
// a 30s drain and no pools (the node's default pool).
func Default() *Config {
	return &Config{
		Name:         DefaultName,
		Log:          Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Admin:        Admin{Address: DefaultAdminAddress},
		DrainTimeout: DefaultDrainTimeout,
	}
}

// WithDefaults returns a copy of c with every zero field set to its
// default, Cluster's included. The copy shares c's Pools slice.
func (c *Config) WithDefaults() *Config {
	d := *c
	if d.Name == "" {
		d.Name = DefaultName
	}
	if d.Log.Level == hclog.NoLevel {
		d.Log.Level = DefaultLogLevel
	}
	if d.Log.Format == "" {
		d.Log.Format = DefaultLogFormat
	}
	if d.Admin.Address == "" {
		d.Admin.Address = DefaultAdminAddress
	}
	if d.DrainTimeout == 0 {
		d.DrainTimeout = DefaultDrainTimeout
	}
	if d.Cluster != nil {
		d.Cluster = d.Cluster.withDefaults()
	}
	return &d
}

// withDefaults returns a copy of c with every zero field set to its
// default. The copy shares c's provider and TLS values.
func (c *ClusterConfig) withDefaults() *ClusterConfig {
	d := *c
	if d.Name == "" {
		d.Name = cluster.DefaultClusterName
	}
	if d.Bind == "" {
		d.Bind = cluster.DefaultBind
	}
	if d.Strategy == "" {
		d.Strategy = cluster.DefaultStrategy
	}
	if d.ReportEvery == 0 {
		d.ReportEvery = cluster.DefaultReportEvery
	}
	switch {
	case d.Etcd != nil && d.Etcd.BaseKey == "":
		e := *d.Etcd
		e.BaseKey = cluster.DefaultEtcdBaseKey
		d.Etcd = &e
	case d.Etcd == nil && d.Automanaged == nil:
		d.Automanaged = &Automanaged{}
	}
	return &d
}

// Load reads and parses the file at path (see Parse). A file that cannot
// be read gives an error wrapping ErrRead and the os error.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRead, err)
	}
	return Parse(src, path)
}

// Validate checks the fields of a Config built or changed in code (a
// command-line flag overriding Admin.Address, say), the way Parse checks a
// file, and returns the problems joined, each an *Error without a position.
// Zero fields are valid (they mean the defaults). Pool fields other than
// the name are checked by actors.NewNode, which reports them with their
// allowed ranges.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, field, value, allowed string) {
		errs = append(errs, &Error{Path: path, Field: field, Value: value, Allowed: allowed})
	}
	if c.Name != "" && !validName(c.Name) {
		bad("", "name", strconv.Quote(c.Name), allowedName)
	}
	if c.Log.Level != hclog.NoLevel && !slices.Contains(logLevels, c.Log.Level) {
		bad("", "log.level", strconv.Itoa(int(c.Log.Level)), strings.Join(logLevelNames, ", "))
	}
	if c.Log.Format != "" && !slices.Contains(logFormats, c.Log.Format) {
		bad("", "log.format", strconv.Quote(c.Log.Format), strings.Join(logFormats, ", "))
	}
	if c.Admin.Address != "" && !validAddress(c.Admin.Address) {
		bad("", "admin.address", strconv.Quote(c.Admin.Address), allowedAddress)
	}
	errs = append(errs, c.API.validate()...)
	if c.DrainTimeout != 0 && !drainTimeout.contains(c.DrainTimeout) {
		bad("", "drain_timeout", strconv.Quote(formatDuration(c.DrainTimeout)), drainTimeout.allowed)
	}
	l := c.Limits
	if l.MemorySoft != 0 && !memorySize.contains(l.MemorySoft) {
		bad("", "limits.memory_soft", strconv.FormatUint(l.MemorySoft, 10), memorySize.allowed)
	}
	if l.MemoryHard != 0 && !memorySize.contains(l.MemoryHard) {
		bad("", "limits.memory_hard", strconv.FormatUint(l.MemoryHard, 10), memorySize.allowed)
	} else if l.MemoryHard != 0 && l.MemorySoft > l.MemoryHard {
		bad("", "limits.memory_hard", strconv.FormatUint(l.MemoryHard, 10),
			"at least limits.memory_soft ("+strconv.FormatUint(l.MemorySoft, 10)+")")
	}
	if l.CPUPercent != 0 && !(l.CPUPercent >= cpuPercent.min && l.CPUPercent <= cpuPercent.max) {
		bad("", "limits.cpu_percent", strconv.FormatFloat(l.CPUPercent, 'g', -1, 64), cpuPercent.allowed)
	}
	if l.Interval != 0 && !resourceInterval.contains(l.Interval) {
		bad("", "limits.interval", strconv.Quote(formatDuration(l.Interval)), resourceInterval.allowed)
	}
	if l.Window != 0 && (!resourceInterval.contains(l.Window) || l.Window < l.Interval) {
		bad("", "limits.window", strconv.Quote(formatDuration(l.Window)), resourceInterval.allowed+", at least limits.interval")
	}
	if c.Cluster != nil {
		errs = append(errs, c.Cluster.validate()...)
	}
	seen := map[string]bool{}
	for i, p := range c.Pools {
		switch {
		case !validName(p.Name):
			bad("", fmt.Sprintf("pools[%d].name", i), strconv.Quote(p.Name), allowedName)
		case seen[p.Name]:
			errs = append(errs, &Error{Path: fmt.Sprintf("pool %q", p.Name), Message: "declared twice", Allowed: "one pool per name"})
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}

// NodeOptions returns the options that make actors.NewNode run the node
// this configuration describes: its name, its pools in order, and logger
// (if not nil) as the node's logger. It returns Validate's error for a
// Config that is not valid. Handlers are code, not configuration: add
// actors.WithHandler options to the result.
func (c *Config) NodeOptions(logger hclog.Logger) ([]actors.Option, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d := c.WithDefaults()
	opts := []actors.Option{actors.WithName(d.Name)}
	if logger != nil {
		opts = append(opts, actors.WithLogger(logger))
	}
	if l := d.Limits; l != (Limits{}) {
		opts = append(opts, actors.WithResourceLimits(l.ResourceLimits()))
	}
	for _, p := range d.Pools {
		if p.Process != nil {
			pc := *p.Process
			pc.Args = slices.Clone(pc.Args)
			pc.Env = slices.Clone(pc.Env)
			p.Process = &pc
		}
		opts = append(opts, actors.WithPool(p))
	}
	return opts, nil
}

// NewLogger returns an hclog logger writing to w at the configured level
// and format, named after the node.
func (c *Config) NewLogger(w io.Writer) hclog.Logger {
	d := c.WithDefaults()
	return hclog.New(&hclog.LoggerOptions{
		Name:       d.Name,
		Level:      d.Log.Level,
		JSONFormat: d.Log.Format == FormatJSON,
		Output:     w,
	})
}

// Allowed values, shared by Parse and Validate.
var (
	logLevels     = []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error, hclog.Off}
	logLevelNames = []string{"trace", "debug", "info", "warn", "error", "off"}
	logFormats    = []string{FormatText, FormatJSON}
)

const (
	allowedName    = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
	allowedAddress = `host:port with a port from 0 to 65535, such as "127.0.0.1:9090"`
	maxNameLen     = 64
)

// validName says whether s may name a node or a pool: it becomes an actor
// name and a metric label.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return true
}

func validAddress(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// durationRange is an allowed range of durations and its description.
type durationRange struct {
	min, max time.Duration
	allowed  string
}

func (r durationRange) contains(d time.Duration) bool { return d >= r.min && d <= r.max }

func durations(lo, hi time.Duration, example string) durationRange {
	return durationRange{lo, hi, fmt.Sprintf("a duration from %s to %s, such as %q", formatDuration(lo), formatDuration(hi), example)}
}

// formatDuration is time.Duration's String without zero minutes and
// seconds after hours or minutes: "24h", not "24h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

type sizeRange struct {
	min, max uint64
	allowed  string
}

func (r sizeRange) contains(n uint64) bool { return n >= r.min && n <= r.max }

type floatRange struct {
	min, max float64
	allowed  string
}

type intRange struct{ min, max int }

func (r intRange) allowed() string { return fmt.Sprintf("%d to %d", r.min, r.max) }

// Ranges of the file's fields. The limits actors.PoolConfig has (workers,
// concurrency, queue_capacity) are actors'; the others bound what a file
// may ask for where actors only requires a value >= 0. Where a field has a
// default, its example is that default.
var (
	drainTimeout  = durations(time.Millisecond, 24*time.Hour, formatDuration(DefaultDrainTimeout))
	taskTimeout   = durationRange{0, 24 * time.Hour, `a duration from 0s (none) to 24h, such as "5s"`}
	stablePeriod  = durations(time.Millisecond, 24*time.Hour, formatDuration(actors.DefaultStablePeriod))
	restartWindow = durations(time.Millisecond, 24*time.Hour, formatDuration(actors.DefaultRestartsWindow))
	backoffDelay  = durations(time.Microsecond, time.Hour, formatDuration(supervision.Backoff{}.WithDefaults().Initial))
	startTimeout  = durations(time.Millisecond, time.Hour, formatDuration(actors.DefaultProcessStartTimeout))
	killGrace     = durations(time.Millisecond, time.Hour, formatDuration(actors.DefaultProcessKillGrace))
	stuckGrace    = durations(time.Millisecond, 24*time.Hour, formatDuration(actors.DefaultStuckGrace))
	aging         = durationRange{0, 24 * time.Hour, `a duration from 0s (strict priority) to 24h, such as "500ms"`}
	memorySize    = sizeRange{1 << 20, 1 << 50, `a size from 1MiB to 1PiB, such as "512MiB" or "2GB"`}
	cpuPercent    = floatRange{1, 100, "1 to 100 (percent of all the machine's CPUs)"}
	multiplier    = floatRange{1, 1000, "1 to 1000"}
	jitter        = floatRange{0, 1, "0 (none) to 1"}

	workers       = intRange{1, actors.MaxPoolWorkers}
	concurrency   = intRange{1, actors.MaxConcurrency}
	queueCapacity = intRange{1, actors.MaxQueueCapacity}
	maxRestarts   = intRange{0, 1_000_000}
	maxTasks      = intRange{1, 1 << 40}
	weight        = intRange{1, actors.MaxWeight}
	maxWeights    = actors.MaxPoolWorkers

	quarantineAfter  = intRange{0, 1_000_000}
	resourceInterval = durations(time.Millisecond, time.Hour, formatDuration(actors.DefaultResourceInterval))
	scaleInterval    = durations(time.Millisecond, time.Hour, formatDuration(actors.DefaultScaleInterval))
	scaleCooldown    = durations(time.Millisecond, 24*time.Hour, formatDuration(actors.DefaultScaleCooldown))
	utilization      = floatRange{0.01, 1, "0.01 to 1 (the share of the workers' slots in use)"}
	upAfter          = intRange{1, 1000}
	healthInterval   = durations(time.Millisecond, time.Hour, formatDuration(supervision.HealthPolicy{}.WithDefaults().Interval))
	healthFailures   = intRange{1, 1000}
	breakerFailures  = intRange{1, 1_000_000}
	resetTimeout     = durations(time.Millisecond, 24*time.Hour, formatDuration(supervision.BreakerConfig{}.WithDefaults().ResetTimeout))
	halfOpenTrials   = intRange{1, actors.MaxConcurrency}
	maxAttempts      = intRange{0, 1000}
)
