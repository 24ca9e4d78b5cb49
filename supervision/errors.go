package supervision

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by this package. Compare with errors.Is.
var (
	// ErrCircuitOpen is wrapped by the error Breaker.Allow returns while the
	// breaker refuses calls (open, or half-open with every trial slot taken).
	ErrCircuitOpen = errors.New("supervision: circuit open")
	// ErrInvalidConfig is matched by every configuration error (see
	// ConfigError): a field outside its allowed range, or an unknown name.
	ErrInvalidConfig = errors.New("supervision: invalid config")
	// ErrPanic wraps a failure reason that is not an error, typically the
	// value recovered from a panic (see ReasonError).
	ErrPanic = errors.New("supervision: panic")
)

// ConfigError reports one configuration field outside its allowed range.
// errors.Is(err, ErrInvalidConfig) is true for every ConfigError.
//
// A ConfigError is an immutable value, safe to share between goroutines.
type ConfigError struct {
	// Field names the field, qualified by its type ("Backoff.Multiplier").
	Field string
	// Value is the offending value as given.
	Value any
	// Allowed describes the allowed range (">= 1", "0..1").
	Allowed string
}

// Error returns "supervision: <Field> is <Value>; allowed: <Allowed>".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("supervision: %s is %v; allowed: %s", e.Field, e.Value, e.Allowed)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

func configError(field string, value any, allowed string) error {
	return &ConfigError{Field: field, Value: value, Allowed: allowed}
}

// checkNonNegative returns a ConfigError when d < 0.
func checkNonNegative(field string, d time.Duration) error {
	if d < 0 {
		return configError(field, d, ">= 0 (0 means the default)")
	}
	return nil
}

// checkNonNegativeInt returns a ConfigError when n < 0.
func checkNonNegativeInt(field string, n int) error {
	if n < 0 {
		return configError(field, n, ">= 0 (0 means the default)")
	}
	return nil
}

// ReasonError turns a failure reason, as protoactor hands it to a supervisor
// strategy, into an error: nil stays nil, an error is returned unchanged (a
// panic with an error value keeps its identity for errors.Is), and any other
// value (a panic with a string, say) is wrapped with ErrPanic.
//
// ReasonError is safe for concurrent use.
func ReasonError(reason any) error {
	switch r := reason.(type) {
	case nil:
		return nil
	case error:
		return r
	default:
		return fmt.Errorf("%w: %v", ErrPanic, r)
	}
}
