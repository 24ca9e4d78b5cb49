package actors

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/supervision"
)

// Worker-state-changed events, one or two per task, are emitted only while
// someone receives them.
func TestSubscribeTurnsStateEventsOnOnlyWhenAsked(t *testing.T) {
	n, err := NewNode(WithPool(PoolConfig{Name: "p", Workers: 1}))
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := n.Shutdown(ctx)
		assert.NoError(t, err)
	}()
	assert.False(t, n.wantsStates(), "no hook, no subscription")

	failures := n.Subscribe(1, supervision.KindWorkerFailed)
	assert.False(t, n.wantsStates(), "a subscription that names other kinds")
	all := n.Subscribe(1)
	assert.True(t, n.wantsStates(), "a subscription to every kind")
	states := n.Subscribe(1, supervision.KindWorkerStateChanged)
	all.Close()
	assert.True(t, n.wantsStates(), "a subscription that names them")
	states.Close()
	states.Close()
	assert.False(t, n.wantsStates(), "closed twice, counted once")
	failures.Close()

	hooked, err := NewNode(WithEventHook(func(supervision.Event) {}))
	require.NoError(t, err)
	assert.True(t, hooked.wantsStates(), "the hook gets every event")
	_, err = hooked.Shutdown(context.Background())
	require.NoError(t, err)
}
