// Package file is the JSONL replay source (type "file"): it reads events,
// one JSON object per line, from a file, a glob of files or stdin, and
// hands them through the same transforms and sinks as the API sources, for
// example to backfill a new SIEM from an export.
//
// Each line is indexed by its shape (package schema/openai's Parse): an
// object with effective_at and type is an audit log, one with event and
// created_at a request log. Event.Raw is the line itself, byte for byte
// (without its line terminator).
//
// Every batch_size lines make a window, whose cursor holds, per file, the
// byte offset after its last line: once the engine committed the window,
// a replay that was stopped resumes there, with duplicates only from the
// window that was not committed. A file
// that was truncated or replaced (other inode, smaller than the offset, or
// other first bytes) is read again from the start, with a warning. Stdin has
// no checkpoint.
//
// It is not a log tailer for arbitrary formats: lines must be the JSON
// objects the OpenAI APIs return (as `auditrelay export -o jsonl` writes
// them).
package file
