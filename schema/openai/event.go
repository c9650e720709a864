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

// ParseAuditLog builds a pipeline event from one audit log object: ID from
// id, Type from type, Time from effective_at, the actor's id and e-mail,
// the project. It requires id, type and effective_at and accepts anything
// else, unknown types and fields included; Raw is raw, untouched.
func ParseAuditLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	r, err := read(raw, "id", "type", "effective_at", "project.id")
	if err != nil {
		return pipeline.Event{}, err
	}
	id, typ, at, project := r[0], r[1], r[2], r[3]
	if err := required(id, typ, at, "audit log", "type", "effective_at"); err != nil {
		return pipeline.Event{}, err
	}
	a := ReadActor(raw)
	return pipeline.Event{
		ID: id.Str, Type: typ.Str, Time: time.Unix(int64(at.Num), 0).UTC(), ObservedAt: observed, Source: source,
		Schema: SchemaAuditLog, Raw: raw, ProjectID: stringOf(project), ActorID: a.ID(), ActorEmail: a.Email,
	}, nil
}

// ParseRequestLog builds a pipeline event from one request-log object: ID
// from id, Type from event, Time from created_at, the actor's id and
// e-mail (its name, when that is an address), the project (project.id or
// project_id). It requires id, event and created_at; Raw is raw, untouched.
func ParseRequestLog(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	r, err := read(raw, "id", "event", "created_at")
	if err != nil {
		return pipeline.Event{}, err
	}
	id, typ, at := r[0], r[1], r[2]
	if err := required(id, typ, at, "organization log", "event", "created_at"); err != nil {
		return pipeline.Event{}, err
	}
	a := ReadActor(raw)
	return pipeline.Event{
		ID: id.Str, Type: typ.Str, Time: time.Unix(int64(at.Num), 0).UTC(), ObservedAt: observed, Source: source,
		Schema: SchemaRequestLog, Raw: raw, ProjectID: ProjectID(raw), ActorID: a.ID(), ActorEmail: a.Email,
	}, nil
}

// Parse reads an event of either log, telling them apart by their time
// keys: effective_at (an audit log) or created_at (a request log). An
// object with both is tried as an audit log first.
func Parse(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	keys, err := read(raw, "effective_at", "created_at")
	if err != nil {
		return pipeline.Event{}, err
	}
	var auditErr error
	if keys[0].Exists() {
		ev, err := ParseAuditLog(raw, source, observed)
		if err == nil || !keys[1].Exists() {
			return ev, err
		}
		auditErr = err
	}
	if keys[1].Exists() {
		ev, err := ParseRequestLog(raw, source, observed)
		if err != nil && auditErr != nil {
			return ev, auditErr
		}
		return ev, err
	}
	return pipeline.Event{}, errors.New("neither an audit log (id, type, effective_at) nor a request log (id, event, created_at)")
}

// read checks that raw is one JSON object and returns the values at paths.
func read(raw []byte, paths ...string) ([]gjson.Result, error) {
	if !gjson.ValidBytes(raw) {
		return nil, errors.New("not valid JSON")
	}
	if v := gjson.ParseBytes(raw); !v.IsObject() {
		return nil, errors.New("not a JSON object")
	}
	return gjson.GetManyBytes(raw, paths...), nil
}

// required checks the id, type and time of an event.
func required(id, typ, at gjson.Result, what, typeKey, timeKey string) error {
	switch {
	case id.Type != gjson.String || id.Str == "":
		return fmt.Errorf("%s without id", what)
	case typ.Type != gjson.String || typ.Str == "":
		return fmt.Errorf("%s %s without %s", what, id.Str, typeKey)
	case at.Type != gjson.Number || at.Num < 0 || at.Num > maxTime:
		return fmt.Errorf("%s %s without a valid %s", what, id.Str, timeKey)
	}
	return nil
}

// stringOf returns a string value, "" for anything else.
func stringOf(r gjson.Result) string {
	if r.Type == gjson.String {
		return r.Str
	}
	return ""
}

// ProjectID returns the project an event belongs to: project.id, or a
// request log's project_id.
func ProjectID(raw []byte) string {
	r := gjson.GetManyBytes(raw, "project.id", "project_id")
	if id := stringOf(r[0]); id != "" {
		return id
	}
	return stringOf(r[1])
}

// Project returns the project an event names: its id (as ProjectID) and,
// when the event carries it, its name.
func Project(raw []byte) (id, name string) {
	return ProjectID(raw), stringOf(gjson.GetBytes(raw, "project.name"))
}

// PayloadError returns the error an audit log's payload reports (failed
// sign-ins and the like): error_code and error_message, "" when absent.
func PayloadError(raw []byte, typ string) (code, message string) {
	r := gjson.GetManyBytes(raw, gjson.Escape(typ)+".error_code", gjson.Escape(typ)+".error_message")
	return stringOf(r[0]), stringOf(r[1])
}

// ResourceID returns the id of what an event of type typ is about: an
// audit log's payload id, or a request log's target id.
func ResourceID(raw []byte, typ string) string {
	if id := PayloadID(raw, typ); id != "" {
		return id
	}
	_, id := Target(raw)
	return id
}

// IsRequestLog reports whether an event of schema is a request log.
func IsRequestLog(schema string) bool { return schema == SchemaRequestLog }

// looksLikeEmail reports whether s is shaped like an e-mail address.
func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n") && strings.Contains(s[at:], ".")
}

// PayloadID returns the id of an audit log's payload: the member named like
// the event type.
func PayloadID(raw []byte, typ string) string {
	return stringOf(gjson.GetBytes(raw, gjson.Escape(typ)+".id"))
}

// Target returns a request log's target: its type and id.
func Target(raw []byte) (kind, id string) {
	r := gjson.GetManyBytes(raw, "target.type", "target.id")
	return stringOf(r[0]), stringOf(r[1])
}
