// Package telemetry implements pipeline.Telemetry with OpenTelemetry
// metrics and derives the process's health from the same measurements: a
// source is stuck when it has not committed a window for longer than
// stuck_after (or its last run failed), a sink is failing when every batch
// for longer than sink_failing_after failed. Handler serves /metrics (the
// OpenTelemetry Prometheus exporter, under the names auditrelay always
// had), /healthz and /readyz. With Options.Traces it also implements
// pipeline.Tracer: a trace of every window exported over OTLP through a
// bounded queue that drops (and counts) rather than slows delivery; and
// LogHandler adds the trace and span ids to the log lines of a window.
//
// It is not a general metrics library: components report through the typed
// pipeline.Telemetry hooks and never see OpenTelemetry or Prometheus
// types. Every Telemetry has its own registry and meter provider; nothing
// is registered globally.
package telemetry
