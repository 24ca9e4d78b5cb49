package actors

import (
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// SlogOption configures NewSlogHandler.
type SlogOption func(*slogHandler)

// WithDemoteInfo makes the handler write slog's Info records at hclog's
// Debug level. Drover uses it for protoactor, which logs routine events at Info.
func WithDemoteInfo() SlogOption { return func(h *slogHandler) { h.demote = true } }

// WithDemoteMessages makes the handler write records with one of these
// exact messages at Debug, whatever their level: for a library's routine
// events that it logs as errors (protoactor's automanaged provider logs its
// own clean stop at Error).
func WithDemoteMessages(msgs ...string) SlogOption {
	return func(h *slogHandler) {
		if h.quiet == nil {
			h.quiet = map[string]bool{}
		}
		for _, m := range msgs {
			h.quiet[m] = true
		}
	}
}

// NewSlogHandler returns a slog.Handler that writes to an hclog logger, so
// that libraries speaking slog (protoactor among them) log to the same
// place as the rest of a service. Attributes and groups become hclog
// key/value pairs, group names joined with dots. It is safe for concurrent use.
func NewSlogHandler(l hclog.Logger, opts ...SlogOption) slog.Handler {
	h := &slogHandler{l: l}
	for _, o := range opts {
		o(h)
	}
	return h
}

type slogHandler struct {
	l      hclog.Logger
	demote bool
	quiet  map[string]bool // messages written at Debug
	group  string
	attrs  []any
}

func (h *slogHandler) level(l slog.Level) hclog.Level {
	switch {
	case l >= slog.LevelError:
		return hclog.Error
	case l >= slog.LevelWarn:
		return hclog.Warn
	case l >= slog.LevelInfo:
		if h.demote {
			return hclog.Debug
		}
		return hclog.Info
	case l >= slog.LevelDebug:
		return hclog.Debug
	}
	return hclog.Trace
}

// Enabled implements slog.Handler.
func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	switch h.level(l) {
	case hclog.Error:
		return h.l.IsError()
	case hclog.Warn:
		return h.l.IsWarn()
	case hclog.Info:
		return h.l.IsInfo()
	case hclog.Debug:
		return h.l.IsDebug()
	}
	return h.l.IsTrace()
}

// Handle implements slog.Handler.
func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	args := make([]any, 0, len(h.attrs)+2*r.NumAttrs())
	args = append(args, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = appendAttr(args, h.group, a)
		return true
	})
	level := h.level(r.Level)
	if h.quiet[r.Message] {
		if !h.l.IsDebug() {
			return nil
		}
		level = hclog.Debug
	}
	h.l.Log(level, r.Message, args...)
	return nil
}

// WithAttrs implements slog.Handler.
func (h *slogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]any(nil), h.attrs...)
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.group, a)
	}
	return &n
}

// WithGroup implements slog.Handler.
func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.group = joinKey(h.group, name)
	return &n
}

func joinKey(group, key string) string {
	if group == "" {
		return key
	}
	return group + "." + key
}

func appendAttr(args []any, group string, a slog.Attr) []any {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		g := joinKey(group, a.Key)
		if a.Key == "" {
			g = group
		}
		for _, ga := range v.Group() {
			args = appendAttr(args, g, ga)
		}
		return args
	}
	if a.Key == "" {
		return args
	}
	return append(args, joinKey(group, a.Key), v.Any())
}
