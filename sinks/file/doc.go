// Package file is the file sink (type "file"): events as JSON lines, one
// event object per line exactly as delivered, appended to a file or written
// to standard output. With fsync (the default) a batch is acknowledged only
// after the file is synced to disk. It is not a log rotator: rotate with
// logrotate's copytruncate or point the sink at a new path.
//
// With integrity: sha256-chain the file is an archive an auditor can
// verify (`auditrelay verify`): every line is chained with SHA-256 and
// every committed window signs a head with Ed25519. The chain values and
// heads live in a sidecar (PATH.chain), never in the lines: tools that
// read the JSONL (jq, a SIEM's file input, the file source) see the events
// exactly as without integrity. Package chain holds the format, shared
// with verify. A kill leaves lines after the last head that no head
// signs; the engine writes their window again (at-least-once), so the
// next start cuts the file and sidecar back to that head, and the chain
// goes on from its value. Rotation (rotate_bytes) happens right after a
// head: the full file and its sidecar take the part's number, and the new
// part's heads record the value it starts from.
package file
