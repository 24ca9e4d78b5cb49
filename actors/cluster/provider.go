package cluster

import (
	"context"
	"strconv"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
)

// Membership is Drover's own. Its providers (Automanaged, Etcd) implement
// protoactor's ClusterProvider, so that protoactor's cluster starts them,
// but they never call protoactor's MemberList.UpdateClusterTopology: they
// send their list of members to the member's control actor instead. This
// works around two behaviours of protoactor's member list:
//
//   - every member id that leaves the topology goes on the remote's block
//     list for good (remote.BlockList has no way out), so a member whose
//     key lapsed and came back under the same id was never admitted again;
//   - for every member that leaves it publishes an EndpointTerminatedEvent
//     keyed by address alone, which closes the connection to whatever
//     process has that address by then (a member restarted at the same
//     address lost its connection, and its tasks, to its predecessor's
//     departure).
//
// With the member list empty, protoactor's gossip has nobody to gossip
// with, so its heartbeat check never blocks an actor system id either.
//
// Membership is keyed by incarnation: each incarnation of a member has an
// id of its own, "<actor system id>.<n>", n counting from 1 in the
// process. A new process is a new actor system, so a new id; a member that
// finds itself shut out registers again under its next incarnation.

// topology is a provider's list of the members it sees, this one included,
// sent to the control actor on every change.
type topology struct {
	members []topoMember
	// why says why a member missing from the list is gone.
	why string
}

// topoMember is one incarnation of a member in a topology.
type topoMember struct {
	id      string // the incarnation's id
	address string // its remote address
	// rev orders incarnations at one address: the higher, the newer.
	rev int64
}

// incarnated tells the control actor that the member runs as a new
// incarnation: its reports carry the new id from now on.
type incarnated struct {
	id  string
	why string
}

// provider is a membership source of Drover's. Its methods are safe for
// concurrent use.
type provider interface {
	pcluster.ClusterProvider
	// rejoin makes the member register again as a new incarnation.
	rejoin(why string)
	// status says whether the member is registered and in touch with the
	// coordinator.
	status() providerStatus
	// dropBound is how long a member may be silent before the others
	// drop it: a member that was paused longer was dropped.
	dropBound() time.Duration
	// stop deregisters the member and stops the provider, giving up on
	// the coordinator when ctx ends.
	stop(ctx context.Context) error
}

// providerStatus is what readiness needs to know of a provider.
type providerStatus struct {
	// registered: the coordinator has the member's current incarnation.
	registered bool
	// contact is the last time the coordinator answered; zero when there
	// is no coordinator (automanaged).
	contact time.Time
	// contactBound is how old contact may be before the member counts as
	// cut off from the coordinator.
	contactBound time.Duration
	// coordinator names the coordinator for reasons ("etcd at ...").
	coordinator string
}

// incarnationID returns the id of incarnation n of the member whose actor
// system has id sys.
func incarnationID(sys string, n int64) string {
	return sys + "." + strconv.FormatInt(n, 10)
}
