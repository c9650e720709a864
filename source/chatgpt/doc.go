// Package chatgpt is the source of ChatGPT Enterprise and Edu Compliance
// Logs (type "chatgpt_compliance_logs"): it lists the JSONL files the API
// exports per event type, downloads each, and emits its records as windows.
// Its simulator is package chatgptsim; what a record is, package
// schema/chatgpt.
//
// # Files, in order
//
// Each event type is listed on its own from its checkpoint's end_time, page
// after page (last_end_time, has_more), a body of several JSON documents
// read as one page. The API's `after` is inclusive in practice: the files
// at the boundary come again and are skipped by id. The files of all types
// are read in the order of their end_time, so a type with a month of
// back-fill does not hold the others back, and a window's End is how far
// every type is read.
//
// # Downloads
//
// The API answers a download with a redirect to a signed URL on another
// host. The source asks for it with the key, then fetches the URL with a
// second client that has no key at all (an https URL, or http on a loopback
// address): Go's own redirect handling would forward the key to another
// port of the same host. A signed URL refused (403, 400: expired while a
// download was retried) is asked for again. Both clients are package
// httpapi's retrying client: one retry policy (429 and 5xx with
// Retry-After, transport errors), no redirect followed.
//
// A file's digest is known only at its end, and no record of a file whose
// digest is wrong may be delivered. So each download is spooled to a
// temporary file (spool_dir), hashed as it is written, and checked: its
// size and SHA-256 against the listing when it gives them, else that it
// does not end inside a line. A download that fails the check is
// retried like any failed request; only then is the spool read, line by
// line through a bounded reader (max_line_bytes), and removed. Memory stays
// flat in the file's size; the disk holds one file. The other way, reading
// while downloading and holding back the records until the digest is
// known, would hold a whole file in memory or deliver before checking.
//
// # Windows and the checkpoint
//
// A window holds at most max_window_events records, in file order, and
// several small files when they fit (handed on after flushEvery at most).
// Its cursor, JSON of version 1, holds per event type: the end_time of the
// last file read whole, the ids of the files done at that end_time, the
// file in progress (id, end_time, lines handled, SHA-256), and the last
// dedup_ids event_ids delivered. A restart lists from that end_time,
// skips the files done, downloads the file in progress again (checked
// again), skips the lines handled and goes on: a stop replays at most the
// window in delivery. A checkpoint that cannot be read or cannot be true
// stops the source with an error; it never starts over silently.
//
// # Records
//
// Each line is read once by schema/chatgpt (event_id, type, timestamp,
// actor, workspace). A record whose event_id is among the last dedup_ids of
// its type is dropped (the API delivers at least once, and a file may
// repeat the end of the one before): memory about 100 bytes per id per
// type. A line that is not a record stops the source at it, or with
// on_invalid_event: dead_letter goes to the dead-letter sink. Unless
// keep_content is true, what people wrote (ContentPaths) is replaced by its
// SHA-256 and length before the event leaves the source, the record's
// other bytes untouched.
//
// # Queries
//
// Client is the same listing, checked downloads and reading of records
// for a caller that is not a pipeline (the CLI's list, get, export and
// stats): ListFiles walks one type's listing, Open downloads and checks a
// file and reads its records, content replaced unless keep_content. It
// keeps no checkpoint and does not poll.
package chatgpt
