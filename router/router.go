package router

import "errors"

// Errors returned by the routing strategies. Compare with errors.Is.
var (
	// ErrUnknownStrategy is returned by New for a name it does not know.
	ErrUnknownStrategy = errors.New("router: unknown strategy")
	// ErrDuplicateRoutee is returned by Add for an ID already present.
	ErrDuplicateRoutee = errors.New("router: duplicate routee")
	// ErrUnknownRoutee is returned for an ID that was never added or was removed.
	ErrUnknownRoutee = errors.New("router: unknown routee")
	// ErrInvalidWeight is returned for a weight outside 1..MaxWeight (Add
	// also accepts 0, meaning 1).
	ErrInvalidWeight = errors.New("router: invalid weight")
	// ErrInvalidCapacity is returned by Add for a negative capacity.
	ErrInvalidCapacity = errors.New("router: invalid capacity")
	// ErrInvalidReplicas is returned for a number of virtual nodes per
	// routee outside 0..MaxReplicas (0 means DefaultReplicas).
	ErrInvalidReplicas = errors.New("router: invalid replicas")
)

// Routee describes one destination a Strategy can pick: a worker, or later a
// remote node.
type Routee struct {
	// ID identifies the routee; it is chosen by the caller and must be unique
	// within one Strategy.
	ID int
	// Weight is the routee's share for weighted strategies; zero means 1.
	Weight int
	// Capacity is the number of tasks the routee may have in flight at once;
	// zero means 1.
	Capacity int
}

// Strategy picks one routee for each task among those that are eligible
// (marked available and below their capacity). Pick reserves a slot on the
// routee it returns and Done releases it, so load-aware strategies always see
// the current number of tasks in flight.
//
// Implementations are safe for concurrent use by multiple goroutines.
type Strategy interface {
	// Name returns the strategy's name as accepted by New ("round-robin", ...).
	Name() string
	// Add adds a routee. A new routee is not available until SetAvailable(id, true).
	Add(r Routee) error
	// Remove removes a routee. Slots it still holds are forgotten.
	Remove(id int)
	// SetAvailable marks a routee as able to take work (idle or busy) or not
	// (starting, stopping, unhealthy, dead).
	SetAvailable(id int, ok bool)
	// SetWeight changes a routee's weight at run time.
	SetWeight(id int, weight int) error
	// Pick chooses an available routee with a free slot for a task with the
	// given routing key (0 when the task has none), reserves the slot and
	// returns the routee's ID. ok is false when no routee can take the task.
	Pick(key uint64) (id int, ok bool)
	// Done releases a slot reserved by Pick.
	Done(id int)
	// InFlight returns the number of slots reserved on a routee.
	InFlight(id int) int
}
