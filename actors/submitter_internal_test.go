package actors

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSubmitterReusesRecords: a Submitter makes a few windows of records at
// most and reuses them, however many tasks run (a record is reused only
// once its result is delivered and its runner has let it go, so more than
// a window may be in use at a time).
func TestSubmitterReusesRecords(t *testing.T) {
	n, err := NewNode(WithPool(PoolConfig{Name: "p", Workers: 2, Concurrency: 2}),
		WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	require.NoError(t, err)
	defer func() { _, _ = n.Shutdown(context.Background()) }()
	const window = 16
	s, err := n.NewSubmitter(window)
	require.NoError(t, err)
	for i := range 20000 {
		for s.TrySubmit(Task{Type: "echo"}, uint64(i)) == nil {
		}
		_, err := s.Next(context.Background())
		require.NoError(t, err)
	}
	require.LessOrEqual(t, s.made.Load(), int64(4*window), "records are not reused")
}
