// Package pipeline is the core of auditrelay: the event model, the component
// contracts, their factories and the explicit Registry, the one retry policy,
// and the engine that delivers every source's windows to the sinks.
//
// # Windows
//
// A source does not deliver. It reads its stream and emits windows
// (SourceHost.Emit): a Window is the events of a stretch of the stream,
// oldest first, and the opaque cursor that holds once they are delivered.
// Windows come in the order they must be committed. The engine takes one
// window at a time per source and owns everything after that: it cuts the
// window into batches, runs the transforms once, hands the batches to every
// sink, retries a sink that failed (only that sink), asks every sink to make
// the window durable, and then saves the cursor in the CursorStore. A crash
// at any point replays at most the windows not committed; a source restarted
// from its last cursor produces them again.
//
// # The two contracts of a sink
//
// Consume(ctx, Batch) error: the sink has taken the batch. For a file that
// is written (not yet fsynced), for Kafka produced, for an HTTP destination
// answered 2xx. The batch is the sink's to read during the call only.
//
// CommitWindow(ctx, source, cursor) error, of the optional Committer
// interface: everything consumed for this source since the last commit or
// abort is durable (fsync, acknowledged, in a transaction the store
// commits). The engine saves the cursor only after every sink returned nil:
// a sink without CommitWindow promises durability with Consume's nil.
//
// Two calls with one meaning each, so no sink needs to know where a window
// begins or ends. When a Committer fails, or when the engine gives a window
// up, it calls AbortWindow and a retry sends the window from its first
// batch: a Kafka transaction is aborted and produced again, with no copy of
// the window kept in the sink. A sink without CommitWindow whose Consume
// failed gets that batch again, alone; sinks that took the window are not
// asked again. A sink that stores cursors itself (Kafka exactly-once) is the
// CursorStore too: its Save commits the window's records with the cursor,
// and a *RedeliverError asks the engine for the window again.
//
// # Failures
//
// A sink's failures are retried with its RetryPolicy until the policy's
// max_elapsed (then the window is given up: `run --once` fails, a daemon
// runs the source again from its cursor), a permanent error, or shutdown.
// Events a sink refuses for their content (*RejectedError) go to the
// dead-letter sink, which commits with the window, or stop the source. At
// shutdown the window in delivery is finished within the drain timeout; one
// that cannot be committed in time makes Run return an error wrapping
// ErrInterrupted. A source's own failure stops that source only; the others
// run on.
//
// # Tracing
//
// A Telemetry that also implements Tracer traces every window: the engine
// delivers a window inside its span (the one the source started before
// its requests, handed over in Window.Span, or one of its own) and opens a
// child for the transforms, each sink's delivery, consume and commit, and
// the cursor save. Tracer and Span are declared here in the pipeline's
// terms so that this package needs no tracing library.
//
// This package uses the standard library only. It is not the place for
// protocol code (source/ and sinks/), for what a vendor's events mean
// (schema/) nor for configuration parsing (package config).
package pipeline
