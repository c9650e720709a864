// Package otlp is the OpenTelemetry logs sink (type "otlp"): it maps each
// audit event to an OTLP log record (see README.md for the mapping table),
// builds plog.Logs with the collector's pdata and exports them over gRPC or
// HTTP (protobuf or JSON) to a collector, an agent or a vendor's OTLP intake.
//
// It reads no OTEL_* environment variables: everything comes from its
// config. It keeps no queue: a batch is cut into requests sent at most
// max_concurrent_requests at once, and Consume returns only when the
// destination accepted every request of the batch, so nothing is dropped on
// a burst; retries belong to the engine, this package only classifies
// errors (throttling with the delay the server asked for, permanent
// refusals, partially rejected requests that go to the dead-letter path).
//
// It is not an OTLP receiver, and it does not export traces or metrics.
package otlp
