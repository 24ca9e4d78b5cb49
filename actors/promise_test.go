package actors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
)

func TestPromiseCompletesOnce(t *testing.T) {
	p := actors.NewPromise("t-1", nil)
	f := p.Future()
	assert.Equal(t, "t-1", f.ID())
	_, done := f.Result()
	assert.False(t, done)
	select {
	case <-f.Done():
		t.Fatal("done before Complete")
	default:
	}
	want := actors.Result{Output: []byte("ok"), Worker: "w-3", Node: "b", Run: time.Millisecond}
	assert.True(t, p.Complete(want))
	assert.False(t, p.Complete(actors.Result{Err: errors.New("late")}), "a second result is dropped")
	assert.False(t, f.Cancel(), "a done Future cannot be canceled")
	got, err := f.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, got)
	<-f.Done()
}

func TestPromiseCancel(t *testing.T) {
	p := actors.NewPromise("", nil)
	assert.True(t, p.Future().Cancel())
	_, err := p.Future().Wait(context.Background())
	assert.ErrorIs(t, err, actors.ErrCanceled)
	assert.False(t, p.Complete(actors.Result{}), "Cancel recorded the result")

	// With a hook, Cancel asks it; the hook completes the Promise.
	calls := 0
	var q *actors.Promise
	q = actors.NewPromise("", func() bool {
		calls++
		return q.Complete(actors.Result{Err: actors.ErrCanceled, Node: "far"})
	})
	waiting := make(chan error, 1)
	go func() { _, err := q.Future().Wait(context.Background()); waiting <- err }()
	assert.True(t, q.Future().Cancel())
	assert.ErrorIs(t, <-waiting, actors.ErrCanceled)
	assert.False(t, q.Future().Cancel())
	assert.Equal(t, 1, calls, "the hook is not called once the Future is done")
	r, _ := q.Future().Result()
	assert.Equal(t, "far", r.Node)
}

func TestResultNamesTheNode(t *testing.T) {
	n := newNode(t, actors.WithName("north"))
	f, err := n.SubmitFunc(context.Background(), "", func(context.Context) (any, error) { return 1, nil })
	require.NoError(t, err)
	r, err := f.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "north", r.Node)
}
