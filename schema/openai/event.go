package openai

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/auditrelay/auditrelay/pipeline"
)

// The schemas of the two logs, as pipeline.Event.Schema names them.
const (
	SchemaAuditLog   = "openai.audit_log"
	SchemaRequestLog = "openai.organization_log"
)

// maxTime bounds the seconds of an event's time: beyond it the value is
// not a time of this world (and time.Unix would overflow further on).
const maxTime = math.MaxInt32 * 4

// Fields are the top-level members of one event the package reads, found
// in one pass over the object; its methods read them. A key given twice
// counts with its last value, as encoding/json reads it (and as every
// component that decodes the event sees it).
type Fields struct {
	id, typ, event, effectiveAt, createdAt gjson.Result
	actor, project, projectID, target      gjson.Result
	success, payload                       gjson.Result
}

// Read finds the fields of the event raw of type typ (the payload of an
// audit log is the member named like its type; "" skips it). raw must be
// valid JSON (as ReadObject or a decoder checked it); anything else reads
// as empty.
func Read(raw []byte, typ string) Fields {
	var f Fields
	keys := [...]struct {
		key string
		dst *gjson.Result
	}{
		{"id", &f.id}, {"type", &f.typ}, {"event", &f.event}, {"effective_at", &f.effectiveAt},
		{"created_at", &f.createdAt}, {"actor", &f.actor}, {"project", &f.project},
		{"project_id", &f.projectID}, {"target", &f.target}, {"success", &f.success},
	}
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		if typ != "" && k.Str == typ {
			f.payload = v
		}
		for _, m := range keys {
			if k.Str == m.key {
				*m.dst = v
			}
		}
		return true
	})
	return f
}

// ParseAuditLog builds a pipeline event from one audit log object: ID from
// id, Type from type, Time from effective_at, the actor's id and e-mail,
// the project. It requires id, type and effective_at and accepts anything
// else, unknown types and fields included; Raw is raw, untouched.
func ParseAuditLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	f, err := ReadObject(raw, "")
	if err != nil {
		return pipeline.Event{}, err
	}
	return f.AuditLog(raw, source, observed)
}

// AuditLog builds the pipeline event of the audit log raw, whose fields f
// are (as Read found them): for a decoder that checked raw already, such as
// one reading a page whole. ParseAuditLog says what it requires.
func (f Fields) AuditLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	return f.build(raw, source, observed, SchemaAuditLog, f.typ, f.effectiveAt)
}

// ParseRequestLog builds a pipeline event from one request-log object: ID
// from id, Type from event, Time from created_at, the actor's id and
// e-mail (its name, when that is an address), the project (project.id or
// project_id). It requires id, event and created_at; Raw is raw, untouched.
func ParseRequestLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	f, err := ReadObject(raw, "")
	if err != nil {
		return pipeline.Event{}, err
	}
	return f.RequestLog(raw, source, observed)
}

// RequestLog builds the pipeline event of the request log raw, whose fields
// f are, as AuditLog does for an audit log.
func (f Fields) RequestLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	return f.build(raw, source, observed, SchemaRequestLog, f.event, f.createdAt)
}

// Parse reads an event of either log, telling them apart by their time
// keys: effective_at (an audit log) or created_at (a request log). An
// object with both is tried as an audit log first.
func Parse(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	f, err := ReadObject(raw, "")
	if err != nil {
		return pipeline.Event{}, err
	}
	var auditErr error
	if f.effectiveAt.Exists() {
		ev, err := f.build(raw, source, observed, SchemaAuditLog, f.typ, f.effectiveAt)
		if err == nil || !f.createdAt.Exists() {
			return ev, err
		}
		auditErr = err
	}
	if f.createdAt.Exists() {
		ev, err := f.build(raw, source, observed, SchemaRequestLog, f.event, f.createdAt)
		if err != nil && auditErr != nil {
			return ev, auditErr
		}
		return ev, err
	}
	return pipeline.Event{}, errors.New("neither an audit log (id, type, effective_at) nor a request log (id, event, created_at)")
}

// ReadObject checks that raw is one JSON object, then reads it as Read
// does: for bytes no decoder has checked yet.
func ReadObject(raw []byte, typ string) (Fields, error) {
	if !gjson.ValidBytes(raw) {
		return Fields{}, errors.New("not valid JSON")
	}
	if !gjson.ParseBytes(raw).IsObject() {
		return Fields{}, errors.New("not a JSON object")
	}
	return Read(raw, typ), nil
}

// build builds the pipeline event of a log of schema whose type and time
// are typ and at.
func (f Fields) build(raw []byte, source string, observed time.Time, schema string, typ, at gjson.Result) (pipeline.Event, error) {
	what, typeKey, timeKey := "audit log", "type", "effective_at"
	if schema == SchemaRequestLog {
		what, typeKey, timeKey = "organization log", "event", "created_at"
	}
	switch {
	case f.id.Type != gjson.String || f.id.Str == "":
		return pipeline.Event{}, fmt.Errorf("%s without id", what)
	case typ.Type != gjson.String || typ.Str == "":
		return pipeline.Event{}, fmt.Errorf("%s %s without %s", what, f.id.Str, typeKey)
	case at.Type != gjson.Number || at.Num < 0 || at.Num > maxTime:
		return pipeline.Event{}, fmt.Errorf("%s %s without a valid %s", what, f.id.Str, timeKey)
	}
	a := f.Actor()
	// gjson's strings are cut from one copy of the whole event: cloned,
	// the event's fields do not keep that copy alive beside Raw.
	return pipeline.Event{
		ID: strings.Clone(f.id.Str), Type: strings.Clone(typ.Str), Time: time.Unix(int64(at.Num), 0).UTC(),
		ObservedAt: observed, Source: source, Schema: schema, Raw: raw, ProjectID: strings.Clone(f.ProjectID()),
		ActorID: strings.Clone(a.ID()), ActorEmail: strings.Clone(a.Email),
	}, nil
}

// members returns the members keys of the object r in one pass, the last
// one of a key given twice (as Read does); a missing member, or any member
// of a value that is not an object, is the zero Result.
func members(r gjson.Result, keys ...string) []gjson.Result {
	out := make([]gjson.Result, len(keys))
	if r.IsObject() {
		r.ForEach(func(k, v gjson.Result) bool {
			for i, key := range keys {
				if k.Str == key {
					out[i] = v
				}
			}
			return true
		})
	}
	return out
}

// get returns the member key of the object r (as members does).
func get(r gjson.Result, key string) gjson.Result { return members(r, key)[0] }

// texts returns the string members keys of the object r ("" for a
// member that is missing or not a string).
func texts(r gjson.Result, keys ...string) []string {
	out := make([]string, len(keys))
	for i, v := range members(r, keys...) {
		out[i] = stringOf(v)
	}
	return out
}

// stringOf returns a string value, "" for anything else.
func stringOf(r gjson.Result) string {
	if r.Type == gjson.String {
		return r.Str
	}
	return ""
}

// ProjectID is the project the event belongs to: project.id, or a request
// log's project_id.
func (f Fields) ProjectID() string {
	if id := stringOf(get(f.project, "id")); id != "" {
		return id
	}
	return stringOf(f.projectID)
}

// Project is the project the event names: its id (as ProjectID) and, when
// the event carries it, its name.
func (f Fields) Project() (id, name string) {
	return f.ProjectID(), stringOf(get(f.project, "name"))
}

// PayloadID is the id of an audit log's payload (the member named like the
// event type).
func (f Fields) PayloadID() string { return stringOf(get(f.payload, "id")) }

// PayloadError is the error an audit log's payload reports (failed
// sign-ins and the like): error_code and error_message, "" when absent.
func (f Fields) PayloadError() (code, message string) {
	e := texts(f.payload, "error_code", "error_message")
	return e[0], e[1]
}

// Target is a request log's target: its type and id.
func (f Fields) Target() (kind, id string) {
	t := texts(f.target, "type", "id")
	return t[0], t[1]
}

// LooksLikeRequestLog reports whether the object has a request log's event
// key and no audit log's type (for events whose schema was not recorded).
func (f Fields) LooksLikeRequestLog() bool { return !f.typ.Exists() && f.event.Exists() }

// Failed reports whether the event says it failed: a request log's
// "success": false. (Audit logs name failures in their type: login.failed.)
func (f Fields) Failed() bool { return f.success.Type == gjson.False }

// IsRequestLog reports whether an event of schema is a request log.
func IsRequestLog(schema string) bool { return schema == SchemaRequestLog }

// looksLikeEmail reports whether s is shaped like an e-mail address.
func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n") && strings.Contains(s[at:], ".")
}
