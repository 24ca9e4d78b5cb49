package supervision

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEvents(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	tests := []struct {
		e    Event
		kind EventKind
		name string
		str  string
	}{
		{WorkerStarted{Pool: "p", Worker: "w", At: at}, KindWorkerStarted, "worker-started",
			"worker-started pool=p worker=w"},
		{WorkerFailed{Pool: "p", Worker: "w", Reason: boom, Directive: Restart, Attempt: 2, At: at}, KindWorkerFailed, "worker-failed",
			"worker-failed pool=p worker=w directive=restart attempt=2 reason=boom"},
		{WorkerRestarted{Pool: "p", Worker: "w", Attempt: 2, Delay: time.Second, At: at}, KindWorkerRestarted, "worker-restarted",
			"worker-restarted pool=p worker=w attempt=2 delay=1s"},
		{WorkerGaveUp{Pool: "p", Worker: "w", Reason: boom, Restarts: 6, At: at}, KindWorkerGaveUp, "worker-gave-up",
			"worker-gave-up pool=p worker=w restarts=6 reason=boom"},
		{WorkerStuck{Pool: "p", Worker: "w", Elapsed: time.Minute, At: at}, KindWorkerStuck, "worker-stuck",
			"worker-stuck pool=p worker=w elapsed=1m0s"},
		{WorkerUnhealthy{Pool: "p", Worker: "w", Reason: boom, Failures: 3, At: at}, KindWorkerUnhealthy, "worker-unhealthy",
			"worker-unhealthy pool=p worker=w failures=3 reason=boom"},
		{PoolFailed{Pool: "p", Reason: boom, At: at}, KindPoolFailed, "pool-failed",
			"pool-failed pool=p reason=boom"},
		{BreakerStateChanged{Pool: "p", From: Closed, To: Open, At: at}, KindBreakerStateChanged, "breaker-state-changed",
			"breaker-state-changed pool=p from=closed to=open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.kind, tt.e.Kind())
			assert.Equal(t, tt.name, tt.e.Kind().String())
			assert.Equal(t, at, tt.e.Time())
			assert.Equal(t, tt.str, tt.e.String())
		})
	}
	assert.Equal(t, "EventKind(0)", EventKind(0).String())
	assert.Equal(t, "EventKind(99)", EventKind(99).String())
}

func TestReasonError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		reason any
		is     error
		msg    string
	}{
		{name: "nil", reason: nil},
		{name: "error kept", reason: boom, is: boom, msg: "boom"},
		{name: "string wrapped", reason: "oops", is: ErrPanic, msg: "supervision: panic: oops"},
		{name: "int wrapped", reason: 42, is: ErrPanic, msg: "supervision: panic: 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReasonError(tt.reason)
			if tt.is == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.is)
			assert.EqualError(t, err, tt.msg)
		})
	}
}

func TestConfigError(t *testing.T) {
	err := error(&ConfigError{Field: "Backoff.Multiplier", Value: 0.5, Allowed: ">= 1"})
	assert.EqualError(t, err, "supervision: Backoff.Multiplier is 0.5; allowed: >= 1")
	assert.ErrorIs(t, err, ErrInvalidConfig)
	var ce *ConfigError
	assert.True(t, errors.As(err, &ce))
	assert.Equal(t, "Backoff.Multiplier", ce.Field)
}
