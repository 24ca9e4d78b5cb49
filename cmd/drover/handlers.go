package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/drover-go/drover/actors"
)

// Task types that `drover run` registers on its node, so that a node run
// from a configuration file serves tasks without code.
const (
	taskEcho  = "echo"  // the result is the payload
	taskSleep = "sleep" // the payload is a duration; waits that long
	// The "hash" task type is taskHash, shared with the demo's name.
)

// maxSleep bounds the duration of a "sleep" task (the message of
// errBadSleep says "24h").
const maxSleep = 24 * time.Hour

// errBadSleep is the result of a "sleep" task whose payload is not a
// duration in range.
var errBadSleep = errors.New("drover run: sleep payload is not a duration")

// builtinHandlers returns the handlers `drover run` registers, by task type.
// Each is safe for concurrent use.
func builtinHandlers() map[string]actors.Handler {
	return map[string]actors.Handler{
		taskEcho:  echoTask,
		taskSleep: sleepTask,
		taskHash:  sha256Task,
	}
}

// builtinTaskTypes is the help's list of the built-in task types.
const builtinTaskTypes = `  echo   the result is the payload
  sleep  the payload is a duration ("250ms", "2s"); waits that long, or until
         the task's context ends (timeout, cancel, drain deadline); the
         result is empty
  hash   the result is the SHA-256 of the payload, in lower-case hex`

// echoTask returns its payload.
func echoTask(_ context.Context, payload []byte) ([]byte, error) {
	return payload, nil
}

// sleepTask waits for the duration its payload names, or until ctx ends.
func sleepTask(ctx context.Context, payload []byte) ([]byte, error) {
	d, err := time.ParseDuration(string(payload))
	if err != nil || d < 0 || d > maxSleep {
		return nil, fmt.Errorf("%w: payload is %s; allowed: a duration from 0s to 24h, such as \"250ms\"",
			errBadSleep, strconv.Quote(string(payload)))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sha256Task returns the SHA-256 of its payload in lower-case hex.
func sha256Task(_ context.Context, payload []byte) ([]byte, error) {
	sum := sha256.Sum256(payload)
	return []byte(hex.EncodeToString(sum[:])), nil
}
