package actors_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
)

func TestTaskOnResultGetsTheOneResult(t *testing.T) {
	release := make(chan struct{})
	n := newNode(t, actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 4}),
		actors.WithHandler("echo", func(_ context.Context, b []byte) ([]byte, error) { return b, nil }),
		actors.WithHandler("block", func(ctx context.Context, _ []byte) ([]byte, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, ctx.Err()
		}))
	got := make(chan actors.Result, 4)
	onResult := func(r actors.Result) { got <- r }

	f, err := n.TrySubmit(actors.Task{Type: "echo", Payload: []byte("hi"), OnResult: onResult})
	require.NoError(t, err)
	r := <-got
	assert.Equal(t, "hi", string(r.Output))
	fr := wait(t, f)
	assert.Equal(t, fr.Output, r.Output)

	blocker, err := n.TrySubmit(actors.Task{Type: "block", OnResult: onResult})
	require.NoError(t, err)
	queued, err := n.TrySubmit(actors.Task{Type: "echo", OnResult: onResult})
	require.NoError(t, err)
	require.True(t, queued.Cancel())
	r = <-got
	assert.True(t, errors.Is(r.Err, actors.ErrCanceled), "%v", r.Err)
	close(release)
	<-got
	wait(t, blocker)
	assert.Empty(t, got, "each task's OnResult runs once")
}
