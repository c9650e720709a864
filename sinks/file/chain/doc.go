// Package chain is the one reading of the file sink's archive integrity
// format (integrity: sha256-chain): how a line's chain value is computed,
// how a signed head is written and checked, where a part's sidecar and its
// rotated copies live, and how a set of parts is verified. The file sink
// writes with it and `auditrelay verify` reads with it, so the two cannot
// drift.
//
// The chain value of a line is SHA-256 over the previous value and the
// line's bytes (without its newline); the value before a part's first line
// is the last value of the part before it (32 zero bytes for part 1).
//
// The values are kept in a sidecar file beside the data file (PATH.chain),
// not in the lines: a consumer of the JSONL archive (jq, a SIEM's file
// input, the file source's replay, a bucket's loader) reads each line as
// the event object exactly as the vendor sent it, and must keep doing so
// whether integrity is on or not. The sidecar holds one line per data
// line, in the same order (the chain value in hex), and after the lines of
// each committed window a signed head: a JSON object with the archive's
// name, the part, a sequence number, the part's line and byte count, the
// chain value, the source, a SHA-256 of the source's cursor and the time,
// signed with Ed25519. The values alone prove nothing (anyone can compute
// SHA-256); the heads do, and the values say on which line a break is.
//
// It is not for reading the events: the data file is plain JSON lines.
package chain
