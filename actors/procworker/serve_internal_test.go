package procworker

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/protos"
)

// TestReplyOutputTooLarge: an output that does not fit a frame becomes an
// error result.
func TestReplyOutputTooLarge(t *testing.T) {
	var buf bytes.Buffer
	s := &server{out: newOutbox(NewFrameWriter(&buf, 256))}
	go s.out.loop()
	s.reply("7", make([]byte, 1024), nil, 0, false)
	require.NoError(t, s.out.close())
	var f protos.Frame
	require.NoError(t, NewFrameReader(&buf, 0).ReadFrame(&f))
	r := f.GetResult()
	assert.Equal(t, "7", r.GetTaskId())
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_HANDLER, r.GetError().GetCode())
	assert.Contains(t, r.GetError().GetMessage(), "output of 1024 bytes does not fit a frame")
}

// TestOutboxSendsEverything: frames sent concurrently all reach the stream.
func TestOutboxSendsEverything(t *testing.T) {
	pr, pw := io.Pipe()
	o := newOutbox(NewFrameWriter(pw, 0))
	go o.loop()
	const n = 200
	for i := range n {
		go o.send(&protos.Frame{Body: &protos.Frame_Cancel{Cancel: &protos.Cancel{TaskId: string(rune('a' + i%26))}}})
	}
	r := NewFrameReader(pr, 0)
	for range n {
		var f protos.Frame
		require.NoError(t, r.ReadFrame(&f))
		require.NotNil(t, f.GetCancel())
	}
	require.NoError(t, o.close())
	o.send(&protos.Frame{}) // dropped, does not block
	_ = pw.Close()
}
