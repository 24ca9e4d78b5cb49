package cluster

import (
	"errors"
	"fmt"

	"github.com/drover-go/drover/actors"
)

// Sentinel errors of the package. Task results use the actors package's
// sentinels (actors.ErrQueueFull, actors.ErrNoPool, actors.ErrShuttingDown,
// ...), so that errors.Is works the same on a node and on a cluster;
// ErrMemberLost is wrapped together with actors.ErrWorkerCrashed.
var (
	// ErrInvalidConfig is returned by NewMember for a configuration it
	// cannot run; the message names the field and the allowed values.
	ErrInvalidConfig = errors.New("cluster: invalid config")
	// ErrStart is returned by NewMember when the member could not start
	// (a busy port, an unreachable etcd, ...).
	ErrStart = errors.New("cluster: member did not start")
	// ErrMemberLost is the result of a task that was in flight on a member
	// that left the cluster or whose connection ended, and that was not
	// idempotent (or could not be placed again). It is wrapped with
	// actors.ErrWorkerCrashed: errors.Is(err, actors.ErrWorkerCrashed) holds.
	ErrMemberLost = errors.New("cluster: member lost")
)

func configError(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

func taskError(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", actors.ErrInvalidTask, field, fmt.Sprintf(format, args...))
}

// memberLost is the error of a task lost with member p.
func memberLost(p *peer, why string) error {
	return fmt.Errorf("%w: %w: %s (%s) %s with the task in flight", actors.ErrWorkerCrashed, ErrMemberLost, p.name, p.address, why)
}
