package pipeline

import (
	"context"
	"log/slog"
	"time"
)

// Consumer takes batches. It is the one edge between the engine and a sink.
type Consumer interface {
	// Consume hands b over to the destination: a nil error means the
	// destination has taken b (written, produced, answered 2xx), not that
	// it is durable; durability is CommitWindow's (see Committer). A
	// consumer without CommitWindow has nothing more to do: its nil means
	// durable. A non-nil error means nothing of b may be assumed taken,
	// except for a *RejectedError alone, which says the other events of b
	// were taken.
	//
	// Consume blocks until then or until ctx is done (it then returns
	// ctx.Err()). b and its events' Raw bytes are the consumer's to read
	// during the call only: it must not modify them, and must copy what it
	// keeps. Consume is safe for concurrent use (several sources share the
	// sinks).
	Consume(ctx context.Context, b Batch) error
}

// ConsumerFunc adapts a function to the Consumer interface.
type ConsumerFunc func(ctx context.Context, b Batch) error

// Consume calls f(ctx, b).
func (f ConsumerFunc) Consume(ctx context.Context, b Batch) error { return f(ctx, b) }

// Committer is the optional interface of a sink that makes what it took
// durable only when asked: the file sink fsyncs, the Kafka sink waits for
// its records' acknowledgements (and with exactly_once keeps them in a
// transaction that its cursor store commits).
//
// The engine calls Consume for every batch of a window, then CommitWindow;
// it saves the window's cursor only once every sink returned nil. After any
// failure of a Committer (of Consume or CommitWindow), and whenever the
// engine gives a window up, it calls AbortWindow, and a retry sends the
// window again from its first batch. A sink without CommitWindow takes each
// batch for good when Consume returns nil, and a failed batch is sent again
// alone.
type Committer interface {
	// CommitWindow blocks until every batch of source consumed since the
	// last CommitWindow or AbortWindow of source is durable, or ctx is
	// done. cursor is the cursor the engine saves next (opaque; a sink may
	// record it, must not change it). Safe for concurrent use with other
	// sources. Events the destination refused for good at commit come
	// back in a *RejectedError, as from Consume: the engine hands them to
	// the dead-letter sink and, when the error holds nothing else, takes
	// the rest of the window as committed; otherwise it sends the window
	// again without them.
	CommitWindow(ctx context.Context, source string, cursor []byte) error
	// AbortWindow forgets what was consumed for source since the last
	// CommitWindow (a transaction is aborted; a sink that writes in place
	// does nothing). It blocks at most until ctx is done.
	AbortWindow(ctx context.Context, source string) error
}

// Component is the lifecycle every source, transform, sink and store has.
type Component interface {
	// Start prepares the component (connects, opens files, validates that
	// its destination exists). It must not block beyond that work. ctx
	// bounds the start-up only; the component must not keep it.
	Start(ctx context.Context) error
	// Shutdown flushes and releases everything. It is safe to call without
	// Start and more than once. ctx bounds how long it may take.
	Shutdown(ctx context.Context) error
}

// Window is what a source produces: the events of a stretch of its
// stream, oldest first, and the cursor that holds once they are all
// delivered. A source emits its windows in the order they must be
// committed.
type Window struct {
	// Events are ordered oldest first. A window may be empty: its cursor
	// still moves (an empty stretch of time was read).
	Events []Event
	// Cursor is saved for the source once every sink committed the window.
	// Nil saves nothing (a stream without a checkpoint, such as stdin).
	Cursor []byte
	// Start and End bound the window in the source's time, when it has
	// one (zero otherwise): End is how far the stream has been read once
	// the window is committed.
	Start, End time.Time
	// Goal is the time the source is catching up to (the API's now minus
	// settle when the window was planned), zero when unknown. With End it
	// gives the progress of a back-fill.
	Goal time.Time
	// Fetched counts the events read for the window, the duplicates the
	// source dropped included, and Requests the API requests it took; they
	// are reported, not acted on.
	Fetched, Requests int
	// Span is the window's span when the source started one before reading
	// it (Tracer.StartWindow), so that its requests are children of it.
	// The engine takes it over with the window and ends it once the window
	// is committed or given up; nil lets the engine start one.
	Span Span
}

// SourceHost is what a running source is given.
type SourceHost struct {
	// Cursor is the cursor of the last committed window, or nil when the
	// source has none (it starts from its configured beginning).
	Cursor []byte
	// Emit hands the next window to the engine. It blocks until the
	// engine takes it (the engine delivers one window at a time per
	// source, so a source fetches at most one window ahead of delivery
	// plus what it plans itself), or until ctx is done, returning ctx.Err().
	// The window and its events belong to the engine once Emit returned
	// nil. Emit is not safe for concurrent use.
	Emit func(ctx context.Context, w Window) error
	// Once asks the source to catch up to the present, emit its last
	// window and return nil, instead of polling until ctx is done.
	Once bool
}

// Source produces windows.
type Source interface {
	Component
	// Run reads the stream from host.Cursor and emits windows in commit
	// order until ctx is done (it then returns nil) or, with host.Once,
	// until it has caught up. It returns a non-nil error for a failure its
	// own retries could not fix (a refused key, an API that keeps sending
	// broken pages); the engine then delivers the windows already emitted
	// and stops the source, which a daemon runs again later from its last
	// committed cursor. Run is called again only after it returned.
	Run(ctx context.Context, host SourceHost) error
}

// BatchSizer is the optional interface of a source that chooses how many
// events the engine hands on per batch (the default is 1000).
type BatchSizer interface {
	BatchSize() int
}

// Transform changes, enriches or drops events.
type Transform interface {
	Component
	// Process returns the batch to hand on. It may modify b's events in
	// place (through Event.Object/SetObject or SetRaw) and drop events;
	// dropped events count as delivered. It must keep b.Source. The engine
	// transforms each batch once per window attempt and keeps the result
	// until every sink committed the window, so a transform must not keep
	// references to the events after Process returns. Process is safe for
	// concurrent use with different batches.
	Process(ctx context.Context, b Batch) (Batch, error)
}

// Sink writes events to a destination. It may implement Committer.
type Sink interface {
	Component
	Consumer
}

// CursorStore persists one opaque cursor per source name.
type CursorStore interface {
	Component
	// Load returns the cursor last saved for source, or (nil, nil) when
	// there is none. It blocks until the value is read.
	Load(ctx context.Context, source string) ([]byte, error)
	// Save makes cursor durable for source before returning nil. The store
	// may keep cursor; the caller must not modify it afterwards. A store
	// that is also a sink (Kafka exactly-once: the window's records and its
	// cursor commit in one transaction) returns a *RedeliverError when the
	// window must be sent to that sink again before the cursor can be
	// saved. Save is safe for concurrent use with different source names.
	Save(ctx context.Context, source string, cursor []byte) error
}

// Gate is the optional interface of a cursor store that shares the sources
// among several processes (replicas): a source runs in this process only
// while the gate grants it.
type Gate interface {
	// Acquire blocks until this process may run source, or ctx is done.
	// The returned context is done when the grant is taken back; release
	// must be called once the source stopped, before Acquire is called
	// again for it.
	Acquire(ctx context.Context, source string) (granted context.Context, release func(), err error)
}

// Settings is what every factory receives besides its config.
type Settings struct {
	// Name is the component's name in the config (unique per kind).
	Name string
	// Type is the component's type.
	Type string
	// Logger is already tagged with the component's kind and name.
	Logger *slog.Logger
	// BaseDir is the directory that relative paths in the config are
	// relative to (the config file's directory).
	BaseDir string
	// Telemetry receives the component's measurements. Never nil when
	// created by Build.
	Telemetry Telemetry
	// Tracer traces the windows (see Tracer); nil when built by hand, and
	// a NopTracer when the Telemetry given to Build does not trace.
	Tracer Tracer
}

// Log returns s.Logger, or a logger that discards when it is nil (a
// component built by hand in a test).
func (s Settings) Log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Tel returns s.Telemetry, or NopTelemetry when it is nil.
func (s Settings) Tel() Telemetry {
	if s.Telemetry == nil {
		return NopTelemetry{}
	}
	return s.Telemetry
}

// Trace returns s.Tracer, or NopTracer when it is nil.
func (s Settings) Trace() Tracer {
	if s.Tracer == nil {
		return NopTracer{}
	}
	return s.Tracer
}
