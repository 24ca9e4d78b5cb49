package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/drover-go/drover/supervision"
)

func TestBreakerOutcomes(t *testing.T) {
	const (
		ok   = supervision.Succeeded
		fail = supervision.Failed
		skip = supervision.Skipped
	)
	wrap := func(err error) error { return fmt.Errorf("%w: detail", err) }
	tests := []struct {
		name       string
		err        error
		typ        supervision.Outcome // for the type's breaker, and the pool's with BreakerAllResults
		poolFaults supervision.Outcome // for the pool's breaker with BreakerPoolFaults
	}{
		{"success", nil, ok, ok},
		{"handler error", errors.New("backend down"), fail, skip},
		{"transient handler error", Transient(errors.New("again")), fail, skip},
		{"panic", &PanicError{Value: "boom"}, fail, skip},
		{"timeout", wrap(ErrTimeout), fail, skip},
		{"no handler", wrap(ErrNoHandler), fail, skip},
		{"quarantined retry", wrap(ErrQuarantined), fail, skip},
		{"worker crashed", wrap(ErrWorkerCrashed), fail, fail},
		{"worker stuck", wrap(ErrWorkerStuck), fail, fail},
		{"canceled", fmt.Errorf("%w: %w", ErrCanceled, context.Canceled), skip, skip},
		{"shed", wrap(ErrShed), skip, skip},
		{"shutting down", wrap(ErrShuttingDown), skip, skip},
		{"queue full", ErrQueueFull, skip, skip},
		{"circuit open", wrap(ErrCircuitOpen), skip, skip},
		{"resource limit", wrap(ErrResource), skip, skip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := outcomeOf(tt.err)
			assert.Equal(t, tt.typ, o, "type's breaker")
			assert.Equal(t, tt.typ, BreakerAllResults.poolOutcome(o, tt.err), "pool's breaker, BreakerAllResults")
			assert.Equal(t, tt.poolFaults, BreakerPoolFaults.poolOutcome(o, tt.err), "pool's breaker, BreakerPoolFaults")
		})
	}
}
