// Package chatgptsim is a deterministic simulator of the ChatGPT Enterprise
// Compliance Logs API, served over real HTTP on two listeners the caller
// binds: the API and the host of the signed download URLs.
//
// The API host serves:
//
//   - GET /v1/compliance/workspaces/{id}/logs and
//     /v1/compliance/organizations/{org-id}/logs: the files of one
//     event_type (required, else 400), oldest end_time first, from after
//     (ISO 8601 with a zone, else 400; inclusive, as collectors observe:
//     the file whose end_time equals after is listed again) and below
//     before (optional, exclusive), limit 1..100 (else 422, default 50).
//     The answer is {"data":[{id, event_type, end_time, file_name,
//     file_size, file_sha256}], "has_more", "last_end_time"}, null for an
//     empty page.
//   - GET .../logs/{log_file_id}: 307 to a signed URL on the download
//     host, whose signature expires after Options.URLTTL.
//
// Both need "Authorization: Bearer <key>": 401 without it or with a wrong
// key, 403 for a key without the export scope (Options.UnscopedKeys).
// The download host serves the file as application/x-ndjson to whoever
// holds a valid URL, and refuses (400, counted in Stats.AuthOnDownload)
// any request that carries an Authorization header, so a test can prove
// the key never left the API host. Both hosts are loopback addresses of one
// name when served on 127.0.0.1, so Go's default redirect policy (which
// keeps Authorization for the same host name, whatever the port, and for
// a subdomain) forwards the key: a client must drop it itself.
//
// Nothing is stored per file or record. A type's timeline is cut into
// slots of Options.Interval, each holding one file (or two sharing an
// end_time, Options.SharedEnd); a file's id encodes its coordinates through
// a keyed permutation, and each line is rendered from the seed and its
// coordinates when it is sent. A file of 100,000 lines (Options.BigFiles)
// is therefore streamed in 32 KiB writes. Its size and SHA-256, which the
// listing announces before the bytes are sent, come from a first rendering
// pass the first time the file is listed (see Server.sum). Files appear as
// the clock (Options.Now) passes their end_time, so a tail poll sees new
// data.
//
// Records follow the shapes of the API notes for every known type
// (KnownTypes); any other type name in Options.Types gets records of an
// unknown shape. Conversation messages are multi-line, in many scripts,
// with code blocks, and carry secrets (API keys, cloud keys, tokens,
// personal e-mail addresses, Luhn-valid card numbers), as do app calls and
// agent messages, so that redaction can be proven. Options.DuplicateFraction
// repeats the previous file's last lines at the start of a file, as an
// at-least-once export does.
//
// Faults (FaultKind) are drawn per request from a seeded sequence: 429 with
// and without Retry-After, 500, 502, 503, slow answers, the list body as
// two JSON documents, and on downloads a changed byte, a connection cut
// mid-file or a short Content-Length. Options.Latency delays every answer
// by a log-normal draw.
//
// For assertions, Files, AllFiles and WriteFile give the files and their
// exact bytes, Truth every event id, message text and secret of the
// visible files, and Stats the requests by route and status, the faults
// and the keys sent to the download host.
//
// It is for tests and benchmarks. It makes no claim about the real API's
// rate limits, retention (files are never removed), error bodies (not
// published) or how often files appear.
package chatgptsim
