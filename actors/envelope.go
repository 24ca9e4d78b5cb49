package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/protos"
)

// receiveEnvelope runs a *protos.TaskEnvelope sent to a pool's PID and
// answers the sender with exactly one *protos.TaskResult: at once if the
// task is refused (queue full, no handler, ...), else when it ends. The
// pool actor never blocks: a full queue is refused, not waited for.
func (a *poolActor) receiveEnvelope(c actor.Context, m any) {
	env, ok := m.(*protos.TaskEnvelope)
	if !ok {
		return
	}
	sender := c.Sender()
	sys := c.ActorSystem()
	reply := func(res *protos.TaskResult) {
		if sender != nil {
			sys.Root.Send(sender, res)
		}
	}
	t, err := taskFromEnvelope(env)
	if err == nil {
		if t.Pool == "" {
			t.Pool = a.p.cfg.Name
		}
		// No per-task context: the pool's own stop path fails what is left.
		_, err = a.p.node.accept(context.Background(), &t, false, func(r Result) { reply(ResultProto(env.GetId(), r)) }, nil, 0)
	}
	if err != nil {
		reply(ResultProto(env.GetId(), Result{Err: err}))
	}
}

// TaskFromEnvelope converts a task envelope to a Task. A protobuf message
// payload (env.Message) reaches the handler as its serialized bytes. The
// Task is Timed: a result that goes back over the wire carries its timings.
func TaskFromEnvelope(env *protos.TaskEnvelope) (Task, error) { return taskFromEnvelope(env) }

func taskFromEnvelope(env *protos.TaskEnvelope) (Task, error) {
	t := Task{
		ID:         env.GetId(),
		Type:       env.GetType(),
		Pool:       env.GetPool(),
		Key:        env.GetKey(),
		Payload:    env.GetPayload(),
		Idempotent: env.GetIdempotent(),
		Timed:      true,
	}
	if msg := env.GetMessage(); msg != nil && len(t.Payload) == 0 {
		t.Payload = msg.GetValue()
	}
	switch env.GetKind() {
	case protos.WorkerKind_WORKER_KIND_UNSPECIFIED:
	case protos.WorkerKind_WORKER_KIND_CPU:
		t.Kind, t.HasKind = KindCPU, true
	case protos.WorkerKind_WORKER_KIND_IO:
		t.Kind, t.HasKind = KindIO, true
	case protos.WorkerKind_WORKER_KIND_MIXED:
		t.Kind, t.HasKind = KindMixed, true
	default:
		return Task{}, taskError("Kind", "is %s; allowed: cpu, io, mixed", env.GetKind())
	}
	switch p := env.GetPriority(); {
	case p >= protos.Priority_PRIORITY_UNSPECIFIED && p <= protos.Priority_PRIORITY_LOW:
		t.Priority = Priority(p)
	default:
		return Task{}, taskError("Priority", "is %d; allowed: critical, high, normal, low", p)
	}
	if d := env.GetTimeout(); d != nil {
		if err := d.CheckValid(); err != nil {
			return Task{}, taskError("Timeout", "is invalid: %v", err)
		}
		t.Timeout = d.AsDuration()
	}
	return t, nil
}

// ResultProto converts a Result to the wire form. A Func's Value does not
// cross the wire; Output does.
func ResultProto(taskID string, r Result) *protos.TaskResult {
	out := &protos.TaskResult{
		TaskId: taskID,
		Output: r.Output,
		Worker: r.Worker,
		Queued: durationpb.New(r.Queued),
		Run:    durationpb.New(r.Run),
	}
	if r.Err != nil {
		te := &protos.TaskError{Code: ErrorCode(r.Err), Message: r.Err.Error()}
		var pe *PanicError
		if errors.As(r.Err, &pe) {
			te.Stack = string(pe.Stack)
		}
		out.Error = te
	}
	return out
}

// ErrorCode returns the wire code for a task error: the code of the
// sentinel it wraps, or ERROR_CODE_HANDLER for a handler's own error.
func ErrorCode(err error) protos.ErrorCode {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	if err == nil {
		return protos.ErrorCode_ERROR_CODE_UNSPECIFIED
	}
	return protos.ErrorCode_ERROR_CODE_HANDLER
}

// ResultError turns a wire error back into an error that wraps the matching
// sentinel, so that errors.Is works on both sides of a boundary.
func ResultError(te *protos.TaskError) error {
	if te == nil {
		return nil
	}
	for _, c := range errorCodes {
		if c.code == te.GetCode() {
			return fmt.Errorf("%w: %s", c.err, te.GetMessage())
		}
	}
	return errors.New(te.GetMessage())
}

var errorCodes = []struct {
	err  error
	code protos.ErrorCode
}{
	{ErrQueueFull, protos.ErrorCode_ERROR_CODE_QUEUE_FULL},
	{ErrTimeout, protos.ErrorCode_ERROR_CODE_TIMEOUT},
	{ErrCanceled, protos.ErrorCode_ERROR_CODE_CANCELED},
	{ErrPanic, protos.ErrorCode_ERROR_CODE_PANIC},
	{ErrWorkerCrashed, protos.ErrorCode_ERROR_CODE_WORKER_CRASHED},
	{ErrCircuitOpen, protos.ErrorCode_ERROR_CODE_CIRCUIT_OPEN},
	{ErrShuttingDown, protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN},
	{ErrNoHandler, protos.ErrorCode_ERROR_CODE_NO_HANDLER},
	{ErrNoPool, protos.ErrorCode_ERROR_CODE_NO_POOL},
	{ErrInvalidTask, protos.ErrorCode_ERROR_CODE_INVALID_TASK},
	{ErrShed, protos.ErrorCode_ERROR_CODE_SHED},
	{ErrQuarantined, protos.ErrorCode_ERROR_CODE_QUARANTINED},
	{ErrResource, protos.ErrorCode_ERROR_CODE_RESOURCE},
}
