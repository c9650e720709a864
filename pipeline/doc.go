// Package pipeline is the core of auditrelay: the event model, the component
// contracts (Source, Transform, Sink, CheckpointStore), their factories and the
// explicit Registry, the shared sink retry policy, and the Runner that wires
// sources through transforms into a fan-out of sinks.
//
// Data moves by plain synchronous calls: a source hands a Batch to a Consumer
// and learns from the returned error whether every sink has made it durable.
// A source saves its cursor only after that call returned nil for every batch
// up to the cursor, which is what makes delivery at-least-once across crashes.
//
// Transforms write the new bytes of the events they change to memory the
// runner lends each batch (Batch.Mem, a Memory) and takes back once every
// sink's Consume returned, which by the Consumer contract is when no sink
// holds the bytes any longer: a long back-fill reuses the same blocks
// instead of leaving a copy of every event per transform to the garbage
// collector.
//
// This package uses the standard library and, to decode and encode events
// without encoding/json's reflection, the module's internal/rawjson, which
// uses the standard library only. It is not the place for
// protocol code (that lives in source/ and sinks/) nor for configuration
// parsing (package config).
package pipeline
