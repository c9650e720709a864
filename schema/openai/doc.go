// Package openai is what an event of OpenAI's two logs is, read once for
// every component: the platform audit log (GET /organization/audit_logs,
// schema "openai.audit_log") and the request log of the seed guide (GET
// /organization_logs, schema "openai.organization_log"). It answers the
// routing fields a source puts on a pipeline.Event, the actor, the project,
// the resource an event is about, and the severity of an event type (the
// one table of the project). Sources, transforms and sinks ask it instead
// of reading the shapes themselves.
//
// ReadObject checks an event and finds its fields (Fields) in one pass of
// a jsontext decoder, which ReadNext shares with a source reading a page
// of events; keys match exactly, as the API writes them, a key given twice
// counts with its last value (as encoding/json reads it into a map:
// FuzzParseEvents holds the parsers to it), and an unknown type or field
// passes through. It imports only pipeline, jsontext and
// schema/internal/jsonread (the reader the vendor packages share); it does
// no I/O.
package openai
