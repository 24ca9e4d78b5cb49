package cluster

import (
	"cmp"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/router"
)

// Option configures a Member.
type Option func(*config) error

// Provider says how members find each other: Automanaged (the embedded
// default, no server needed) or Etcd. It is a closed set.
type Provider interface{ provider() }

// Automanaged is the automanaged cluster provider: every member serves its
// own description (its current incarnation's id and its remote address)
// over HTTP on Port and polls the health endpoints of every member in
// Seeds every Refresh. A member whose endpoint does not answer within
// Timeout leaves the cluster at once; with the defaults a dead member is
// dropped within 1 s (Refresh + Timeout). Nothing else needs to run, which
// makes it the embedded default; the seed list is static, so it suits
// clusters whose addresses are known in advance.
//
// The HTTP endpoint is plain HTTP, unauthenticated, on the member's bind
// host; it tells who is a member, not what they run. Tasks and load reports
// travel over protoactor's remote (gRPC), which WithTLS protects, and a
// member takes work only from and for members that reached it over remote.
type Automanaged struct {
	// Port is this member's HTTP port. Zero picks a free port, which is
	// only useful for a member alone (its Seeds cannot name the port).
	Port int
	// Seeds are the HTTP endpoints, "host:port", of every member, this one
	// included. Empty means this member alone.
	Seeds []string
	// Refresh is the time between two polls of the seeds; zero means
	// DefaultRefresh (250ms). Allowed: 10ms to 1m.
	Refresh time.Duration
	// Timeout bounds one poll of one seed; a seed that does not answer in
	// time is dropped. Zero means DefaultHealthTimeout (700ms). Allowed:
	// 10ms to 1m.
	Timeout time.Duration
}

func (Automanaged) provider() {}

// Etcd is the etcd cluster provider, for production: each incarnation of
// a member registers one key under BaseKey, held by a lease of LeaseTTL
// that the member keeps alive every Heartbeat, and every member watches
// the keys. A member that dies leaves when its lease expires (LeaseTTL), and
// at once for the members that had a connection to it. A member whose lease
// expired while it lived (it was paused, or cut off from etcd for longer
// than LeaseTTL) registers again as a new incarnation as soon as etcd
// answers. While etcd is unreachable the members keep the last membership
// they saw and go on working with each other.
type Etcd struct {
	// Endpoints are etcd's client URLs or host:port; at least one.
	Endpoints []string
	// BaseKey is the key prefix; zero means "/drover".
	BaseKey string
	// DialTimeout bounds the first connection to etcd; zero means 5s.
	DialTimeout time.Duration
	// TLS, when set, secures the connection to etcd (it is not the
	// members' own mTLS, see WithTLS).
	TLS *tls.Config
	// Username and Password authenticate to etcd when set.
	Username, Password string
	// LeaseTTL is the lease of a member's key: how long after its last
	// heartbeat a member that stopped is dropped. Zero means
	// DefaultLeaseTTL (3s). Allowed: 1s to 1m, whole seconds (etcd counts
	// leases in seconds).
	LeaseTTL time.Duration
	// Heartbeat is the time between two renewals of the lease. Zero means
	// a third of LeaseTTL. Allowed: 10ms to less than LeaseTTL.
	Heartbeat time.Duration
	// RequestTimeout bounds each request to etcd (a renewal, a listing).
	// Zero means DefaultEtcdRequest (1s). Allowed: 10ms to 1m.
	RequestTimeout time.Duration
}

func (Etcd) provider() {}

// Defaults of NewMember.
const (
	DefaultBind          = "127.0.0.1:0"
	DefaultClusterName   = "drover"
	DefaultReportEvery   = 200 * time.Millisecond
	DefaultMaxDispatch   = 3
	DefaultStrategy      = router.NameLeastBusy
	DefaultRefresh       = 250 * time.Millisecond
	DefaultHealthTimeout = 700 * time.Millisecond
	DefaultEtcdBaseKey   = "/drover"
	DefaultEtcdDial      = 5 * time.Second
	DefaultLeaseTTL      = 3 * time.Second
	DefaultEtcdRequest   = time.Second
	defaultDeadlineGrace = time.Second
)

type config struct {
	name          string
	bind          string
	host          string
	port          int
	advertised    string
	clusterName   string
	provider      Provider
	tls           *tls.Config
	nodeOpts      []actors.Option
	logger        hclog.Logger
	reportEvery   time.Duration
	staleAfter    time.Duration
	lostAfter     time.Duration
	strategy      string
	maxDispatch   int
	hook          func(Event)
	deadlineGrace time.Duration
	now           func() time.Time
}

// WithName names the member for people (views, events, logs). The default
// is its remote address.
func WithName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return configError("WithName", "is empty")
		}
		c.name = name
		return nil
	}
}

// WithBind sets the host:port on which the member's remote (gRPC) listens;
// the default is DefaultBind, loopback on a free port. A port of 0 picks a
// free port; the cluster provider advertises the real one.
func WithBind(addr string) Option {
	return func(c *config) error {
		host, port, err := splitHostPort(addr)
		if err != nil {
			return configError("WithBind", "is %q: %v; allowed: host:port with a port from 0 to 65535", addr, err)
		}
		c.bind, c.host, c.port = addr, host, port
		return nil
	}
}

// WithAdvertisedAddress sets the host:port other members dial to reach
// this one, when it differs from the bind address (behind NAT, or a bind
// on 0.0.0.0). With mTLS, the member's certificate must name its host.
func WithAdvertisedAddress(addr string) Option {
	return func(c *config) error {
		if _, port, err := splitHostPort(addr); err != nil || port == 0 {
			return configError("WithAdvertisedAddress", "is %q; allowed: host:port with a port from 1 to 65535", addr)
		}
		c.advertised = addr
		return nil
	}
}

// WithClusterName sets the cluster's name; members of different clusters
// ignore each other. The default is DefaultClusterName.
func WithClusterName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return configError("WithClusterName", "is empty")
		}
		c.clusterName = name
		return nil
	}
}

// WithProvider chooses how members find each other: an Automanaged (the
// default, a member alone) or an Etcd value.
func WithProvider(p Provider) Option {
	return func(c *config) error {
		switch p := p.(type) {
		case Automanaged:
			if p.Port < 0 || p.Port > 65535 {
				return configError("Automanaged.Port", "is %d; allowed: 0 to 65535", p.Port)
			}
			if p.Refresh != 0 && (p.Refresh < 10*time.Millisecond || p.Refresh > time.Minute) {
				return configError("Automanaged.Refresh", "is %s; allowed: 0 (default %s) or 10ms to 1m", p.Refresh, DefaultRefresh)
			}
			if p.Timeout != 0 && (p.Timeout < 10*time.Millisecond || p.Timeout > time.Minute) {
				return configError("Automanaged.Timeout", "is %s; allowed: 0 (default %s) or 10ms to 1m", p.Timeout, DefaultHealthTimeout)
			}
			for _, s := range p.Seeds {
				if _, port, err := splitHostPort(s); err != nil || port == 0 {
					return configError("Automanaged.Seeds", "holds %q; allowed: host:port with a port from 1 to 65535", s)
				}
			}
		case Etcd:
			if len(p.Endpoints) == 0 {
				return configError("Etcd.Endpoints", "is empty; allowed: one etcd endpoint or more")
			}
			if p.DialTimeout < 0 {
				return configError("Etcd.DialTimeout", "is %s; allowed: 0 (default) or more", p.DialTimeout)
			}
			if p.LeaseTTL != 0 && (p.LeaseTTL < time.Second || p.LeaseTTL > time.Minute || p.LeaseTTL%time.Second != 0) {
				return configError("Etcd.LeaseTTL", "is %s; allowed: 0 (default %s) or 1s to 1m in whole seconds", p.LeaseTTL, DefaultLeaseTTL)
			}
			ttl := cmp.Or(p.LeaseTTL, DefaultLeaseTTL)
			if p.Heartbeat != 0 && (p.Heartbeat < 10*time.Millisecond || p.Heartbeat >= ttl) {
				return configError("Etcd.Heartbeat", "is %s; allowed: 0 (default LeaseTTL/3) or 10ms to less than LeaseTTL (%s)", p.Heartbeat, ttl)
			}
			if p.RequestTimeout != 0 && (p.RequestTimeout < 10*time.Millisecond || p.RequestTimeout > time.Minute) {
				return configError("Etcd.RequestTimeout", "is %s; allowed: 0 (default %s) or 10ms to 1m", p.RequestTimeout, DefaultEtcdRequest)
			}
		case nil:
			return configError("WithProvider", "is nil")
		default:
			return configError("WithProvider", "is %T; allowed: Automanaged, Etcd", p)
		}
		c.provider = p
		return nil
	}
}

// WithTLS turns on mutual TLS for the member's remote: it serves with
// cfg's certificate, requires and verifies a client certificate signed by
// cfg.ClientCAs (cfg.RootCAs when ClientCAs is nil), and dials other
// members with the same certificate, verifying theirs against cfg.RootCAs.
// A member without such a certificate can neither send to nor receive from
// the cluster, so it never takes part. Each certificate must be valid for
// server and client authentication and name its member's advertised host
// (an IP or DNS subject alternative name). LoadTLS builds cfg from PEM files.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) error {
		switch {
		case cfg == nil:
			return configError("WithTLS", "is nil")
		case len(cfg.Certificates) == 0 && cfg.GetCertificate == nil:
			return configError("WithTLS: Certificates", "is empty; a member needs its own certificate")
		case cfg.RootCAs == nil:
			return configError("WithTLS: RootCAs", "is nil; a member verifies the others against it")
		}
		c.tls = cfg
		return nil
	}
}

// WithNodeOptions passes options to actors.NewNode for the member's node
// (pools, handlers, ...). WithActorSystem and WithLogger are set by the
// member.
func WithNodeOptions(opts ...actors.Option) Option {
	return func(c *config) error {
		c.nodeOpts = append(c.nodeOpts, opts...)
		return nil
	}
}

// WithLogger sets the logger of the member, its node and protoactor (whose
// Info becomes Debug). The default discards everything.
func WithLogger(l hclog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return configError("WithLogger", "is nil")
		}
		c.logger = l
		return nil
	}
}

// WithReportEvery sets how often the member sends its load report to the
// others; the default is DefaultReportEvery (200 ms). A member whose last
// report is older than staleAfter takes no new tasks until the next one;
// zero staleAfter means ten intervals.
func WithReportEvery(every, staleAfter time.Duration) Option {
	return func(c *config) error {
		if every < 10*time.Millisecond || every > time.Minute {
			return configError("WithReportEvery: every", "is %s; allowed: 10ms to 1m", every)
		}
		if staleAfter != 0 && staleAfter <= every {
			return configError("WithReportEvery: staleAfter", "is %s; allowed: 0 (default) or more than every (%s)", staleAfter, every)
		}
		c.reportEvery, c.staleAfter = every, staleAfter
		return nil
	}
}

// WithLostAfter sets how long another member may stay stale (no report
// came) before this member counts it as lost, whatever the provider says:
// its tasks in flight fail over (idempotent) or end with ErrMemberLost, and
// it takes tasks again only after a new report. It covers a member that is
// stuck while the provider cannot drop it (etcd unreachable). Zero means
// twice the stale bound (see WithReportEvery); allowed: 0, or more than
// the stale bound, up to 10m.
func WithLostAfter(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > 10*time.Minute {
			return configError("WithLostAfter", "is %s; allowed: 0 (default) or more than the stale bound, up to 10m", d)
		}
		c.lostAfter = d
		return nil
	}
}

// WithStrategy names the router strategy that picks a member for each task
// (see router.Names). The default, least-busy, picks the member with the
// fewest of this member's tasks in flight; weighted shares tasks by the
// free room each member reports; consistent-hash keeps tasks with the same
// Key on the same member.
func WithStrategy(name string) Option {
	return func(c *config) error {
		if _, err := router.New(name); err != nil {
			return configError("WithStrategy", "is %q; allowed: %s", name, strings.Join(router.Names(), ", "))
		}
		c.strategy = name
		return nil
	}
}

// WithMaxDispatch bounds how many times one task is sent to a member: the
// first time, then again after a member refused it without running it
// (queue full, shutting down) or, for an idempotent task, after its member
// was lost. The default is DefaultMaxDispatch (3).
func WithMaxDispatch(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 100 {
			return configError("WithMaxDispatch", "is %d; allowed: 1 to 100", n)
		}
		c.maxDispatch = n
		return nil
	}
}

// WithEventHook calls h with every membership event (a member joined or
// left). Events come in order, one at a time, from the member's control
// actor: h must be quick and must not call Shutdown; it may call View,
// Stats and Submit.
func WithEventHook(h func(Event)) Option {
	return func(c *config) error {
		c.hook = h
		return nil
	}
}

func defaultConfig() *config {
	return &config{
		bind:          DefaultBind,
		host:          "127.0.0.1",
		clusterName:   DefaultClusterName,
		provider:      Automanaged{},
		reportEvery:   DefaultReportEvery,
		strategy:      DefaultStrategy,
		maxDispatch:   DefaultMaxDispatch,
		deadlineGrace: defaultDeadlineGrace,
		now:           time.Now,
	}
}

func (c *config) finish() error {
	if c.staleAfter == 0 {
		c.staleAfter = 10 * c.reportEvery
	}
	switch {
	case c.lostAfter == 0:
		c.lostAfter = 2 * c.staleAfter
	case c.lostAfter <= c.staleAfter:
		return configError("WithLostAfter", "is %s; allowed: 0 (default) or more than the stale bound (%s), up to 10m", c.lostAfter, c.staleAfter)
	}
	if c.logger == nil {
		c.logger = hclog.NewNullLogger()
	}
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, &net.AddrError{Err: "bad port", Addr: addr}
	}
	return host, port, nil
}
