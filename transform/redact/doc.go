// Package redact provides the "redact" transform: it keeps content that must
// not leave the organization out of every sink.
//
// Three things are redacted:
//   - request-log content: under api_request, the prompt (prompt, messages,
//     input) when prompt_truncated is true and the response when
//     response_body_truncated is true; with content: all, always; with
//     content: none, never;
//   - configured field paths (JSON pointers, "*" matches any key or index;
//     by default the PEM of certificate.deleted);
//   - the string or number value of every member whose key names a
//     credential (secret_keys: password, token, authorization, api_key,
//     *_secret, ...; case and '-' or '_' do not matter), whatever it holds;
//   - every string value and object key of every event, scanned for
//     patterns: e-mail (international domains too), IPv4 (zero-padded
//     too), IPv6, OpenAI keys, other API key formats, bearer tokens, Basic
//     credentials and JWTs, card numbers (Luhn-checked; spaces, dashes or
//     dots between digits, letters around them), PEM blocks.
//
// A request's prompt_truncated and response_body_truncated flags count as
// true when they are true, a number other than 0, or "true" or "1".
//
// A redacted value becomes a marker string, so the JSON stays valid and the
// place of the value stays visible:
//
//	mask:   [REDACTED:email len=18]
//	hash:   [REDACTED:email len=18 hmac=3f9a0c2d51e7b64a]
//	remove: whole fields are deleted; a match inside a string becomes [REDACTED:email]
//
// hmac is the first 8 bytes of HMAC-SHA256(hash_key, value) in hex (e-mail
// addresses lowercased first), so two events about the same user carry the
// same hmac without revealing the user. len is the length in bytes of the
// original value (of its compact JSON for objects and arrays). Overlapping
// matches are merged before replacement and the result is scanned again, so
// no part of a matched secret survives. Markers are never redacted again.
//
// An event is redacted in its bytes: github.com/go-json-experiment/json/jsontext
// reads them and reports where each key and value lies, and the markers (in
// remove mode, the deletions) are spliced into a copy. Every byte outside
// the strings and keys it rewrites stays as the provider sent it (key
// order, spacing, escapes), an event with nothing to redact keeps its Raw,
// and an event a transform before left decoded is encoded first. No result
// is kept from one event to the next. Two keys of an object that redact to
// the same marker keep both values: the one whose original key sorts later
// gets '~' appended.
//
// It is not a DLP engine: free text that matches no pattern (a name, an
// address) passes; use content: all to drop request content entirely.
package redact
