package cluster

import (
	"errors"
	"fmt"

	"github.com/drover-go/drover/actors"
)

// Sentinel errors of the package. Task results use the actors package's
// sentinels (actors.ErrQueueFull, actors.ErrNoPool, actors.ErrShuttingDown,
// ...), so that errors.Is works the same on a node and on a cluster;
// ErrMemberLost is wrapped together with actors.ErrWorkerCrashed and one of
// ErrNotSent and ErrNoAnswer.
var (
	// ErrInvalidConfig is returned by NewMember for a configuration it
	// cannot run; the message names the field and the allowed values.
	ErrInvalidConfig = errors.New("cluster: invalid config")
	// ErrStart is returned by NewMember when the member could not start
	// (a busy port, an unreachable etcd, ...).
	ErrStart = errors.New("cluster: member did not start")
	// ErrMemberLost is the result of a task whose member was lost (it
	// left the topology, its connection ended, or it sent no report for
	// the lost bound) and that was not idempotent or could not be placed
	// again. It is wrapped with actors.ErrWorkerCrashed, and with one of
	// ErrNotSent and ErrNoAnswer, which tell what is known of the outcome.
	ErrMemberLost = errors.New("cluster: member lost")
	// ErrNotSent comes with ErrMemberLost when no dispatch of the task
	// ever left this member: the task did not run anywhere, and
	// submitting it again runs it once.
	ErrNotSent = errors.New("cluster: task never sent")
	// ErrNoAnswer comes with ErrMemberLost when the task was handed to
	// the lost member (or to one lost before it) and no result came: its
	// outcome is unknown. It may have run, may still run there, or may
	// never run.
	ErrNoAnswer = errors.New("cluster: task sent, no answer")
)

func configError(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

func taskError(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", actors.ErrInvalidTask, field, fmt.Sprintf(format, args...))
}

// memberLost is the error of a task lost with member p, where it was in
// flight (sent) or about to go (not sent).
func memberLost(p *peer, why string, sent bool) error {
	if sent {
		return fmt.Errorf("%w: %w: %w: %s (%s) %s with the task in flight; its outcome is unknown", actors.ErrWorkerCrashed, ErrMemberLost, ErrNoAnswer, p.name, p.address, why)
	}
	return fmt.Errorf("%w: %w: %w: %s (%s) %s before the task went to it; it did not run", actors.ErrWorkerCrashed, ErrMemberLost, ErrNotSent, p.name, p.address, why)
}
