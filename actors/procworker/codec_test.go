package procworker_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

func taskFrame(id, typ string, payload []byte) *protos.Frame {
	return &protos.Frame{Body: &protos.Frame_Task{Task: &protos.TaskEnvelope{Id: id, Type: typ, Payload: payload}}}
}

func TestFrameRoundTrip(t *testing.T) {
	frames := []*protos.Frame{
		{Body: &protos.Frame_Hello{Hello: &protos.Hello{Version: 1, Worker: "p/w0", Concurrency: 4, MaxFrameBytes: procworker.MaxFrameSize, KillGrace: durationpb.New(2e9)}}},
		{Body: &protos.Frame_Ready{Ready: &protos.Ready{Version: 1, Types: []string{"a", "b"}}}},
		taskFrame("1", "echo", []byte("hi")),
		taskFrame("2", "big", bytes.Repeat([]byte{7}, 200<<10)), // beyond the read buffer
		{Body: &protos.Frame_Result{Result: &protos.TaskResult{TaskId: "1", Output: []byte("hi")}}, Cpu: durationpb.New(1500)},
		{Body: &protos.Frame_Cancel{Cancel: &protos.Cancel{TaskId: "2"}}},
		{Body: &protos.Frame_Ping{Ping: &protos.HealthPing{Seq: 9}}},
		{Body: &protos.Frame_Pong{Pong: &protos.HealthPong{Seq: 9}}},
		{Body: &protos.Frame_Shutdown{Shutdown: &protos.Shutdown{}}},
	}
	var buf bytes.Buffer
	w := procworker.NewFrameWriter(&buf, 0)
	for _, f := range frames {
		require.NoError(t, w.WriteFrame(f))
	}
	assert.Positive(t, w.Buffered(), "frames wait for Flush")
	require.NoError(t, w.Flush())
	assert.Zero(t, w.Buffered())

	r := procworker.NewFrameReader(&buf, 0)
	for _, want := range frames {
		var got protos.Frame
		require.NoError(t, r.ReadFrame(&got))
		assert.True(t, proto.Equal(want, &got), "%s: got %v", procworker.FrameKind(want), &got)
	}
	var f protos.Frame
	assert.Equal(t, io.EOF, r.ReadFrame(&f), "a clean end between frames is io.EOF")
}

// TestProtocolExampleBytes keeps the byte-level example in PROTOCOL.md true.
func TestProtocolExampleBytes(t *testing.T) {
	var buf bytes.Buffer
	w := procworker.NewFrameWriter(&buf, 0)
	require.NoError(t, w.WriteFrame(taskFrame("1", "echo", []byte("hi"))))
	require.NoError(t, w.Flush())
	assert.Equal(t, "0f1a0d0a013112046563686f42026869", hex.EncodeToString(buf.Bytes()))
}

func TestReadFrameErrors(t *testing.T) {
	valid := func() []byte {
		var buf bytes.Buffer
		w := procworker.NewFrameWriter(&buf, 0)
		require.NoError(t, w.WriteFrame(taskFrame("1", "echo", []byte("payload"))))
		require.NoError(t, w.Flush())
		return buf.Bytes()
	}()
	prefix := func(n uint64) []byte { return binary.AppendUvarint(nil, n) }
	cases := []struct {
		name string
		in   []byte
		max  int
		want error
		msg  string
	}{
		{"empty stream", nil, 0, io.EOF, ""},
		{"truncated prefix", []byte{0x80}, 0, procworker.ErrCorruptFrame, "inside a length prefix"},
		{"overflowing prefix", bytes.Repeat([]byte{0xff}, 11), 0, procworker.ErrCorruptFrame, "overflows 64 bits"},
		{"prefix past the limit", prefix(procworker.MaxFrameSize + 1), 0, procworker.ErrFrameTooLarge, "says 67108865 bytes; allowed: at most 67108864"},
		{"prefix past a smaller limit", prefix(1025), 1024, procworker.ErrFrameTooLarge, "allowed: at most 1024"},
		{"huge prefix, few bytes", append(prefix(60<<20), 1, 2, 3), 0, procworker.ErrCorruptFrame, "stream ends inside a 62914560-byte frame"},
		{"truncated body", valid[:len(valid)-2], 0, procworker.ErrCorruptFrame, "stream ends inside"},
		{"garbage body", append(prefix(5), 0xff, 0xff, 0xff, 0xff, 0xff), 0, procworker.ErrCorruptFrame, "5-byte body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f protos.Frame
			err := procworker.NewFrameReader(bytes.NewReader(c.in), c.max).ReadFrame(&f)
			require.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

// TestReadFrameLyingPrefixAllocatesLittle: a prefix that announces 60 MiB
// followed by 64 KiB costs about what was received, not 60 MiB.
func TestReadFrameLyingPrefixAllocatesLittle(t *testing.T) {
	in := append(binary.AppendUvarint(nil, 60<<20), make([]byte, 64<<10)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var f protos.Frame
	err := procworker.NewFrameReader(bytes.NewReader(in), 0).ReadFrame(&f)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, procworker.ErrCorruptFrame)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

func TestWriteFrameTooLarge(t *testing.T) {
	var buf bytes.Buffer
	w := procworker.NewFrameWriter(&buf, 64)
	err := w.WriteFrame(taskFrame("1", "echo", make([]byte, 100)))
	require.ErrorIs(t, err, procworker.ErrFrameTooLarge)
	assert.Zero(t, w.Buffered(), "nothing written")
	require.NoError(t, w.WriteFrame(taskFrame("2", "echo", []byte("ok"))), "the writer stays usable")
	require.NoError(t, w.Flush())
	var f protos.Frame
	require.NoError(t, procworker.NewFrameReader(&buf, 0).ReadFrame(&f))
	assert.Equal(t, "2", f.GetTask().GetId())
}

func TestReadFramePassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	var f protos.Frame
	err := procworker.NewFrameReader(io.MultiReader(strings.NewReader(""), errReader{boom}), 0).ReadFrame(&f)
	assert.Equal(t, boom, err)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
