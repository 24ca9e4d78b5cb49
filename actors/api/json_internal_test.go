package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/protos"
)

// sameJSON fails unless a and b decode to the same value.
func sameJSON(t *testing.T, a, b []byte) {
	t.Helper()
	var va, vb any
	require.NoError(t, json.Unmarshal(a, &va), "%s", a)
	require.NoError(t, json.Unmarshal(b, &vb), "%s", b)
	assert.Equal(t, vb, va, "hand-written %s\nprotojson    %s", a, b)
}

func TestJSONMatchesProtojson(t *testing.T) {
	results := []*protos.TaskResult{
		nil,
		{},
		{TaskId: "t1", Output: []byte("hello"), Worker: "cpu/w0", Queued: durationpb.New(28343 * time.Nanosecond), Run: durationpb.New(0)},
		{TaskId: "q\"\\\n\t\x01\x7f<>&é\u2028", Output: []byte{0, 255, 1}, Queued: durationpb.New(1500 * time.Millisecond), Run: durationpb.New(2 * time.Second)},
		{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_TIMEOUT, Message: "drover: task timed out", Stack: "goroutine 1\n"}, Run: durationpb.New(-250 * time.Microsecond)},
		{Error: &protos.TaskError{Message: "bad \xff utf8"}, Queued: durationpb.New(3*time.Second + 7)},
	}
	for _, r := range results {
		for _, dup := range []bool{false, true} {
			sr := &protos.SubmitResponse{Id: "id-1", Duplicate: dup, Result: r, Node: "n"}
			want, err := jsonOut.Marshal(sr)
			if err != nil { // invalid UTF-8: protojson refuses, the server replaces it
				assert.True(t, json.Valid(appendSubmitResponse(nil, sr)))
				continue
			}
			sameJSON(t, appendSubmitResponse(nil, sr), want)

			ts := &protos.TaskStatus{Id: "id-1", Done: dup, Result: r, Node: "n"}
			want, err = jsonOut.Marshal(ts)
			require.NoError(t, err)
			sameJSON(t, appendTaskStatus(nil, ts), want)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"\\", "\x00\x1f\x7f", "é\u2028\U0001F600", "\xff\xfe", "a\xc3"} {
		f.Add(s, []byte(s))
	}
	f.Fuzz(func(t *testing.T, s string, out []byte) {
		r := &protos.TaskResult{TaskId: s, Output: out, Worker: s, Error: &protos.TaskError{Message: s}}
		want, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(r)
		if err != nil {
			t.Skip("protojson refuses it") // invalid UTF-8 in a string field
		}
		sameJSON(t, appendResult(nil, r), want)
	})
}
