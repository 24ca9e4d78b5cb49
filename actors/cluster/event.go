package cluster

// EventKind says what happened to a member.
type EventKind uint8

// Event kinds.
const (
	// EventJoined: a member became able to take tasks (the topology names
	// it, it is reachable over remote and its load report came).
	EventJoined EventKind = iota + 1
	// EventLeft: a member stopped taking tasks for good: it left the
	// topology, its connection ended, or it said it is leaving. Its tasks
	// in flight were dispatched again (idempotent) or failed with
	// ErrMemberLost. If it comes back, it joins as new.
	EventLeft
)

// String returns "joined" or "left".
func (k EventKind) String() string {
	switch k {
	case EventJoined:
		return "joined"
	case EventLeft:
		return "left"
	}
	return "unknown"
}

// Event is a membership change seen by a member (WithEventHook).
type Event struct {
	Kind   EventKind
	Member MemberInfo
	// Reason says why a member left ("left the cluster", "lost its
	// connection", "is leaving", ...); empty for joins.
	Reason string
}

// String describes the event for logs.
func (e Event) String() string {
	s := "member " + e.Member.Name + " (" + e.Member.Address + ") " + e.Kind.String()
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}
