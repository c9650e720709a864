package openai

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

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
func (f *Fields) AuditLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
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
func (f *Fields) RequestLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
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
	if f.effectiveAt != nil {
		ev, err := f.build(raw, source, observed, SchemaAuditLog, f.typ, f.effectiveAt)
		if err == nil || f.createdAt == nil {
			return ev, err
		}
		auditErr = err
	}
	if f.createdAt != nil {
		ev, err := f.build(raw, source, observed, SchemaRequestLog, f.event, f.createdAt)
		if err != nil && auditErr != nil {
			return ev, auditErr
		}
		return ev, err
	}
	return pipeline.Event{}, errors.New("neither an audit log (id, type, effective_at) nor a request log (id, event, created_at)")
}

// build builds the pipeline event of a log of schema whose type and time
// are typ and at.
func (f *Fields) build(raw []byte, source string, observed time.Time, schema string, typ, at text) (pipeline.Event, error) {
	what, typeKey, timeKey := "audit log", "type", "effective_at"
	if schema == SchemaRequestLog {
		what, typeKey, timeKey = "organization log", "event", "created_at"
	}
	id, kind := f.id.Str(), typ.Str()
	t, isNum := at.Num()
	switch {
	case id == "":
		return pipeline.Event{}, fmt.Errorf("%s without id", what)
	case kind == "":
		return pipeline.Event{}, fmt.Errorf("%s %s without %s", what, id, typeKey)
	case !isNum || t < 0 || t > maxTime:
		return pipeline.Event{}, fmt.Errorf("%s %s without a valid %s", what, id, timeKey)
	}
	a := f.Actor()
	return pipeline.Event{
		ID: id, Type: kind, Time: time.Unix(int64(t), 0).UTC(),
		ObservedAt: observed, Source: source, Schema: schema, Raw: raw, ProjectID: f.ProjectID(),
		ActorID: a.ID(), ActorEmail: a.Email,
	}, nil
}

// ID is the event's id, "" when it has none that is a string.
func (f *Fields) ID() string { return f.id.Str() }

// ProjectID is the project the event belongs to: project.id, or a request
// log's project_id.
func (f *Fields) ProjectID() string {
	if id := f.project.id.Str(); id != "" {
		return id
	}
	return f.projectID.Str()
}

// Project is the project the event names: its id (as ProjectID) and, when
// the event carries it, its name.
func (f *Fields) Project() (id, name string) {
	return f.ProjectID(), f.project.name.Str()
}

// PayloadID is the id of an audit log's payload (the member named like the
// event type).
func (f *Fields) PayloadID() string { return f.payload.id.Str() }

// PayloadError is the error an audit log's payload reports (failed
// sign-ins and the like): error_code and error_message, "" when absent.
func (f *Fields) PayloadError() (code, message string) {
	return f.payload.errorCode.Str(), f.payload.errorMessage.Str()
}

// Target is a request log's target: its type and id.
func (f *Fields) Target() (kind, id string) {
	return f.target.kind.Str(), f.target.id.Str()
}

// LooksLikeRequestLog reports whether the object has a request log's event
// key and no audit log's type (for events whose schema was not recorded).
func (f *Fields) LooksLikeRequestLog() bool { return f.typ == nil && f.event != nil }

// Failed reports whether the event says it failed: a request log's
// "success": false. (Audit logs name failures in their type: login.failed.)
func (f *Fields) Failed() bool { return string(f.success) == "false" }

// IsRequestLog reports whether an event of schema is a request log.
func IsRequestLog(schema string) bool { return schema == SchemaRequestLog }

// looksLikeEmail reports whether s is shaped like an e-mail address.
func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n") && strings.Contains(s[at:], ".")
}
