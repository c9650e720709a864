package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
)

// ListEnvelope is what a page of a list endpoint says besides its
// elements: {"object":"list","data":[...],"first_id":..,"last_id":..,
// "has_more":..}, the shape of OpenAI's Admin API lists and of
// Anthropic's activity feed (which has no object member).
type ListEnvelope struct {
	Object   string // "" when absent
	Elements int    // the elements of the last data array
	FirstID  *string
	LastID   *string
	HasMore  *bool
}

// ReadList reads the list page that d (a decoder of the whole body)
// holds, in one pass: one JSON object, its data an array, has_more a
// boolean, nothing after it. For each element of each data array it calls
// elem with the element's index and d positioned at it: elem reads the
// element whole and hands it on, and its error stops the read. A key given
// twice counts with its last value, as encoding/json reads it (elem then
// sees the elements of an earlier data array too; Elements counts the
// last). Keys match exactly, as the APIs write them.
func ReadList(d *jsontext.Decoder, elem func(i int) error) (*ListEnvelope, error) {
	if d.PeekKind() != '{' {
		if _, err := d.ReadValue(); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		return nil, errors.New("not a JSON object")
	}
	env := &ListEnvelope{Elements: -1}
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
			env.Elements = -1
			if d.PeekKind() != '[' {
				err = d.SkipValue()
			} else {
				env.Elements, err = readElements(d, elem)
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
			env.Object = ""
			if s := stringPtr(v); s != nil {
				env.Object = *s
			}
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
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, errors.New("not valid JSON: more after the object")
	}
	switch {
	case env.Elements < 0:
		return nil, errors.New("data is missing or not an array")
	case env.HasMore == nil:
		return nil, errors.New("has_more is missing or not a boolean")
	}
	return env, nil
}

// readElements reads the data array that comes next in d, each element by
// elem; it returns how many there were.
func readElements(d *jsontext.Decoder, elem func(i int) error) (int, error) {
	d.ReadToken() // the '[' peeked at
	n := 0
	for ; d.PeekKind() != ']'; n++ {
		if err := elem(n); err != nil {
			return 0, err
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return 0, fmt.Errorf("not valid JSON: %w", err)
	}
	return n, nil
}

// stringPtr is the value of a JSON string, nil for anything else (null).
func stringPtr(v jsontext.Value) *string {
	if v.Kind() != '"' {
		return nil
	}
	s, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return nil
	}
	str := string(s)
	return &str
}

// ListPage is the page of a list whose elements became events, in order,
// those of every data array (env counts the last). lastOwnID says whether
// the last event has an id of its own (an event the source could not
// index gets a made-up one): the next page begins after it, and last_id
// must name it, or after last_id when it has none.
func ListPage(events []pipeline.Event, env *ListEnvelope, lastOwnID bool) (Page, error) {
	page := Page{Events: events[len(events)-env.Elements:], HasMore: *env.HasMore}
	if n := len(page.Events); n > 0 {
		page.Next = page.Events[n-1].ID
		if !lastOwnID && env.LastID != nil {
			page.Next = *env.LastID // an event without an id of its own: the API's cursor
		}
		if page.HasMore && env.LastID != nil && *env.LastID != page.Next {
			return Page{}, fmt.Errorf("last_id %q is not the id of the last event", *env.LastID)
		}
	}
	return page, nil
}

// InvalidEvent is an element of a page the source cannot index, kept for
// the dead-letter sink (on_invalid_event: dead_letter): its own id when it
// has one, else one made of its bytes (the same at every re-read, so that
// the cursor's seen ids take it once).
func InvalidEvent(id string, raw []byte, source string, observed time.Time, schema string, why error) pipeline.Event {
	if id == "" {
		sum := sha256.Sum256(raw)
		id = "invalid-" + hex.EncodeToString(sum[:8])
	}
	return pipeline.Event{ID: id, Raw: raw, Source: source, ObservedAt: observed, Schema: schema, Invalid: why.Error()}
}
