package pipeline

import "context"

// Tracer is the optional interface of a Telemetry that traces windows: one
// span per window, with children for the source's requests, the
// transforms, each sink's delivery and commit, and the cursor save. It is
// declared here, in the terms of the pipeline, so that the engine and the
// sources trace without importing a tracing library; package telemetry
// implements it with OpenTelemetry.
//
// Every method is safe for concurrent use and never blocks: a span that
// cannot be queued for export is dropped (and counted), never waited for.
type Tracer interface {
	// StartWindow starts the span of one window, a new trace: the returned
	// context carries it. Whether the trace is sampled is decided here,
	// once, so that a window is traced whole or not at all.
	StartWindow(ctx context.Context) (context.Context, Span)
	// Start starts a child of the span ctx carries, named name. Without a
	// recorded span in ctx (tracing off, a window not sampled, a request
	// outside any window) it returns ctx and a Span that records nothing:
	// there are no orphan spans.
	Start(ctx context.Context, name string) (context.Context, Span)
	// StartClient is Start for a request to another service (an API's
	// page): tracing backends draw such spans as calls between services.
	StartClient(ctx context.Context, name string) (context.Context, Span)
	// WithSpan returns ctx carrying s, a span started elsewhere (the
	// window span a source hands over with its Window).
	WithSpan(ctx context.Context, s Span) context.Context
}

// Span is one traced operation. A Span that records nothing is cheap:
// callers check Recording before computing attributes. Its methods are safe
// for concurrent use.
type Span interface {
	// Recording reports whether the span keeps what it is given.
	Recording() bool
	// SetAttributes records attributes of the operation. Values are
	// strings, bools, ints, int64s, float64s, time.Times and
	// time.Durations (seconds); never secrets or event content.
	SetAttributes(attrs ...Attr)
	// AddEvent records something that happened during the operation (a
	// retry and the wait before it).
	AddEvent(name string, attrs ...Attr)
	// SetName renames the span: a request read to plan windows that, in
	// the end, became none of them.
	SetName(name string)
	// End ends the span; a non-nil err marks it failed and is recorded on
	// it. Calls after the first do nothing.
	End(err error)
}

// Attr is one attribute of a span.
type Attr struct {
	Key   string
	Value any
}

// NopTracer traces nothing.
type NopTracer struct{}

var _ Tracer = NopTracer{}

func (NopTracer) StartWindow(ctx context.Context) (context.Context, Span)     { return ctx, NopSpan{} }
func (NopTracer) Start(ctx context.Context, _ string) (context.Context, Span) { return ctx, NopSpan{} }
func (NopTracer) StartClient(ctx context.Context, _ string) (context.Context, Span) {
	return ctx, NopSpan{}
}
func (NopTracer) WithSpan(ctx context.Context, _ Span) context.Context { return ctx }

// NopSpan records nothing.
type NopSpan struct{}

var _ Span = NopSpan{}

func (NopSpan) Recording() bool          { return false }
func (NopSpan) SetAttributes(...Attr)    {}
func (NopSpan) AddEvent(string, ...Attr) {}
func (NopSpan) SetName(string)           {}
func (NopSpan) End(error)                {}

// WindowSpan is the span of a window a source is still reading: started
// with the window's first request (Context), so that the requests are its
// children, then handed to the window it became (Take), or ended when the
// requests became none (End). Tracer must be set. Not safe for
// concurrent use.
type WindowSpan struct {
	Tracer Tracer
	span   Span
	ctx    context.Context
}

// Context returns the context the window's requests run in, starting the
// span from ctx when none is started yet.
func (w *WindowSpan) Context(ctx context.Context) context.Context {
	if w.span == nil {
		w.ctx, w.span = w.Tracer.StartWindow(ctx)
	}
	return w.ctx
}

// Take returns the span for the window being emitted (nil when no request
// started one); the next request starts a new one.
func (w *WindowSpan) Take() Span {
	s := w.span
	w.span, w.ctx = nil, nil
	return s
}

// End ends the span of requests that became no window, named name when
// they did not fail (a poll that found nothing); it does nothing without
// one.
func (w *WindowSpan) End(name string, err error) {
	s := w.Take()
	if s == nil {
		return
	}
	if err == nil && name != "" {
		s.SetName(name)
	}
	s.End(err)
}
