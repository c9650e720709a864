// Package coordinator shares the sources (organizations) of a config among
// several replicas of auditrelay, with Kafka as the coordinator.
//
// Every replica joins one consumer group on a small coordination topic that
// has one partition per source (sources sorted by name; partition i stands
// for the i-th). Kafka's group protocol, with the cooperative-sticky
// balancer, gives each partition to exactly one live member, so each source
// to one replica. A replica runs a source only while it owns the source's
// partition: on revocation it cancels the source's run (the source drains
// and commits the window in flight) and closes the source's transactional
// producer before the partition moves on; on assignment it starts the source
// from the cursor in the Kafka checkpoint topic. Nothing is ever produced to
// or consumed from the coordination topic: only its partitions matter.
//
// Correctness does not rest on the group protocol. The Kafka sink writes a
// window's events and its cursor in one transaction whose transactional id
// belongs to the source, not to the replica; a new owner initializes that id,
// which aborts the transaction a dead owner left open and fences a stale
// owner that still believes it owns the source. The group protocol only
// makes sure that some live replica runs each source, and that usually only
// one does.
//
// This package is not a general leader election and does not balance by
// load: each replica gets about the same number of sources.
package coordinator
