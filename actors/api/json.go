package api

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/protos"
)

// The HTTP answers are written by hand, in the form protojson gives them
// (proto field names, bytes in base64, durations as "1.5s", enums by
// name, zero fields left out): protojson's reflection costs more than the
// rest of a request. TestJSONMatchesProtojson holds the two together.

// appendSubmitResponse appends m as protojson would.
func appendSubmitResponse(b []byte, m *protos.SubmitResponse) []byte {
	return appendTaskObject(b, m.GetId(), "duplicate", m.GetDuplicate(), m.GetResult(), m.GetNode())
}

// appendTaskStatus appends m as protojson would.
func appendTaskStatus(b []byte, m *protos.TaskStatus) []byte {
	return appendTaskObject(b, m.GetId(), "done", m.GetDone(), m.GetResult(), m.GetNode())
}

// appendTaskObject appends the shape SubmitResponse and TaskStatus share:
// id, a flag (left out when false), the result and the node.
func appendTaskObject(b []byte, id, flag string, set bool, r *protos.TaskResult, node string) []byte {
	o := object{b: append(b, '{')}
	o.str("id", id)
	if set {
		o.key(flag)
		o.b = append(o.b, "true"...)
	}
	if r != nil {
		o.key("result")
		o.b = appendResult(o.b, r)
	}
	o.str("node", node)
	return append(o.b, '}')
}

func appendResult(b []byte, r *protos.TaskResult) []byte {
	o := object{b: append(b, '{')}
	o.str("task_id", r.GetTaskId())
	if out := r.GetOutput(); len(out) > 0 {
		o.key("output")
		o.b = append(o.b, '"')
		o.b = base64.StdEncoding.AppendEncode(o.b, out)
		o.b = append(o.b, '"')
	}
	if e := r.GetError(); e != nil {
		o.key("error")
		eo := object{b: append(o.b, '{')}
		if e.GetCode() != 0 {
			eo.key("code")
			eo.b = appendString(eo.b, e.GetCode().String())
		}
		eo.str("message", e.GetMessage())
		eo.str("stack", e.GetStack())
		o.b = append(eo.b, '}')
	}
	o.str("worker", r.GetWorker())
	o.dur("queued", r.GetQueued())
	o.dur("run", r.GetRun())
	return append(o.b, '}')
}

// object appends the members of a JSON object, commas between them.
type object struct {
	b    []byte
	more bool
}

func (o *object) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

// str appends a string member unless it is empty.
func (o *object) str(k, v string) {
	if v == "" {
		return
	}
	o.key(k)
	o.b = appendString(o.b, v)
}

// dur appends a duration member unless it is absent, as protojson does:
// seconds with 0, 3, 6 or 9 decimals.
func (o *object) dur(k string, d *durationpb.Duration) {
	if d == nil {
		return
	}
	o.key(k)
	v := d.AsDuration()
	o.b = append(o.b, '"')
	if v < 0 {
		o.b = append(o.b, '-')
		v = -v
	}
	o.b = strconv.AppendInt(o.b, int64(v/time.Second), 10)
	if ns := int64(v % time.Second); ns != 0 {
		frac := strconv.AppendInt(nil, 1e9+ns, 10)[1:] // 9 digits
		switch {
		case ns%1e6 == 0:
			frac = frac[:3]
		case ns%1e3 == 0:
			frac = frac[:6]
		}
		o.b = append(o.b, '.')
		o.b = append(o.b, frac...)
	}
	o.b = append(o.b, 's', '"')
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
