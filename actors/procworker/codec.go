package procworker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/drover-go/drover/protos"
)

// ProtocolVersion is the version of the wire protocol this package speaks,
// sent in Hello and Ready. PROTOCOL.md describes version 1.
const ProtocolVersion = 1

// MaxFrameSize is the default and largest frame size, in bytes, that a
// FrameReader accepts and a FrameWriter writes (the length prefix does not
// count): 64 MiB.
const MaxFrameSize = 64 << 20

// Sentinel errors. Compare with errors.Is.
var (
	// ErrFrameTooLarge is returned for a frame whose length is beyond the
	// limit: by FrameReader before it reads (or allocates) the body, by
	// FrameWriter before it writes anything.
	ErrFrameTooLarge = errors.New("procworker: frame too large")
	// ErrCorruptFrame is returned by FrameReader for a stream that is not a
	// sequence of frames: a bad length prefix, a body that is not a Frame, or
	// a stream that ends inside a frame.
	ErrCorruptFrame = errors.New("procworker: corrupt frame")
	// ErrProtocol is returned for well-formed frames that break the protocol:
	// a frame the receiver may not receive, a handshake out of order, a
	// version this package does not speak, a task id used twice.
	ErrProtocol = errors.New("procworker: protocol error")
	// ErrStart is wrapped by the *StartError of a child that could not be
	// started or did not complete its handshake.
	ErrStart = errors.New("procworker: worker process did not start")
	// ErrCrashed is wrapped by the *CrashError of a call whose child died,
	// was killed, or broke the protocol.
	ErrCrashed = errors.New("procworker: worker process crashed")
	// ErrNotSent is returned by Client.Call for a task that was never sent to
	// a child: the client is closing, or an earlier crash broke it. The task
	// did not run and may be run elsewhere.
	ErrNotSent = errors.New("procworker: task not sent")
)

// Buffers above this size are dropped after use rather than kept for the
// next frame, so that one large frame does not pin its memory.
const keepBuffer = 1 << 20

// readChunk is the first allocation for a frame body that does not fit the
// reader's buffer; it doubles as bytes arrive.
const readChunk = 4 << 10

// FrameReader reads length-delimited frames: an unsigned varint length
// followed by that many bytes of a serialized protos.Frame. It is not safe
// for concurrent use.
type FrameReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

// NewFrameReader returns a reader of frames from r, which it buffers. It
// refuses frames longer than maxSize bytes; zero (or a value beyond
// MaxFrameSize) means MaxFrameSize.
func NewFrameReader(r io.Reader, maxSize int) *FrameReader {
	if maxSize <= 0 || maxSize > MaxFrameSize {
		maxSize = MaxFrameSize
	}
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10), max: maxSize}
}

// ReadFrame reads the next frame into f, which it resets first. It returns
// io.EOF when the stream ends cleanly between frames, an error wrapping
// ErrFrameTooLarge or ErrCorruptFrame for a bad stream, and the underlying
// reader's error otherwise. A length prefix never causes an allocation
// larger than twice the bytes actually received. After an error other than
// a read error the stream is out of step and must be abandoned.
func (d *FrameReader) ReadFrame(f *protos.Frame) error {
	n, err := d.readLength()
	if err != nil {
		return err
	}
	if n > uint64(d.max) {
		return fmt.Errorf("%w: length prefix says %d bytes; allowed: at most %d", ErrFrameTooLarge, n, d.max)
	}
	body, err := d.readBody(int(n))
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(body, f); err != nil {
		return fmt.Errorf("%w: %d-byte body: %v", ErrCorruptFrame, n, err)
	}
	return nil
}

// readLength reads a frame's length prefix: an unsigned varint of at most
// ten bytes, as encoding/binary writes it.
func (d *FrameReader) readLength() (uint64, error) {
	var x uint64
	var s uint
	for i := range binary.MaxVarintLen64 {
		c, err := d.r.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				return 0, fmt.Errorf("%w: stream ends inside a length prefix", ErrCorruptFrame)
			}
			return 0, err // io.EOF between frames, or the reader's own error
		}
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<s, nil
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, fmt.Errorf("%w: length prefix overflows 64 bits", ErrCorruptFrame)
}

// readBody reads exactly size bytes. Unmarshal copies what it keeps, so the
// buffer is reused for the next frame.
func (d *FrameReader) readBody(size int) ([]byte, error) {
	if size <= cap(d.buf) {
		b := d.buf[:size]
		if _, err := io.ReadFull(d.r, b); err != nil {
			return nil, bodyError(err, size)
		}
		return b, nil
	}
	// Grow as the bytes arrive, so that a length prefix that lies costs no
	// more memory than the bytes that were really sent.
	b := make([]byte, 0, min(size, max(readChunk, cap(d.buf))))
	for len(b) < size {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(size, 2*cap(b)))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(d.r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, bodyError(err, size)
		}
	}
	if cap(b) <= keepBuffer {
		d.buf = b
	} else {
		d.buf = nil
	}
	return b, nil
}

func bodyError(err error, size int) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ends inside a %d-byte frame", ErrCorruptFrame, size)
	}
	return err
}

// FrameWriter writes length-delimited frames through a buffer: WriteFrame
// buffers, Flush sends. It is not safe for concurrent use.
type FrameWriter struct {
	w       *bufio.Writer
	scratch []byte
	max     int
}

// NewFrameWriter returns a writer of frames to w. It refuses frames longer
// than maxSize bytes; zero (or a value beyond MaxFrameSize) means MaxFrameSize.
func NewFrameWriter(w io.Writer, maxSize int) *FrameWriter {
	if maxSize <= 0 || maxSize > MaxFrameSize {
		maxSize = MaxFrameSize
	}
	return &FrameWriter{w: bufio.NewWriterSize(w, 64<<10), max: maxSize}
}

// WriteFrame buffers f, length prefix first. A frame beyond the size limit
// returns an error wrapping ErrFrameTooLarge and writes nothing; the writer
// stays usable. Any other error is the underlying writer's, after which
// the stream must be abandoned.
func (e *FrameWriter) WriteFrame(f *protos.Frame) error {
	b, err := proto.MarshalOptions{}.MarshalAppend(e.scratch[:0], f)
	if err != nil {
		return fmt.Errorf("procworker: marshal frame: %w", err)
	}
	if cap(b) <= keepBuffer {
		e.scratch = b
	}
	if len(b) > e.max {
		return fmt.Errorf("%w: %d bytes; allowed: at most %d", ErrFrameTooLarge, len(b), e.max)
	}
	var hdr [binary.MaxVarintLen64]byte
	if _, err := e.w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(b)))]); err != nil {
		return err
	}
	_, err = e.w.Write(b)
	return err
}

// Flush sends the buffered frames.
func (e *FrameWriter) Flush() error { return e.w.Flush() }

// Buffered returns the number of bytes buffered and not yet sent.
func (e *FrameWriter) Buffered() int { return e.w.Buffered() }
