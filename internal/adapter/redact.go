package adapter

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/s2segment/s2segment/dataapi"
)

// RedactingHandler is a slog.Handler that takes every configured secret
// (passwords, write keys, shared secrets, tokens, of any length) and any
// Authorization value out of each record before passing it on: from the
// message and from every string, error and Stringer attribute, in groups
// too (dataapi.Redactor says how). The secrets can be set after the
// handler is made, once the configuration that holds them has been read.
type RedactingHandler struct {
	next slog.Handler
	r    *atomic.Pointer[dataapi.Redactor]
}

// NewRedactingHandler returns a handler that redacts into next.
func NewRedactingHandler(next slog.Handler) *RedactingHandler {
	h := &RedactingHandler{next: next, r: new(atomic.Pointer[dataapi.Redactor])}
	h.r.Store(dataapi.NewRedactor(""))
	return h
}

// SetSecrets replaces the secrets redacted from now on; empty ones are
// ignored.
func (h *RedactingHandler) SetSecrets(secrets ...string) {
	h.r.Store(dataapi.NewRedactor("", secrets...))
}

// Enabled implements slog.Handler.
func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RedactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	r := h.r.Load()
	out := slog.NewRecord(rec.Time, rec.Level, r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(r, a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler; the attributes are redacted with the
// secrets known now.
func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	r := h.r.Load()
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(r, a)
	}
	return &RedactingHandler{next: h.next.WithAttrs(red), r: h.r}
}

// WithGroup implements slog.Handler.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{next: h.next.WithGroup(name), r: h.r}
}

func redactAttr(r *dataapi.Redactor, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = redactAttr(r, ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, r.Redact(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, r.Redact(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
