package openai

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// ListEnvelope is the list object every Admin API list endpoint returns,
// whose data are events; the events go to DecodeList's visit.
type ListEnvelope struct {
	Object  string
	Events  int // the elements of data
	FirstID *string
	LastID  *string
	HasMore *bool
}

// visitFunc takes one element of data: what it says and its bytes, a slice
// of the page (a page is read once; its events are not copied).
type visitFunc func(f *schema.Fields, raw []byte) error

// DecodeList parses and checks a list page in one pass: one JSON object,
// object "list", data an array of objects, has_more a boolean. It hands
// each element of the last data array to visit, in order; an error of
// visit stops it. Keys match exactly, as the API writes them; a key given
// twice counts with its last value, as encoding/json reads it (visit may
// then see the elements of an earlier data array too).
func DecodeList(body []byte, visit visitFunc) (*ListEnvelope, error) {
	d := schema.NewDecoder(body)
	if d.PeekKind() != '{' {
		if _, err := d.ReadValue(); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		return nil, errors.New("not a JSON object")
	}
	env, err := readList(d, body, visit)
	if err != nil {
		return nil, err
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, errors.New("not valid JSON: more after the object")
	}
	switch {
	case env.Object != "list":
		return nil, fmt.Errorf("object is %q, want \"list\"", env.Object)
	case env.Events < 0:
		return nil, errors.New("data is missing or not an array")
	case env.HasMore == nil:
		return nil, errors.New("has_more is missing or not a boolean")
	}
	return env, nil
}

// readList reads the members of the list object that comes next in d.
func readList(d *jsontext.Decoder, body []byte, visit visitFunc) (*ListEnvelope, error) {
	env := &ListEnvelope{Events: -1}
	d.ReadToken() // the '{' peeked at
	for d.PeekKind() == '"' {
		name, err := d.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		if name, err = jsontext.AppendUnquote(nil, name); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		if string(name) == "data" {
			env.Events = -1
			if d.PeekKind() != '[' {
				err = d.SkipValue()
			} else {
				env.Events, err = readData(d, body, visit)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		v, err := d.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		switch string(name) {
		case "object":
			env.Object, _ = stringOf(v)
		case "first_id":
			env.FirstID = stringPtr(v)
		case "last_id":
			env.LastID = stringPtr(v)
		case "has_more":
			env.HasMore = nil
			if k := v.Kind(); k == 't' || k == 'f' {
				more := k == 't'
				env.HasMore = &more
			}
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return env, nil
}

// readData reads the data array that comes next in d, handing each
// element, which must be an event object, to visit; it returns how many
// there were.
func readData(d *jsontext.Decoder, body []byte, visit visitFunc) (int, error) {
	d.ReadToken() // the '[' peeked at
	n := 0
	for ; d.PeekKind() != ']'; n++ {
		f, raw, err := schema.ReadNext(d, body, "")
		if errors.Is(err, schema.ErrNotObject) {
			return 0, fmt.Errorf("data[%d] is %w", n, err)
		}
		if err != nil {
			return 0, fmt.Errorf("not valid JSON: %w", err)
		}
		if err := visit(&f, raw); err != nil {
			return 0, err
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return 0, fmt.Errorf("not valid JSON: %w", err)
	}
	return n, nil
}

// stringOf returns the value of a JSON string.
func stringOf(v jsontext.Value) (string, bool) {
	if v.Kind() != '"' {
		return "", false
	}
	s, err := jsontext.AppendUnquote(nil, v)
	return string(s), err == nil
}

func stringPtr(v jsontext.Value) *string {
	if s, ok := stringOf(v); ok {
		return &s
	}
	return nil
}

// DecodeAuditLogs reads one page of GET /organization/audit_logs.
func DecodeAuditLogs(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, (*schema.Fields).AuditLog, false)
}

// decodeAuditLogsKeepingInvalid is DecodeAuditLogs for a source with
// on_invalid_event: dead_letter: an event it cannot index stays in the
// page, marked Invalid.
func decodeAuditLogsKeepingInvalid(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, (*schema.Fields).AuditLog, true)
}

// DecodeRequestLogs reads one page of GET /organization_logs.
func DecodeRequestLogs(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, (*schema.Fields).RequestLog, false)
}

// decodePage reads one list page: the list envelope, each event's routing
// fields (build), and the cursor of the next page (the last event's id,
// which last_id must be). The page is read and checked in one pass. An
// event build refuses fails the page, or, with keepInvalid, stays in it
// marked Invalid (see invalidEvent).
func decodePage(body []byte, source string, observed time.Time,
	build func(f *schema.Fields, raw []byte, source string, observed time.Time) (pipeline.Event, error), keepInvalid bool) (httpapi.Page, error) {
	var events []pipeline.Event
	lastOwnID := true // whether the last event has an id of its own
	env, err := DecodeList(body, func(f *schema.Fields, raw []byte) error {
		ev, err := build(f, raw, source, observed)
		lastOwnID = true
		if err != nil && keepInvalid {
			lastOwnID = f.ID() != ""
			ev, err = invalidEvent(f.ID(), raw, source, observed, err), nil
		}
		events = append(events, ev)
		return err
	})
	if err != nil {
		return httpapi.Page{}, err
	}
	// A data array given twice: the last one counts.
	page := httpapi.Page{Events: events[len(events)-env.Events:], HasMore: *env.HasMore}
	if n := len(page.Events); n > 0 {
		page.Next = page.Events[n-1].ID
		if !lastOwnID && env.LastID != nil {
			page.Next = *env.LastID // an event without an id of its own: the API's cursor
		}
		if page.HasMore && env.LastID != nil && *env.LastID != page.Next {
			return httpapi.Page{}, fmt.Errorf("last_id %q is not the id of the last event", *env.LastID)
		}
	}
	return page, nil
}

// invalidEvent is an event the source cannot index, kept for the
// dead-letter sink: its own id when it has one, else one made of its bytes
// (the same at every re-read, so that the cursor's seen ids take it once).
func invalidEvent(id string, raw []byte, source string, observed time.Time, why error) pipeline.Event {
	if id == "" {
		sum := sha256.Sum256(raw)
		id = "invalid-" + hex.EncodeToString(sum[:8])
	}
	return pipeline.Event{ID: id, Raw: raw, Source: source, ObservedAt: observed, Invalid: why.Error()}
}
