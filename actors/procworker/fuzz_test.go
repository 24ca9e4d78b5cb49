package procworker_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

// FuzzReadFrame feeds arbitrary streams to a FrameReader: it must return
// frames, io.EOF, or an error wrapping ErrCorruptFrame or ErrFrameTooLarge,
// never panic, and never allocate past what a 1 MiB limit allows. A frame it
// returns must survive a round trip through FrameWriter. The seed corpus is
// in testdata/fuzz/FuzzReadFrame.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x0f, 0x1a, 0x0d, 0x0a, 0x01, 0x31, 0x12, 0x04, 'e', 'c', 'h', 'o', 0x42, 0x02, 'h', 'i'})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		r := procworker.NewFrameReader(bytes.NewReader(data), limit)
		for range 64 {
			var fr protos.Frame
			err := r.ReadFrame(&fr)
			switch {
			case err == io.EOF:
				return
			case errors.Is(err, procworker.ErrCorruptFrame), errors.Is(err, procworker.ErrFrameTooLarge):
				return
			case err != nil:
				t.Fatalf("ReadFrame: unexpected error %v", err)
			}
			var buf bytes.Buffer
			w := procworker.NewFrameWriter(&buf, limit)
			if err := w.WriteFrame(&fr); err != nil {
				t.Fatalf("WriteFrame of a frame just read: %v", err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			var back protos.Frame
			if err := procworker.NewFrameReader(&buf, limit).ReadFrame(&back); err != nil {
				t.Fatalf("ReadFrame of a frame just written: %v", err)
			}
			if !proto.Equal(&fr, &back) {
				t.Fatalf("round trip changed the frame: %v became %v", &fr, &back)
			}
		}
	})
}
