package supervision

import (
	"fmt"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
)

// Directive tells a supervisor what to do with a failed worker. The zero
// Directive is Restart.
type Directive int

const (
	// Restart replaces the worker with a fresh instance, after the backoff
	// delay and within the restart intensity; the message it failed on is
	// dropped.
	Restart Directive = iota
	// Stop stops the worker for good.
	Stop
	// Resume keeps the worker and its state and lets it take its next
	// message; the message it failed on is dropped.
	Resume
	// Escalate fails the supervisor itself, handing the decision to its
	// own supervisor.
	Escalate
)

var directiveNames = [...]string{Restart: "restart", Stop: "stop", Resume: "resume", Escalate: "escalate"}

// String returns "restart", "stop", "resume" or "escalate", or
// "Directive(n)" for a value outside the set.
func (d Directive) String() string {
	if d >= 0 && int(d) < len(directiveNames) {
		return directiveNames[d]
	}
	return "Directive(" + strconv.Itoa(int(d)) + ")"
}

// actorDirective maps d onto protoactor's Directive, for the supervision
// events protoactor publishes.
func (d Directive) actorDirective() actor.Directive {
	switch d {
	case Restart:
		return actor.RestartDirective
	case Resume:
		return actor.ResumeDirective
	case Escalate:
		return actor.EscalateDirective
	default:
		return actor.StopDirective
	}
}

// Decider chooses a Directive for a failure. reason is what the worker
// failed with: the value it panicked with, or the error it escalated (see
// ReasonError). A Decider is called on the supervisor's goroutine; one that
// is shared between supervisors must be safe for concurrent use.
type Decider func(reason any) Directive

// DefaultDecider restarts on every failure. It is safe for concurrent use.
func DefaultDecider(reason any) Directive { return Restart }

// Scope says which workers a restart covers. The zero Scope is OneForOne.
type Scope int

const (
	// OneForOne restarts only the failed worker: right when workers are
	// independent of each other.
	OneForOne Scope = iota
	// AllForOne restarts every worker of the supervisor when one fails:
	// right when each depends on all the others.
	AllForOne
	// RestForOne restarts the failed worker and every worker started after
	// it: right when each worker depends on those started before it.
	//
	// "After" is the order of the supervisor's Children. protoactor keeps
	// children in spawn order until one is removed: a stopped child's place
	// is taken by the last one. A supervisor that stops children and relies
	// on RestForOne should respawn in an order that keeps the dependency.
	RestForOne
)

var scopeNames = [...]string{OneForOne: "one-for-one", AllForOne: "all-for-one", RestForOne: "rest-for-one"}

// String returns "one-for-one", "all-for-one" or "rest-for-one", or
// "Scope(n)" for a value outside the set.
func (s Scope) String() string {
	if s >= 0 && int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return "Scope(" + strconv.Itoa(int(s)) + ")"
}

// ParseScope returns the Scope named "one-for-one", "all-for-one" or
// "rest-for-one"; an empty name means the default, OneForOne. Any other
// name is a *ConfigError.
func ParseScope(name string) (Scope, error) {
	if name == "" {
		return OneForOne, nil
	}
	for s, n := range scopeNames {
		if n == name {
			return Scope(s), nil
		}
	}
	return OneForOne, configError("Scope", strconv.Quote(name), `"one-for-one", "all-for-one" or "rest-for-one"`)
}

// MarshalText implements encoding.TextMarshaler, so a Scope reads and
// writes as its name in JSON, YAML or TOML configuration.
func (s Scope) MarshalText() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseScope.
func (s *Scope) UnmarshalText(text []byte) error {
	v, err := ParseScope(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func (s Scope) validate() error {
	if s < OneForOne || s > RestForOne {
		return configError("Scope", fmt.Sprint(int(s)), "OneForOne, AllForOne or RestForOne")
	}
	return nil
}
