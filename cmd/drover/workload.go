package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/drover-go/drover/actors"
)

// The demo's pools and the task type each one runs.
const (
	poolCPU   = "cpu"
	poolIO    = "io"
	poolMixed = "mixed"
	poolBurst = "burst" // a dynamic pool: 1 to 8 io workers, scaled with its load
	poolProc  = "proc"  // process workers: children running `drover worker`

	taskHash   = "hash"   // CPU: iterated SHA-256 over the payload
	taskFetch  = "fetch"  // I/O: a wait standing for a network call
	taskResize = "resize" // mixed: some hashing, then a short wait
)

// fault is a failure the generator injects into a task, carried in its payload.
type fault uint8

const (
	faultNone  fault = iota
	faultPanic       // the handler panics
	faultHang        // the handler waits until its context ends (the task's timeout)
)

// Payload layout: fault (1 byte), work parameter (4 bytes, little endian),
// then the data the handler hashes.
const (
	payloadHeader = 5
	payloadData   = 32
)

// errBadPayload is the result of a task whose payload the demo's handlers
// cannot read; the generator never makes one.
var errBadPayload = errors.New("drover demo: payload shorter than its header")

// taskSpec is one generated task and the fault it carries.
type taskSpec struct {
	task  actors.Task
	fault fault
}

// workload generates the demo's tasks. The same seed and settings give the
// same sequence of tasks. It is not safe for concurrent use.
type workload struct {
	rng       *rand.Rand
	faultRate float64
	timeout   time.Duration
}

func newWorkload(seed uint64, faultRate float64, timeout time.Duration) *workload {
	return &workload{
		rng:       rand.New(rand.NewPCG(seed, 0x64726f766572)),
		faultRate: faultRate,
		timeout:   timeout,
	}
}

// next returns the next task: a pool chosen uniformly, a priority (5 %
// critical, 20 % high, 50 % normal, 25 % low), a fault (panic with
// probability faultRate, hang with probability faultRate/10), and a payload
// sized for a few tens of microseconds of work or a few milliseconds of wait.
func (w *workload) next() taskSpec {
	var s taskSpec
	r := w.rng
	var param uint32
	switch r.IntN(5) {
	case 0:
		s.task.Pool, s.task.Type = poolCPU, taskHash
		param = 50 + r.Uint32N(100) // SHA-256 rounds
	case 1:
		s.task.Pool, s.task.Type = poolIO, taskFetch
		param = 500 + r.Uint32N(4500) // wait, µs
	case 2:
		s.task.Pool, s.task.Type = poolBurst, taskFetch
		param = 500 + r.Uint32N(4500) // wait, µs
	case 3:
		s.task.Pool, s.task.Type = poolProc, taskHash
		param = 50 + r.Uint32N(100) // SHA-256 rounds, in a worker process
	default:
		s.task.Pool, s.task.Type = poolMixed, taskResize
		param = (20+r.Uint32N(60))<<16 | (200 + r.Uint32N(800)) // rounds << 16 | wait, µs
	}
	switch p := r.IntN(100); {
	case p < 5:
		s.task.Priority = actors.PriorityCritical
	case p < 25:
		s.task.Priority = actors.PriorityHigh
	case p < 75:
		s.task.Priority = actors.PriorityNormal
	default:
		s.task.Priority = actors.PriorityLow
	}
	switch u := r.Float64(); {
	case u < w.faultRate:
		s.fault = faultPanic
	case u < w.faultRate*1.1:
		s.fault = faultHang
	}
	s.task.Timeout = w.timeout
	p := make([]byte, payloadHeader+payloadData)
	p[0] = byte(s.fault)
	binary.LittleEndian.PutUint32(p[1:payloadHeader], param)
	for i := payloadHeader; i < len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], r.Uint64())
	}
	s.task.Payload = p
	return s
}

// demoHandlers returns the handlers of the demo's task types, by name: the
// in-process pools run them, and so do the process pool's children (`drover
// worker`, see workerHandlers).
func demoHandlers() map[string]actors.Handler {
	return map[string]actors.Handler{
		taskHash:   hashTask,
		taskFetch:  fetchTask,
		taskResize: resizeTask,
	}
}

// readPayload splits a payload and acts on its fault: it panics for
// faultPanic and, for faultHang, waits for ctx to end and returns its error.
func readPayload(ctx context.Context, payload []byte) (param uint32, data []byte, err error) {
	if len(payload) < payloadHeader {
		return 0, nil, errBadPayload
	}
	switch fault(payload[0]) {
	case faultPanic:
		panic("drover demo: injected fault")
	case faultHang:
		<-ctx.Done()
		return 0, nil, ctx.Err()
	}
	return binary.LittleEndian.Uint32(payload[1:payloadHeader]), payload[payloadHeader:], nil
}

// hashTask is the CPU task: param rounds of SHA-256 over the data.
func hashTask(ctx context.Context, payload []byte) ([]byte, error) {
	rounds, data, err := readPayload(ctx, payload)
	if err != nil {
		return nil, err
	}
	sum, err := hashRounds(ctx, data, rounds)
	if err != nil {
		return nil, err
	}
	return sum[:], nil
}

// fetchTask is the I/O task: it waits param microseconds, or until ctx ends.
func fetchTask(ctx context.Context, payload []byte) ([]byte, error) {
	wait, _, err := readPayload(ctx, payload)
	if err != nil {
		return nil, err
	}
	if err := sleep(ctx, time.Duration(wait)*time.Microsecond); err != nil {
		return nil, err
	}
	return []byte("ok"), nil
}

// resizeTask is the mixed task: param>>16 rounds of SHA-256, then a wait of
// param&0xffff microseconds.
func resizeTask(ctx context.Context, payload []byte) ([]byte, error) {
	param, data, err := readPayload(ctx, payload)
	if err != nil {
		return nil, err
	}
	sum, err := hashRounds(ctx, data, param>>16)
	if err != nil {
		return nil, err
	}
	if err := sleep(ctx, time.Duration(param&0xffff)*time.Microsecond); err != nil {
		return nil, err
	}
	return sum[:], nil
}

// hashRounds hashes data, then the digest, rounds times in all, checking ctx
// every 64 rounds.
func hashRounds(ctx context.Context, data []byte, rounds uint32) ([sha256.Size]byte, error) {
	sum := sha256.Sum256(data)
	for i := uint32(1); i < rounds; i++ {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
		}
		sum = sha256.Sum256(sum[:])
	}
	return sum, nil
}

// sleep waits d or until ctx ends, whichever comes first, and returns ctx's
// error in the second case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
