// Package rawjson reads and edits encoded JSON objects in place, for the
// transforms that change a few values of an event: decoding an event into
// maps and encoding it again costs several times more than the change. Its
// AppendString is the project's one JSON string encoder (sinks that write
// their own request bodies, the simulator).
//
// Every function validates what it walks and returns ErrSyntax on anything
// it does not accept (malformed JSON, nesting deeper than 1000, trailing
// data after the top-level value). Callers then fall back to encoding/json,
// which has the last word on what is valid. Strings are handed on as
// encoded tokens; Unquote decodes one.
//
// It is not a general JSON library: no decoding into Go values, no
// streaming, no pretty printing.
package rawjson
