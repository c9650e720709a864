// Package checkpoint holds the cursor stores of sources: a file store (one
// file per source, written to a temporary file, fsynced and renamed, so a
// crash leaves either the old or the new cursor, never a torn one) and a
// memory store for tests and demos. Kafka-held cursors live with the Kafka
// sink (sinks/kafka), which writes them inside its transactions.
package checkpoint
