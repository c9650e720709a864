// Package chatgpt is what a record of ChatGPT Enterprise's Compliance Logs
// is, read once for every component: the routing fields a source puts on a
// pipeline.Event (event_id, type, timestamp, the actor, the workspace), the
// sub-type that tells records of one type apart (an audit action, a Codex
// event type), where the request came from, what a record is about
// (Resource, TargetUser, Role, Message, Tokens), the list of known event types,
// which members of each type hold what people wrote (ContentPaths), for
// redaction, and the severity of a record (Severities, the one table for
// this vendor, which ranks a record by its type and sub-type).
//
// A record is one JSON object, one line of an exported JSONL file. ReadObject
// checks it and finds its fields in one pass of a jsontext decoder; keys
// match exactly, as the API writes them, and a key given twice counts with
// its last value, as encoding/json reads it into a map (FuzzReadObject holds
// the reader to it). Unknown types, unknown actor kinds and unknown members
// pass through: their fields are empty, never an error.
//
// It is not a client of the API (source/chatgpt is) and it does no I/O; it
// imports only pipeline, jsontext, schema/severity (the one scale) and
// schema/internal/jsonread, the reader the vendor packages share.
package chatgpt
