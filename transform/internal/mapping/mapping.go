// Package mapping holds what the transforms that map events to another
// schema (ecs, ocsf) do alike: map a batch in place, and read what every
// mapping starts from (the event's type and time, whether it is a request
// log and whether it failed).
package mapping

import (
	"fmt"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
)

// Func maps an event of schema: raw is its JSON, in the same object decoded
// (it becomes part of the result and must not be used afterwards).
type Func func(raw []byte, in map[string]any, schema string) map[string]any

// Batch maps every event of b in place with f into schema to (see Event).
// An event that is not a JSON object fails the batch permanently.
func Batch(b pipeline.Batch, to string, f Func) (pipeline.Batch, error) {
	for i := range b.Events {
		if err := Event(&b.Events[i], to, f); err != nil {
			return b, pipeline.Permanent(fmt.Errorf("%s: event %s: %w", to, b.Events[i].ID, err))
		}
	}
	return b, nil
}

// Event maps e in place with f and sets its schema to to. An event already
// in schema to is left alone, and so is an event auditrelay made itself
// (schema auditrelay.*: a detect alert), which is no vendor's to map.
func Event(e *pipeline.Event, to string, f Func) error {
	if e.Schema == to || strings.HasPrefix(e.Schema, "auditrelay.") {
		return nil
	}
	in, err := e.Object()
	if err == nil {
		// schema/openai reads the bytes: bring them up to date with what an
		// earlier transform changed in the decoded object.
		err = e.Finalize()
	}
	if err != nil {
		return err
	}
	e.SetObject(f(e.Raw, in, e.Schema))
	e.Schema = to
	return nil
}

// Head is what every mapping reads first of an event.
type Head struct {
	Type       string        // an audit log's type, a request log's event
	Time       int64         // effective_at, a request log's created_at (Unix seconds)
	Fields     openai.Fields // what schema/openai reads: actor, project, payload, target
	RequestLog bool          // of a request-log schema, or looking like a request log
	Failed     bool          // a type ending in .failed, or a request log that says it failed
}

// Read returns the head of an event of schema: raw is its JSON, in the same
// object decoded.
func Read(raw []byte, in map[string]any, schema string) Head {
	h := Head{Type: decoded.Str(in, "type"), Time: decoded.Num(in, "effective_at")}
	h.Fields = openai.Read(raw, h.Type)
	h.RequestLog = openai.IsRequestLog(schema) || h.Fields.LooksLikeRequestLog()
	h.Failed = strings.HasSuffix(h.Type, ".failed")
	if h.RequestLog {
		h.Type, h.Time, h.Failed = decoded.Str(in, "event"), decoded.Num(in, "created_at"), h.Fields.Failed()
	}
	return h
}

// HasPrefix reports whether s begins with any of ps.
func HasPrefix(s string, ps ...string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
