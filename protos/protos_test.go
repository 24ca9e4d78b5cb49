package protos_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/drover-go/drover/protos"
)

// roundTrip marshals m, unmarshals the bytes into a fresh message of the
// same type, and returns it.
func roundTrip[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	return out
}

func TestTaskEnvelopeRoundTrip(t *testing.T) {
	ping := &protos.HealthPing{Seq: 42, Sent: timestamppb.New(time.Unix(1700000000, 5).UTC())}
	anyPing, err := anypb.New(ping)
	if err != nil {
		t.Fatalf("anypb.New: %v", err)
	}

	tests := []struct {
		name string
		env  *protos.TaskEnvelope
	}{
		{name: "zero", env: &protos.TaskEnvelope{}},
		{
			name: "bytes payload",
			env: &protos.TaskEnvelope{
				Id:         "t-1",
				Type:       "resize",
				Kind:       protos.WorkerKind_WORKER_KIND_CPU,
				Priority:   protos.Priority_PRIORITY_LOW,
				Payload:    []byte{0, 1, 2, 0xff},
				Idempotent: true,
			},
		},
		{
			name: "any payload",
			env: &protos.TaskEnvelope{
				Id:       "t-2",
				Type:     "ping",
				Pool:     "io",
				Kind:     protos.WorkerKind_WORKER_KIND_IO,
				Priority: protos.Priority_PRIORITY_CRITICAL,
				Timeout:  durationpb.New(1500 * time.Millisecond),
				Key:      "user-7",
				Message:  anyPing,
				Metadata: map[string]string{"trace": "abc", "tenant": "t9"},
				Attempt:  2,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roundTrip(t, tt.env); !proto.Equal(tt.env, got) {
				t.Errorf("round trip = %v, want %v", got, tt.env)
			}
		})
	}

	t.Run("unpack any", func(t *testing.T) {
		got := roundTrip(t, tests[2].env)
		const wantURL = "type.googleapis.com/drover.v1.HealthPing"
		if url := got.GetMessage().GetTypeUrl(); url != wantURL {
			t.Fatalf("type URL = %q, want %q", url, wantURL)
		}
		if !got.GetMessage().MessageIs(&protos.HealthPing{}) {
			t.Fatalf("MessageIs(HealthPing) = false")
		}

		var into protos.HealthPing
		if err := got.GetMessage().UnmarshalTo(&into); err != nil {
			t.Fatalf("UnmarshalTo: %v", err)
		}
		if !proto.Equal(ping, &into) {
			t.Errorf("UnmarshalTo = %v, want %v", &into, ping)
		}

		// UnmarshalNew resolves the type through the global registry, as a
		// receiver that knows only the type URL would.
		m, err := got.GetMessage().UnmarshalNew()
		if err != nil {
			t.Fatalf("UnmarshalNew: %v", err)
		}
		if !proto.Equal(ping, m) {
			t.Errorf("UnmarshalNew = %v, want %v", m, ping)
		}

		if d := got.GetTimeout().AsDuration(); d != 1500*time.Millisecond {
			t.Errorf("timeout = %v, want 1.5s", d)
		}
	})
}

func TestTaskResultRoundTrip(t *testing.T) {
	out, err := anypb.New(&protos.WorkerStatus{Id: "w-1", State: protos.WorkerState_WORKER_STATE_IDLE})
	if err != nil {
		t.Fatalf("anypb.New: %v", err)
	}

	tests := []struct {
		name    string
		res     *protos.TaskResult
		wantErr protos.ErrorCode
	}{
		{name: "zero", res: &protos.TaskResult{}},
		{
			name: "success",
			res: &protos.TaskResult{
				TaskId:  "t-1",
				Output:  []byte("done"),
				Message: out,
				Worker:  "w-1",
				Queued:  durationpb.New(3 * time.Microsecond),
				Run:     durationpb.New(2 * time.Second),
			},
		},
		{
			name: "panic",
			res: &protos.TaskResult{
				TaskId: "t-2",
				Error: &protos.TaskError{
					Code:    protos.ErrorCode_ERROR_CODE_PANIC,
					Message: "actors: handler panicked: boom",
					Stack:   "goroutine 7 [running]:\n...",
				},
				Worker: "w-3",
				Run:    durationpb.New(time.Millisecond),
			},
			wantErr: protos.ErrorCode_ERROR_CODE_PANIC,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, tt.res)
			if !proto.Equal(tt.res, got) {
				t.Errorf("round trip = %v, want %v", got, tt.res)
			}
			// An absent error means success; the getters are nil-safe.
			if code := got.GetError().GetCode(); code != tt.wantErr {
				t.Errorf("error code = %v, want %v", code, tt.wantErr)
			}
			if (got.GetError() == nil) != (tt.res.GetError() == nil) {
				t.Errorf("error present = %v, want %v", got.GetError() != nil, tt.res.GetError() != nil)
			}
		})
	}
}

func TestZeroValuesAreDefaults(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"priority", protos.Priority(0).String(), "PRIORITY_UNSPECIFIED"},
		{"worker kind", protos.WorkerKind(0).String(), "WORKER_KIND_UNSPECIFIED"},
		{"worker state", protos.WorkerState(0).String(), "WORKER_STATE_UNSPECIFIED"},
		{"error code", protos.ErrorCode(0).String(), "ERROR_CODE_UNSPECIFIED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("zero value = %s, want %s", tt.got, tt.want)
			}
		})
	}
	t.Run("empty envelope encodes to nothing", func(t *testing.T) {
		b, err := proto.Marshal(&protos.TaskEnvelope{})
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if len(b) != 0 {
			t.Errorf("Marshal(empty) = %x, want no bytes", b)
		}
	})
}
