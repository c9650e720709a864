// Package spantest records the window spans a source starts and the
// requests made in each, for the tests of the sources' tracing.
package spantest

import (
	"context"
	"sync"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Tracer is a pipeline.Tracer that records every window span and counts,
// for each, the client spans (requests) started under it.
type Tracer struct {
	mu      sync.Mutex
	windows []*Span
	orphans int
}

var _ pipeline.Tracer = (*Tracer)(nil)

// Span is a recorded window span.
type Span struct {
	t        *Tracer
	name     string
	requests int
	ends     int
}

type spanKey struct{}

// StartWindow implements pipeline.Tracer.
func (t *Tracer) StartWindow(ctx context.Context) (context.Context, pipeline.Span) {
	s := &Span{t: t, name: "window"}
	t.mu.Lock()
	t.windows = append(t.windows, s)
	t.mu.Unlock()
	return context.WithValue(ctx, spanKey{}, s), s
}

// Start implements pipeline.Tracer; it records nothing.
func (t *Tracer) Start(ctx context.Context, _ string) (context.Context, pipeline.Span) {
	return ctx, pipeline.NopSpan{}
}

// StartClient implements pipeline.Tracer: it counts a request of the
// window span ctx carries, or one outside any.
func (t *Tracer) StartClient(ctx context.Context, _ string) (context.Context, pipeline.Span) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := ctx.Value(spanKey{}).(*Span); ok {
		s.requests++
	} else {
		t.orphans++
	}
	return ctx, pipeline.NopSpan{}
}

// WithSpan implements pipeline.Tracer.
func (t *Tracer) WithSpan(ctx context.Context, _ pipeline.Span) context.Context { return ctx }

// Orphans is the number of requests made outside any window span.
func (t *Tracer) Orphans() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.orphans
}

// Windows returns the window spans started, in order.
func (t *Tracer) Windows() []*Span {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*Span(nil), t.windows...)
}

// State returns the span's name, the requests made under it and how many
// times it was ended.
func (s *Span) State() (name string, requests, ends int) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return s.name, s.requests, s.ends
}

func (s *Span) Recording() bool                   { return true }
func (s *Span) SetAttributes(...pipeline.Attr)    {}
func (s *Span) AddEvent(string, ...pipeline.Attr) {}
func (s *Span) SetName(n string)                  { s.t.mu.Lock(); s.name = n; s.t.mu.Unlock() }
func (s *Span) End(error)                         { s.t.mu.Lock(); s.ends++; s.t.mu.Unlock() }

// Check is the part of a test host's Emit that judges the span of a
// window of n events: it must be the tracer's, not shared with an earlier
// window, not ended yet, and hold a request when the window has events
// and requireRequest is set. It then ends the span, as the engine would.
// A window without a span (nil) is the engine's to trace: Check accepts
// it. It returns a description of what is wrong, or "".
func (t *Tracer) Check(span pipeline.Span, n int, requireRequest bool, seen map[*Span]bool) string {
	if span == nil {
		return ""
	}
	s, ok := span.(*Span)
	if !ok {
		return "a span of another tracer"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case seen[s]:
		return "two windows share a span"
	case s.ends != 0:
		return "the window's span was ended before the engine took it"
	case requireRequest && n > 0 && s.requests == 0:
		return "a window of events whose span holds no request"
	}
	seen[s] = true
	s.ends++
	return ""
}
