package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/drover-go/drover/actors/cluster"
	"github.com/drover-go/drover/router"
)

// ClusterOptions returns the options that make cluster.NewMember run the
// member this configuration describes: the node's name as the member's
// name, then Cluster's fields, with its defaults; with Cluster.TLS it reads
// the PEM files (cluster.LoadTLS). It returns nil and no error when Cluster
// is nil, and Validate's error for a Config that is not valid. Files that
// cannot be loaded give an error wrapping ErrInvalid and cluster's error
// (which wraps the os error). The node itself goes in through
// cluster.WithNodeOptions(NodeOptions(...)...), and the logger through
// cluster.WithLogger.
func (c *Config) ClusterOptions() ([]cluster.Option, error) {
	if c.Cluster == nil {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d := c.WithDefaults()
	cc := d.Cluster
	opts := []cluster.Option{
		cluster.WithName(d.Name),
		cluster.WithClusterName(cc.Name),
		cluster.WithBind(cc.Bind),
		cluster.WithStrategy(cc.Strategy),
		cluster.WithReportEvery(cc.ReportEvery, 0),
	}
	if cc.LostAfter != 0 {
		opts = append(opts, cluster.WithLostAfter(cc.LostAfter))
	}
	if cc.Advertise != "" {
		opts = append(opts, cluster.WithAdvertisedAddress(cc.Advertise))
	}
	if e := cc.Etcd; e != nil {
		opts = append(opts, cluster.WithProvider(cluster.Etcd{Endpoints: append([]string(nil), e.Endpoints...), BaseKey: e.BaseKey,
			LeaseTTL: e.LeaseTTL, Heartbeat: e.Heartbeat, RequestTimeout: e.RequestTimeout, DialTimeout: e.DialTimeout}))
	} else {
		a := cc.Automanaged
		opts = append(opts, cluster.WithProvider(cluster.Automanaged{Port: a.Port, Seeds: append([]string(nil), a.Seeds...),
			Refresh: a.Refresh, Timeout: a.Timeout}))
	}
	if t := cc.TLS; t != nil {
		tc, err := cluster.LoadTLS(t.CAFile, t.CertFile, t.KeyFile)
		if err != nil {
			where := "cluster.tls"
			if d.File != "" {
				where = d.File + ": " + where
			}
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, where, err)
		}
		opts = append(opts, cluster.WithTLS(tc))
	}
	return opts, nil
}

// Allowed values of the cluster block, shared by Parse and Validate.
const (
	allowedBind      = `host:port with a port from 0 to 65535, such as "10.0.0.1:7000" (port 0 picks a free one)`
	allowedAdvertise = `host:port with a port from 1 to 65535, such as "203.0.113.7:7000"`
	allowedSeeds     = `a list of host:port with ports from 1 to 65535, such as ["10.0.0.1:6331", "10.0.0.2:6331"]`
	allowedEndpoints = `a list of one etcd endpoint or more, such as ["127.0.0.1:2379"]`
	allowedBaseKey   = `a key prefix, such as "/drover"`
	allowedPEMFile   = "the path of a PEM file"
	allowedProvider  = "one provider block: automanaged { ... } or etcd { ... }"
)

var (
	reportEvery  = durations(10*time.Millisecond, time.Minute, "200ms")
	lostAfter    = durations(20*time.Millisecond, 10*time.Minute, "4s")
	pollEvery    = durations(10*time.Millisecond, time.Minute, "250ms")
	pollTimeout  = durations(10*time.Millisecond, time.Minute, "700ms")
	leaseTTL     = durationRange{time.Second, time.Minute, `whole seconds from 1s to 1m, such as "3s"`}
	heartbeat    = durations(10*time.Millisecond, time.Minute, "1s")
	etcdRequest  = durations(10*time.Millisecond, time.Minute, "1s")
	etcdDial     = durations(10*time.Millisecond, time.Minute, "5s")
	healthPort   = intRange{0, 65535}
	allowedBeats = "a duration from 10ms to less than lease_ttl (3s when unset), such as \"1s\""
)

// validLease says whether d is a lease etcd can hold: whole seconds.
func validLease(d time.Duration) bool { return leaseTTL.contains(d) && d%time.Second == 0 }

// tlsFields are the fields of a tls block, all required.
var tlsFields = []string{"ca_file", "cert_file", "key_file"}

func (t *TLSFiles) field(name string) string {
	switch name {
	case "ca_file":
		return t.CAFile
	case "cert_file":
		return t.CertFile
	default:
		return t.KeyFile
	}
}

// validHostPort says whether s is host:port with a port from minPort to
// 65535.
func validHostPort(s string, minPort int) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= minPort && n <= 65535
}

func validStrategy(s string) bool { return slices.Contains(router.Names(), s) }

// validate checks the fields of a ClusterConfig built in code, as Parse
// checks the file's cluster block.
func (c *ClusterConfig) validate() []error {
	var errs []error
	bad := func(field, value, allowed string) {
		errs = append(errs, &Error{Field: "cluster." + field, Value: value, Allowed: allowed})
	}
	missing := func(field, allowed string) {
		errs = append(errs, &Error{Message: "cluster." + field + " is missing", Allowed: allowed})
	}
	if c.Name != "" && !validName(c.Name) {
		bad("name", strconv.Quote(c.Name), allowedName)
	}
	if c.Bind != "" && !validHostPort(c.Bind, 0) {
		bad("bind", strconv.Quote(c.Bind), allowedBind)
	}
	if c.Advertise != "" && !validHostPort(c.Advertise, 1) {
		bad("advertise", strconv.Quote(c.Advertise), allowedAdvertise)
	}
	if c.Strategy != "" && !validStrategy(c.Strategy) {
		bad("strategy", strconv.Quote(c.Strategy), strings.Join(router.Names(), ", "))
	}
	if c.ReportEvery != 0 && !reportEvery.contains(c.ReportEvery) {
		bad("report_every", strconv.Quote(formatDuration(c.ReportEvery)), reportEvery.allowed)
	}
	if c.LostAfter != 0 && !lostAfter.contains(c.LostAfter) {
		bad("lost_after", strconv.Quote(formatDuration(c.LostAfter)), lostAfter.allowed)
	}
	if c.Automanaged != nil && c.Etcd != nil {
		errs = append(errs, &Error{Message: "cluster.automanaged and cluster.etcd are both set", Allowed: allowedProvider})
	}
	if a := c.Automanaged; a != nil {
		if a.Port < healthPort.min || a.Port > healthPort.max {
			bad("automanaged.port", strconv.Itoa(a.Port), healthPort.allowed())
		}
		for _, s := range a.Seeds {
			if !validHostPort(s, 1) {
				bad("automanaged.seeds", strconv.Quote(s), allowedSeeds)
				break
			}
		}
		if a.Refresh != 0 && !pollEvery.contains(a.Refresh) {
			bad("automanaged.refresh", strconv.Quote(formatDuration(a.Refresh)), pollEvery.allowed)
		}
		if a.Timeout != 0 && !pollTimeout.contains(a.Timeout) {
			bad("automanaged.timeout", strconv.Quote(formatDuration(a.Timeout)), pollTimeout.allowed)
		}
	}
	if e := c.Etcd; e != nil {
		if len(e.Endpoints) == 0 {
			missing("etcd.endpoints", allowedEndpoints)
		}
		for _, s := range e.Endpoints {
			if s == "" {
				bad("etcd.endpoints", `""`, allowedEndpoints)
				break
			}
		}
		if e.LeaseTTL != 0 && !validLease(e.LeaseTTL) {
			bad("etcd.lease_ttl", strconv.Quote(formatDuration(e.LeaseTTL)), leaseTTL.allowed)
		}
		if e.Heartbeat != 0 && !validBeat(e.Heartbeat, e.LeaseTTL) {
			bad("etcd.heartbeat", strconv.Quote(formatDuration(e.Heartbeat)), allowedBeats)
		}
		if e.RequestTimeout != 0 && !etcdRequest.contains(e.RequestTimeout) {
			bad("etcd.request_timeout", strconv.Quote(formatDuration(e.RequestTimeout)), etcdRequest.allowed)
		}
		if e.DialTimeout != 0 && !etcdDial.contains(e.DialTimeout) {
			bad("etcd.dial_timeout", strconv.Quote(formatDuration(e.DialTimeout)), etcdDial.allowed)
		}
	}
	if t := c.TLS; t != nil {
		for _, f := range tlsFields {
			if t.field(f) == "" {
				missing("tls."+f, allowedPEMFile+"; ca_file, cert_file and key_file are all required")
			}
		}
	}
	return errs
}

// Fields and blocks of the cluster block.
var (
	clusterFields     = []string{"name", "bind", "advertise", "strategy", "report_every", "lost_after"}
	clusterBlocks     = []string{"automanaged", "etcd", "tls"}
	automanagedFields = []string{"port", "seeds", "refresh", "timeout"}
	etcdFields        = []string{"endpoints", "base_key", "lease_ttl", "heartbeat", "request_timeout", "dial_timeout"}
)

func (d *decoder) cluster(b *body) *ClusterConfig {
	c := &ClusterConfig{}
	b.only(clusterFields, clusterBlocks)
	if s, a := b.str("name", allowedName, validName); a != nil {
		c.Name = s
	}
	if s, a := b.str("bind", allowedBind, func(s string) bool { return validHostPort(s, 0) }); a != nil {
		c.Bind = s
	}
	if s, a := b.str("advertise", allowedAdvertise, func(s string) bool { return validHostPort(s, 1) }); a != nil {
		c.Advertise = s
	}
	if s, a := b.enum("strategy", router.Names()); a != nil {
		c.Strategy = s
	}
	if v, a := b.duration("report_every", reportEvery); a != nil {
		c.ReportEvery = v
	}
	if v, a := b.duration("lost_after", lostAfter); a != nil {
		c.LostAfter = v
	}
	ab, eb := b.single("automanaged"), b.single("etcd")
	if ab != nil && eb != nil {
		second, first := eb, ab
		if eb.TypeRange.Start.Byte < ab.TypeRange.Start.Byte {
			second, first = ab, eb
		}
		d.add(second.TypeRange, Error{
			Message: fmt.Sprintf("cluster.%s block with a cluster.%s block (line %d)", second.Type, first.Type, first.TypeRange.Start.Line),
			Allowed: allowedProvider,
		})
	}
	if ab != nil {
		c.Automanaged = d.automanaged(b.child(ab, ""))
	}
	if eb != nil {
		c.Etcd = d.etcd(b.child(eb, ""), eb)
	}
	if tb := b.single("tls"); tb != nil {
		c.TLS = d.tls(b.child(tb, ""), tb)
	}
	return c.withDefaults()
}

func (d *decoder) automanaged(b *body) *Automanaged {
	a := &Automanaged{}
	b.only(automanagedFields, nil)
	if n, attr := b.int("port", healthPort); attr != nil {
		a.Port = n
	}
	if l, attr := b.stringList("seeds", allowedSeeds); attr != nil {
		for _, s := range l {
			if !validHostPort(s, 1) {
				b.bad(attr, allowedSeeds)
				return a
			}
		}
		a.Seeds = l
	}
	if v, attr := b.duration("refresh", pollEvery); attr != nil {
		a.Refresh = v
	}
	if v, attr := b.duration("timeout", pollTimeout); attr != nil {
		a.Timeout = v
	}
	return a
}

func (d *decoder) etcd(b *body, blk *hclsyntax.Block) *Etcd {
	e := &Etcd{}
	b.only(etcdFields, nil)
	if l, attr := b.stringList("endpoints", allowedEndpoints); attr != nil {
		if len(l) == 0 || slices.Contains(l, "") {
			b.bad(attr, allowedEndpoints)
		} else {
			e.Endpoints = l
		}
	} else if b.b.Attributes["endpoints"] == nil {
		d.add(blk.TypeRange, Error{Message: "cluster.etcd.endpoints is missing", Allowed: allowedEndpoints})
	}
	if s, attr := b.str("base_key", allowedBaseKey, func(s string) bool { return s != "" }); attr != nil {
		e.BaseKey = s
	}
	if v, attr := b.duration("lease_ttl", durationRange{leaseTTL.min, leaseTTL.max, leaseTTL.allowed}); attr != nil {
		if validLease(v) {
			e.LeaseTTL = v
		} else {
			b.bad(attr, leaseTTL.allowed)
		}
	}
	if v, attr := b.duration("heartbeat", heartbeat); attr != nil {
		if validBeat(v, e.LeaseTTL) {
			e.Heartbeat = v
		} else {
			b.bad(attr, allowedBeats)
		}
	}
	if v, attr := b.duration("request_timeout", etcdRequest); attr != nil {
		e.RequestTimeout = v
	}
	if v, attr := b.duration("dial_timeout", etcdDial); attr != nil {
		e.DialTimeout = v
	}
	return e
}

// validBeat says whether d renews a lease of ttl (3s when zero) in time.
func validBeat(d, ttl time.Duration) bool {
	if ttl == 0 {
		ttl = 3 * time.Second
	}
	return heartbeat.contains(d) && d < ttl
}

func (d *decoder) tls(b *body, blk *hclsyntax.Block) *TLSFiles {
	t := &TLSFiles{}
	b.only(tlsFields, nil)
	set := map[string]*string{"ca_file": &t.CAFile, "cert_file": &t.CertFile, "key_file": &t.KeyFile}
	for _, f := range tlsFields {
		if s, a := b.str(f, allowedPEMFile, func(s string) bool { return s != "" }); a != nil {
			*set[f] = s
		} else if b.b.Attributes[f] == nil {
			d.add(blk.TypeRange, Error{
				Message: b.prefix + f + " is missing",
				Allowed: allowedPEMFile + "; ca_file, cert_file and key_file are all required",
			})
		}
	}
	return t
}
