package anthropic

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// DecodePage reads one page of GET /v1/compliance/activities: the envelope
// ({"data":[...],"has_more":..,"first_id":..,"last_id":..}) and each
// activity as an event of source, observed at observed. An activity the
// source cannot index (no id, no RFC 3339 created_at) fails the page.
func DecodePage(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, false)
}

// decodePage is DecodePage; with keepInvalid an activity it cannot index
// stays in the page, marked Invalid (see httpapi.InvalidEvent), for a
// source with on_invalid_event: dead_letter.
//
// The page is read and checked in one pass of one decoder (see
// httpapi.ReadList): each element of data is read by schema/anthropic
// where it lies, and its event's Raw is a slice of body (a page is read
// once; its activities are not copied).
func decodePage(body []byte, source string, observed time.Time, keepInvalid bool) (httpapi.Page, error) {
	var events []pipeline.Event
	lastOwnID := true // whether the last activity has an id of its own
	d := schema.NewDecoder(body)
	env, err := httpapi.ReadList(d, func(i int) error {
		start := d.InputOffset()
		f, err := schema.ReadNext(d, body)
		if errors.Is(err, schema.ErrNotObject) {
			return fmt.Errorf("data[%d] is %w", i, err)
		}
		if err != nil {
			return fmt.Errorf("not valid JSON: %w", err)
		}
		// The offset before an element is that of the separator before it.
		raw := bytes.TrimLeft(body[start:d.InputOffset()], ", \t\r\n")
		raw = raw[:len(raw):len(raw)]
		ev, err := f.Event(raw, source, observed)
		lastOwnID = true
		if err != nil && keepInvalid {
			lastOwnID = f.ID() != ""
			ev, err = httpapi.InvalidEvent(f.ID(), raw, source, observed, schema.Schema, err), nil
		}
		events = append(events, ev)
		return err
	})
	if err != nil {
		return httpapi.Page{}, err
	}
	return httpapi.ListPage(events, env, lastOwnID)
}
