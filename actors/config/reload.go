package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/hashicorp/go-hclog"

	"github.com/drover-go/drover/actors"
)

// Kept is a setting that Reload left as it was.
type Kept struct {
	// Setting names it as the file does: "name", "admin.address", or
	// `pool "cpu": concurrency`.
	Setting string
	// Reason says why it keeps its running value.
	Reason string
}

// ReloadReport says what Reload did.
type ReloadReport struct {
	// Applied names the settings now in force, as in `pool "cpu": workers`
	// or "limits".
	Applied []string
	// Kept lists the settings that changed in the file but keep their
	// running values until the node restarts, each with the reason.
	Kept []Kept
}

// Reload makes node n, which runs the configuration running, take what
// can change while it runs from next (both as Parse or Load return them):
// each pool's settings through actors.Node.Reconfigure (worker counts and
// bounds, weights, queue capacity, timeouts, aging, shed, breakers), the
// limits through SetResourceLimits, the log level through logger (if not
// nil), and drain_timeout, which the caller reads from the configuration
// returned. The rest keeps its running value and is listed in the
// report's Kept with the reason: the node's name, the admin address, the
// log format, the cluster block, pools added or removed, and the pool
// fields Reconfigure keeps.
//
// Reload checks every pool of next first: if one is not valid it changes
// nothing and returns the error. It returns the configuration now in
// force: next, with the settings kept at running's values.
func Reload(ctx context.Context, n *actors.Node, logger hclog.Logger, running, next *Config) (*Config, ReloadReport, error) {
	var rep ReloadReport
	if err := next.Validate(); err != nil {
		return running, rep, err
	}
	var errs []error
	for _, p := range next.Pools {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return running, rep, err
	}
	cur, nxt := running.WithDefaults(), next.WithDefaults()
	eff := *nxt
	keep := func(setting, reason string) { rep.Kept = append(rep.Kept, Kept{Setting: setting, Reason: reason}) }
	if nxt.Name != cur.Name {
		keep("name", "the node's name is its root actor's, fixed while it runs")
		eff.Name = cur.Name
	}
	if nxt.Admin != cur.Admin {
		keep("admin.address", "the admin endpoint keeps the address it listens on")
		eff.Admin = cur.Admin
	}
	if nxt.Log.Format != cur.Log.Format {
		keep("log.format", "the logger's format is set when it is made")
		eff.Log.Format = cur.Log.Format
	}
	if nxt.Log.Level != cur.Log.Level {
		if logger != nil {
			logger.SetLevel(nxt.Log.Level)
			rep.Applied = append(rep.Applied, "log.level")
		} else {
			keep("log.level", "no logger to change")
			eff.Log.Level = cur.Log.Level
		}
	}
	if !reflect.DeepEqual(nxt.Cluster, cur.Cluster) {
		keep("cluster", "cluster membership is fixed while the node runs")
		eff.Cluster = cur.Cluster
	}
	if !reflect.DeepEqual(nxt.API, cur.API) {
		keep("api", "the task API keeps the listener and credentials it started with")
		eff.API = cur.API
	}
	if nxt.DrainTimeout != cur.DrainTimeout {
		rep.Applied = append(rep.Applied, "drain_timeout")
	}
	if nxt.Limits != cur.Limits {
		if err := n.SetResourceLimits(nxt.Limits.ResourceLimits()); err != nil {
			return running, rep, err // checked by Validate: not reached
		}
		rep.Applied = append(rep.Applied, "limits")
	}

	// Pools: the running set stays; each takes its new settings.
	byName := map[string]actors.PoolConfig{}
	for _, p := range nxt.Pools {
		byName[p.Name] = p
	}
	eff.Pools = nil
	for _, old := range cur.Pools {
		p, ok := byName[old.Name]
		if !ok {
			keep(fmt.Sprintf("pool %q", old.Name), "a pool is removed only by a restart of the node")
			eff.Pools = append(eff.Pools, old)
			continue
		}
		delete(byName, old.Name)
		res, err := n.Reconfigure(ctx, p)
		if err != nil {
			errs = append(errs, err)
			eff.Pools = append(eff.Pools, old)
			continue
		}
		for _, f := range res.Applied {
			rep.Applied = append(rep.Applied, fmt.Sprintf("pool %q: %s", p.Name, fileName(f)))
		}
		for _, k := range res.Kept {
			keep(fmt.Sprintf("pool %q: %s", p.Name, fileName(k.Field)), k.Reason)
		}
		eff.Pools = append(eff.Pools, p)
	}
	for _, p := range nxt.Pools {
		if _, added := byName[p.Name]; added {
			keep(fmt.Sprintf("pool %q", p.Name), "a pool is added only by a restart of the node")
		}
	}
	if len(cur.Pools) == 0 && len(nxt.Pools) == 0 {
		eff.Pools = nil
	}
	return &eff, rep, errors.Join(errs...)
}

// fileNames maps PoolConfig's field names to the file's.
var fileNames = map[string]string{
	"Kind": "kind", "Workers": "workers", "MinWorkers": "min_workers", "MaxWorkers": "max_workers",
	"Scale": "scale", "Concurrency": "concurrency", "Strategy": "strategy", "Weights": "weights",
	"QueueCapacity": "queue_capacity", "TaskTimeout": "task_timeout", "Restarts": "restarts", "TotalRestarts": "total_restarts",
	"Scope": "restarts.scope", "Backoff": "backoff", "StablePeriod": "stable_period", "Aging": "aging",
	"Shed": "shed", "StuckGrace": "stuck_grace", "PoolRestarts": "pool_restarts", "Health": "health",
	"Breaker": "breaker", "BreakerScope": "breaker.scope", "QuarantineAfter": "quarantine_after",
	"Retry": "retry", "Process": "process",
}

func fileName(field string) string {
	if f, ok := fileNames[field]; ok {
		return f
	}
	return field
}
