package anthropic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// Envelope is what a page of the activity feed says besides its
// activities.
type Envelope struct {
	Activities int // the elements of data; -1 when data is no array
	FirstID    *string
	LastID     *string
	HasMore    *bool
}

// DecodePage reads one page of GET /v1/compliance/activities: the envelope
// ({"data":[...],"has_more":..,"first_id":..,"last_id":..}) and each
// activity as an event of source, observed at observed. An activity the
// source cannot index (no id, no RFC 3339 created_at) fails the page.
func DecodePage(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, false)
}

// decodePage is DecodePage; with keepInvalid an activity it cannot index
// stays in the page, marked Invalid (see invalidEvent), for a source with
// on_invalid_event: dead_letter.
//
// The page is read and checked in one pass of one decoder: each element of
// data is read by schema/anthropic where it lies, and its event's Raw is a
// slice of body (a page is read once; its activities are not copied).
func decodePage(body []byte, source string, observed time.Time, keepInvalid bool) (httpapi.Page, error) {
	var events []pipeline.Event
	lastOwnID := true // whether the last activity has an id of its own
	env, err := readEnvelope(body, func(f *schema.Fields, raw []byte) error {
		ev, err := f.Event(raw, source, observed)
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
	page := httpapi.Page{Events: events[len(events)-env.Activities:], HasMore: *env.HasMore}
	if n := len(page.Events); n > 0 {
		page.Next = page.Events[n-1].ID
		if !lastOwnID && env.LastID != nil {
			page.Next = *env.LastID // an activity without an id of its own: the API's cursor
		}
		if page.HasMore && env.LastID != nil && *env.LastID != page.Next {
			return httpapi.Page{}, fmt.Errorf("last_id %q is not the id of the last activity", *env.LastID)
		}
	}
	return page, nil
}

// decoderOptions read what encoding/json reads: repeated names (the last
// counts) and strings that are not valid UTF-8.
var decoderOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// readEnvelope checks that body is one JSON object whose data is an array
// of objects and whose has_more is a boolean, handing each element of the
// last data array to visit, in order, with its bytes; an error of visit
// stops it. Keys match exactly, as the API writes them.
func readEnvelope(body []byte, visit func(f *schema.Fields, raw []byte) error) (*Envelope, error) {
	d := jsontext.NewDecoder(bytes.NewReader(body), decoderOptions...)
	if d.PeekKind() != '{' {
		if _, err := d.ReadValue(); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		return nil, errors.New("not a JSON object")
	}
	env := &Envelope{Activities: -1}
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
			env.Activities = -1
			if d.PeekKind() != '[' {
				err = d.SkipValue()
			} else {
				env.Activities, err = readData(d, body, visit)
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
	case env.Activities < 0:
		return nil, errors.New("data is missing or not an array")
	case env.HasMore == nil:
		return nil, errors.New("has_more is missing or not a boolean")
	}
	return env, nil
}

// readData reads the data array that comes next in d, handing each
// element, which must be an activity object, to visit; it returns how many
// there were.
func readData(d *jsontext.Decoder, body []byte, visit func(f *schema.Fields, raw []byte) error) (int, error) {
	d.ReadToken() // the '[' peeked at
	n := 0
	for ; d.PeekKind() != ']'; n++ {
		start := d.InputOffset()
		f, err := schema.ReadNext(d, body)
		if errors.Is(err, schema.ErrNotObject) {
			return 0, fmt.Errorf("data[%d] is %w", n, err)
		}
		if err != nil {
			return 0, fmt.Errorf("not valid JSON: %w", err)
		}
		// The offset before an element is that of the separator before it.
		raw := bytes.TrimLeft(body[start:d.InputOffset()], ", \t\r\n")
		if err := visit(&f, raw[:len(raw):len(raw)]); err != nil {
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

// invalidEvent is an activity the source cannot index, kept for the
// dead-letter sink: its own id when it has one, else one made of its bytes
// (the same at every re-read, so that the cursor's seen ids take it once).
func invalidEvent(id string, raw []byte, source string, observed time.Time, why error) pipeline.Event {
	if id == "" {
		sum := sha256.Sum256(raw)
		id = "invalid-" + hex.EncodeToString(sum[:8])
	}
	return pipeline.Event{ID: id, Raw: raw, Source: source, ObservedAt: observed, Schema: schema.Schema, Invalid: why.Error()}
}
