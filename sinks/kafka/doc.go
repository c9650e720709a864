// Package kafka is the Kafka sink of auditrelay (type "kafka") and the Kafka
// checkpoint store (type "kafka") that keeps source cursors in a compacted
// topic next to the data.
//
// The sink writes one record per event, its value being Event.Raw exactly as
// received, keyed and headed as configured, with franz-go's idempotent
// producer. A batch is acknowledged only when the brokers acknowledged every
// record of it. With exactly_once (TxnSink), each source gets its own
// transactional producer: a window's records and the cursor that follows them
// are committed in one Kafka transaction, so read_committed consumers see
// every event once even across crashes, and a second instance with the same
// transactional id fences the first.
//
// With a `coordination:` section the store also shares the sources among
// replicas of auditrelay (pipeline.Gate). Every replica joins one consumer
// group on a small coordination topic that has one partition per source
// (sources sorted by name; partition i stands for the i-th). Kafka's group
// protocol, with the cooperative-sticky balancer, gives each partition to
// exactly one live member, so each source to one replica. A replica runs a
// source only while it owns the source's partition: on revocation the
// source's run is cancelled (it drains and commits the window in flight)
// and its transactional producer closed before the partition moves on.
// Nothing is ever produced to or consumed from the coordination topic: only
// its partitions matter.
//
// Correctness does not rest on the group protocol: the transactional id
// belongs to the source, not to the replica, so a new owner initializing it
// aborts the transaction a dead owner left open and fences a stale owner
// that still believes it owns the source. The group only makes sure that
// some live replica runs each source, and that usually only one does; it
// balances by the number of sources, not by load.
//
// This package reads no events from Kafka and does not create topics unless
// create_topics is set (the coordination topic excepted).
package kafka
