package pipeline

import "time"

// Telemetry receives the measurements of every component. Implementations
// (the Prometheus one in package telemetry) must be safe for concurrent use
// and must not block. Label values passed here are component names, event
// types and status codes, never secrets or event content.
type Telemetry interface {
	// PageFetched records one HTTP request of a source: its status (0 for a
	// transport error) and how long it took.
	PageFetched(source string, status int, d time.Duration)
	// Retried records a retry and the wait before it, by reason
	// ("429", "5xx", "transport", "garbled", "sink").
	Retried(component, reason string, wait time.Duration)
	// WindowCommitted records a committed window: its events (the
	// source's, after de-duplication, before any transform), how long its
	// delivery took (transforms, sinks, commit and cursor save), and the
	// new cursor time.
	WindowCommitted(source string, events int, d time.Duration, cursor time.Time)
	// EventsFiltered counts events a transform dropped.
	EventsFiltered(transform string, n int)
	// SinkBatch records one batch handed to a sink: events, bytes, latency
	// and outcome (err == nil: the sink took it; see Consumer).
	SinkBatch(sink string, events, bytes int, d time.Duration, err error)
	// DeadLettered counts events a sink rejected and the dead-letter sink took.
	DeadLettered(sink string, n int)
	// InFlight adds delta to the number of windows being delivered to a
	// sink.
	InFlight(delta int)
	// Progress reports how far a source has read, after each committed
	// window.
	Progress(source string, p Progress)
	// InvalidEvents counts events a source could not index, which went to
	// the dead-letter sink (see Event.Invalid).
	InvalidEvents(source string, n int)
	// TransformDegraded reports that a transform works with less than it
	// should (enrich's directory cannot be loaded: events pass without
	// names); nil says it recovered.
	TransformDegraded(transform string, err error)
}

// AlertObserver is an optional interface of a Telemetry: a transform that
// raises alerts (detect) reports those of each window it commits, by rule
// and severity. It must not block.
type AlertObserver interface {
	AlertsRaised(transform, rule, severity string, n int)
}

// NopTelemetry discards every measurement.
type NopTelemetry struct{}

var _ Telemetry = NopTelemetry{}

func (NopTelemetry) PageFetched(string, int, time.Duration)                {}
func (NopTelemetry) TransformDegraded(string, error)                       {}
func (NopTelemetry) InvalidEvents(string, int)                             {}
func (NopTelemetry) Retried(string, string, time.Duration)                 {}
func (NopTelemetry) WindowCommitted(string, int, time.Duration, time.Time) {}
func (NopTelemetry) EventsFiltered(string, int)                            {}
func (NopTelemetry) SinkBatch(string, int, int, time.Duration, error)      {}
func (NopTelemetry) DeadLettered(string, int)                              {}
func (NopTelemetry) InFlight(int)                                          {}
func (NopTelemetry) Progress(string, Progress)                             {}
