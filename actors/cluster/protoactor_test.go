package cluster_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idleProvider is a cluster provider that does nothing: the test feeds the
// member list itself.
type idleProvider struct{}

func (idleProvider) StartMember(*pcluster.Cluster) error { return nil }
func (idleProvider) StartClient(*pcluster.Cluster) error { return nil }
func (idleProvider) Shutdown(bool) error                 { return nil }

// TestProtoactorMemberListBlocksForGood shows the two behaviours of
// protoactor's member list that Drover's providers work around by never
// feeding it (see provider.go): a member id that leaves the topology is
// put on the remote's block list for good, so the same id never comes
// back; and each departure publishes an EndpointTerminatedEvent keyed by
// the address alone, which protoactor's remote takes as the end of the
// connection to whatever process has that address by then.
func TestProtoactorMemberListBlocksForGood(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	cl := pcluster.New(sys, pcluster.Configure("blocklist", idleProvider{}, disthash.New(), remote.Configure("127.0.0.1", 0)))
	cl.StartMember()
	defer cl.Shutdown(false)
	terminated := make(chan string, 4)
	sub := sys.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*remote.EndpointTerminatedEvent); ok {
			terminated <- e.Address
		}
	})
	defer sys.EventStream.Unsubscribe(sub)

	x := &pcluster.Member{Id: "x", Host: "127.0.0.1", Port: 9, Kinds: []string{}}
	cl.MemberList.UpdateClusterTopology(pcluster.Members{x})
	require.True(t, cl.MemberList.ContainsMemberID("x"))

	cl.MemberList.UpdateClusterTopology(pcluster.Members{})
	select {
	case addr := <-terminated:
		assert.Equal(t, "127.0.0.1:9", addr, "the departure is published by address")
	case <-time.After(5 * time.Second):
		t.Fatal("no EndpointTerminatedEvent for the member that left")
	}

	cl.MemberList.UpdateClusterTopology(pcluster.Members{x})
	assert.False(t, cl.MemberList.ContainsMemberID("x"), "the member came back and is kept out")
	assert.True(t, cl.Remote.BlockList().IsBlocked("x"), "its id is blocked for good")
}
