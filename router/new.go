package router

import (
	"fmt"
	"strings"
)

// The strategy names accepted by New.
const (
	NameRoundRobin     = "round-robin"
	NameWeighted       = "weighted"
	NameLeastBusy      = "least-busy"
	NameRandom         = "random"
	NameP2C            = "p2c"
	NameConsistentHash = "consistent-hash"
)

// Names returns the strategy names accepted by New, in a fixed order. The
// slice is a fresh copy on each call.
func Names() []string {
	return []string{NameRoundRobin, NameWeighted, NameLeastBusy, NameRandom, NameP2C, NameConsistentHash}
}

// Option adjusts a strategy made by New. Options that do not apply to the
// named strategy are ignored.
type Option func(*config)

type config struct {
	seed     uint64
	replicas int
}

// WithSeed seeds the generator of the random and p2c strategies; 0 (the
// default) means a seed drawn from the runtime's random source.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithReplicas sets the number of virtual nodes per routee of the
// consistent-hash strategy; 0 (the default) means DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// New returns an empty strategy by name; the empty name means round-robin.
// It returns an error wrapping ErrUnknownStrategy, listing the allowed names,
// for any other name not in Names, and the errors of the strategy's
// constructor (NewConsistentHash). Defaults: seed 0 (a random seed),
// DefaultReplicas virtual nodes per routee.
func New(name string, opts ...Option) (Strategy, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	switch name {
	case NameRoundRobin, "":
		return NewRoundRobin(), nil
	case NameWeighted:
		return NewWeighted(), nil
	case NameLeastBusy:
		return NewLeastBusy(), nil
	case NameRandom:
		return NewRandom(c.seed), nil
	case NameP2C:
		return NewP2C(c.seed), nil
	case NameConsistentHash:
		ch, err := NewConsistentHash(c.replicas)
		if err != nil {
			return nil, err
		}
		return ch, nil
	}
	return nil, fmt.Errorf("%w: %q, allowed names are %s",
		ErrUnknownStrategy, name, strings.Join(Names(), ", "))
}
