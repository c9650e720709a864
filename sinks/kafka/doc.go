// Package kafka is the Kafka sink of auditrelay (type "kafka") and the Kafka
// checkpoint store (type "kafka") that keeps source cursors in a compacted
// topic next to the data.
//
// The sink writes one record per event, its value being Event.Raw exactly as
// received, keyed and headed as configured, with franz-go's idempotent
// producer. A batch is acknowledged only when the brokers acknowledged every
// record of it. With exactly_once, each source gets its own transactional
// producer: a window's records and the cursor that follows them are committed
// in one Kafka transaction, so read_committed consumers see every event once
// even across crashes, and a second instance with the same transactional id
// fences the first.
//
// This package is not a Kafka consumer and does not create topics unless
// create_topics is set.
package kafka
