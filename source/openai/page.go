package openai

import (
	"errors"
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// visitFunc takes one element of data: what it says, valid during the call
// only, and its bytes, a slice of the page (a page is read once; its events
// are not copied).
type visitFunc func(f *schema.Fields, raw []byte) error

// DecodeList parses and checks an Admin API list page in one pass (see
// httpapi.ReadList), its object "list", handing each element of data to
// visit, in order; an element that is not an object fails the page.
func DecodeList(body []byte, visit visitFunc) (*httpapi.ListEnvelope, error) {
	d := schema.NewDecoder(body)
	// One Fields for the page: visit gets a pointer, and a Fields (well
	// over a kilobyte) per event would be a heap allocation each.
	var f schema.Fields
	env, err := httpapi.ReadList(d, func(i int) error {
		var raw []byte
		var err error
		f, raw, err = schema.ReadNext(d, body, "")
		if errors.Is(err, schema.ErrNotObject) {
			return fmt.Errorf("data[%d] is %w", i, err)
		}
		if err != nil {
			return fmt.Errorf("not valid JSON: %w", err)
		}
		return visit(&f, raw)
	})
	if err != nil {
		return nil, err
	}
	if env.Object != "list" {
		return nil, fmt.Errorf("object is %q, want \"list\"", env.Object)
	}
	return env, nil
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
// marked Invalid (see httpapi.InvalidEvent).
func decodePage(body []byte, source string, observed time.Time,
	build func(f *schema.Fields, raw []byte, source string, observed time.Time) (pipeline.Event, error), keepInvalid bool) (httpapi.Page, error) {
	var events []pipeline.Event
	lastOwnID := true // whether the last event has an id of its own
	env, err := DecodeList(body, func(f *schema.Fields, raw []byte) error {
		ev, err := build(f, raw, source, observed)
		lastOwnID = true
		if err != nil && keepInvalid {
			lastOwnID = f.ID() != ""
			ev, err = httpapi.InvalidEvent(f.ID(), raw, source, observed, "", err), nil
		}
		events = append(events, ev)
		return err
	})
	if err != nil {
		return httpapi.Page{}, err
	}
	return httpapi.ListPage(events, env, lastOwnID)
}
