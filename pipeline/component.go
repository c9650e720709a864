package pipeline

import (
	"context"
	"log/slog"
	"time"
)

// Consumer receives batches. It is the one edge between stages.
type Consumer interface {
	// Consume blocks until every event of b is durable at every destination
	// behind the consumer, or until it fails. A nil error is the
	// acknowledgement a source waits for before moving its cursor. A non-nil
	// error means nothing about b may be assumed delivered. Inside a window
	// (see Batch) a consumer may acknowledge the batches before the
	// WindowEnd batch once it has handed them on, and fail a later batch of
	// the window for them: only the WindowEnd batch's acknowledgement moves
	// a cursor, and it always means durable.
	//
	// The consumer must stop early and return ctx.Err() when ctx is done.
	// The batch is shared: the consumer must not modify b or its events'
	// Raw bytes, and must not keep references to them after returning unless
	// it copies them. Consume is safe for concurrent use (several sources
	// share one chain of transforms and sinks).
	Consume(ctx context.Context, b Batch) error
}

// ConsumerFunc adapts a function to the Consumer interface.
type ConsumerFunc func(ctx context.Context, b Batch) error

// Consume calls f(ctx, b).
func (f ConsumerFunc) Consume(ctx context.Context, b Batch) error { return f(ctx, b) }

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

// SourceHost is what a running source is given.
type SourceHost struct {
	// Next receives the source's batches.
	Next Consumer
	// Store loads and saves the source's cursor under its name.
	Store CheckpointStore
	// Once asks the source to catch up to the present and return nil,
	// instead of polling until ctx is done.
	Once bool
	// DrainTimeout bounds how long the source may keep delivering a window
	// it has already fetched after ctx is done, so that a shutdown commits
	// the work in flight instead of replaying it.
	DrainTimeout time.Duration
}

// Source produces events.
type Source interface {
	Component
	// Run fetches events and delivers them to host.Next until ctx is done
	// (then it finishes the window in flight within host.DrainTimeout,
	// saves its cursor and returns nil) or, with host.Once, until it has
	// caught up. It returns a non-nil error only for a failure that retrying
	// cannot fix (a refused key, a permanently failing sink). After such an
	// error the runner may call Run again; the source then resumes from its
	// saved cursor.
	Run(ctx context.Context, host SourceHost) error
}

// Transform changes, enriches or drops events.
type Transform interface {
	Component
	// Process returns the batch to hand on. It may modify b's events in
	// place (through Event.Object/SetObject or SetRaw) and drop events;
	// dropped events count as delivered. It must keep b's Source and window
	// marks. New bytes for an event's Raw are best taken from b.Mem when it
	// is set (see Memory). An event's Raw may live in such memory, which
	// the runner takes back once the sinks returned: a transform must not
	// keep references to the events' bytes after Process returns unless it
	// copies them. Process is safe for concurrent use with different
	// batches: the runner hands it a large batch in parts, concurrently,
	// unless it is a WholeBatchTransform.
	Process(ctx context.Context, b Batch) (Batch, error)
}

// WholeBatchTransform is a Transform whose result for an event depends on
// the other events of its batch (dedup drops the later copies of an id
// within a batch). The runner hands it every event of a batch at once;
// other transforms may get a large batch in parts, concurrently.
type WholeBatchTransform interface {
	Transform
	WholeBatch()
}

// Sink writes events to a destination.
type Sink interface {
	Component
	Consumer
}

// CheckpointStore persists one opaque cursor per source name.
type CheckpointStore interface {
	Component
	// Load returns the cursor last saved for source, or (nil, nil) when
	// there is none. It blocks until the value is read.
	Load(ctx context.Context, source string) ([]byte, error)
	// Save makes cursor durable for source before returning nil. The store
	// may keep cursor; the caller must not modify it afterwards. Save is
	// safe for concurrent use with different source names.
	Save(ctx context.Context, source string, cursor []byte) error
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
