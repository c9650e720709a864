package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/openai"
)

type fieldKind uint8

const (
	fType fieldKind = iota + 1
	fSubtype
	fSchema
	fSource
	fActor
	fActorEmail
	fIP
	fCountry
	fPayload // the vendor's payload: an OpenAI audit log's obj[type], another's whole record
	fEvent   // the whole event
)

var fieldNames = map[string]fieldKind{
	"type": fType, "subtype": fSubtype, "schema": fSchema, "source": fSource, "actor": fActor,
	"actor_email": fActorEmail, "ip": fIP, "country": fCountry,
}

// field is a parsed field name.
type field struct {
	kind fieldKind
	path []string // of payload and event
}

func parseField(s string) (field, error) {
	if k, ok := fieldNames[s]; ok {
		return field{kind: k}, nil
	}
	for prefix, k := range map[string]fieldKind{"payload.": fPayload, "event.": fEvent} {
		if rest, ok := strings.CutPrefix(s, prefix); ok && rest != "" && !strings.Contains(rest, "..") {
			return field{kind: k, path: strings.Split(rest, ".")}, nil
		}
	}
	return field{}, fmt.Errorf("unknown field %q: type, subtype, schema, source, actor, actor_email, ip, country, payload.PATH or event.PATH", s)
}

func validField(s string) error {
	_, err := parseField(s)
	return err
}

// reading answers the fields of one event, reading its bytes once and
// only when a rule asks: the vendor's own package reads actor, address
// and country (the one reading of each vendor's shape).
type reading struct {
	ev *pipeline.Event

	read                   bool
	actor, email, ip, ctry string
	subtype                string
	obj                    map[string]any
	objErr                 error
}

func (r *reading) vendor() {
	if r.read {
		return
	}
	r.read = true
	switch r.ev.Schema {
	case openai.SchemaAuditLog, openai.SchemaRequestLog:
		f := openai.Read(r.ev.Raw, "")
		if r.ev.ActorID == "" { // else the event's index has it (values)
			a := f.Actor()
			r.actor, r.email = a.ID(), a.Email
		}
		r.ip, r.ctry = f.Address()
	case chatgpt.Schema:
		f, err := chatgpt.ReadObject(r.ev.Raw)
		if err != nil {
			break
		}
		a, c := f.Actor(), f.Client()
		r.actor, r.email, r.ip, r.ctry, r.subtype = a.ID(), a.AccountEmail(), c.IP, c.Country, f.SubType()
	case anthropic.Schema:
		f, err := anthropic.ReadObject(r.ev.Raw)
		if err != nil {
			break
		}
		a := f.Actor()
		r.actor, r.email, r.ip = a.ID(), a.Email, a.IP
	}
	if r.actor == "" {
		r.actor = r.ev.ActorID
	}
	if r.email == "" {
		r.email = r.ev.ActorEmail
	}
}

// one is the first value of f, "" when it has none.
func (r *reading) one(f field) string {
	if vs := r.values(f); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// values are the values of f in the event: none when it is absent, several
// for an array.
func (r *reading) values(f field) []string {
	str := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	switch f.kind {
	case fType:
		return str(r.ev.Type)
	case fSchema:
		return str(r.ev.Schema)
	case fSource:
		return str(r.ev.Source)
	case fActor:
		// The source indexed it with the vendor's package already (and
		// redact keeps it in step with the bytes).
		if r.ev.ActorID != "" {
			return str(r.ev.ActorID)
		}
		r.vendor()
		return str(r.actor)
	case fActorEmail:
		if r.ev.ActorEmail != "" {
			return str(r.ev.ActorEmail)
		}
		r.vendor()
		if r.email == "" {
			return str(r.actor)
		}
		return str(r.email)
	case fIP:
		r.vendor()
		return str(r.ip)
	case fCountry:
		r.vendor()
		return str(r.ctry)
	case fSubtype:
		r.vendor()
		return str(r.subtype)
	case fPayload, fEvent:
		path := f.path
		if f.kind == fPayload && r.ev.Schema == openai.SchemaAuditLog {
			path = append([]string{r.ev.Type}, path...) // the payload is the member named like the type
		}
		if r.ev.RawCurrent() {
			return pathValues(r.ev.Raw, path, nil)
		}
		if r.obj == nil && r.objErr == nil {
			r.obj, r.objErr = r.ev.Object()
		}
		if r.objErr != nil {
			return nil
		}
		return walk(r.obj, path, nil)
	}
	return nil
}

// walk appends the scalar values at path under v; an array on the way
// gives the values of each of its elements.
func walk(v any, path []string, out []string) []string {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			out = walk(e, path, out)
		}
		return out
	}
	if len(path) == 0 {
		switch x := v.(type) {
		case string:
			return append(out, x)
		case json.Number:
			return append(out, x.String())
		case bool:
			if x {
				return append(out, "true")
			}
			return append(out, "false")
		}
		return out
	}
	m, ok := v.(map[string]any)
	if !ok {
		return out
	}
	return walk(m[path[0]], path[1:], out)
}
