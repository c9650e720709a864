package openai

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/tidwall/gjson"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// ListEnvelope is the list object every Admin API list endpoint returns.
type ListEnvelope struct {
	Object  string
	Data    [][]byte
	FirstID *string
	LastID  *string
	HasMore *bool
}

// DecodeList parses and checks a list page: one JSON object, object
// "list", data an array, has_more present. The elements of Data are
// slices of body (a page is read once; its events are not copied), so
// body must not change while they are in use. Keys match exactly, as the
// API writes them.
func DecodeList(body []byte) (*ListEnvelope, error) {
	if !gjson.ValidBytes(body) {
		return nil, errors.New("not valid JSON")
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); t[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	// One walk of the top level; a key given twice counts with its last
	// value, as encoding/json reads it.
	var data, more gjson.Result
	env := &ListEnvelope{}
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "object":
			env.Object = stringOf(v)
		case "data":
			data = v
		case "first_id":
			env.FirstID = stringPtr(v)
		case "last_id":
			env.LastID = stringPtr(v)
		case "has_more":
			more = v
		}
		return true
	})
	if env.Object != "list" {
		return nil, fmt.Errorf("object is %q, want \"list\"", env.Object)
	}
	if !data.IsArray() {
		return nil, errors.New("data is missing or not an array")
	}
	if t := more.Type; t != gjson.True && t != gjson.False {
		return nil, errors.New("has_more is missing or not a boolean")
	}
	hasMore := more.Type == gjson.True
	env.HasMore = &hasMore
	env.Data = [][]byte{}
	data.ForEach(func(_, v gjson.Result) bool {
		raw := []byte(v.Raw) // a copy where gjson cannot say where the value lies
		if end := v.Index + len(v.Raw); v.Index > 0 && end <= len(body) && string(body[v.Index:end]) == v.Raw {
			raw = body[v.Index:end:end]
		}
		env.Data = append(env.Data, raw)
		return true
	})
	return env, nil
}

func stringOf(r gjson.Result) string {
	if r.Type == gjson.String {
		return r.Str
	}
	return ""
}

func stringPtr(r gjson.Result) *string {
	if r.Type != gjson.String {
		return nil
	}
	return &r.Str
}

// DecodeAuditLogs reads one page of GET /organization/audit_logs.
func DecodeAuditLogs(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, schema.Fields.AuditLog)
}

// DecodeRequestLogs reads one page of GET /organization_logs.
func DecodeRequestLogs(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, schema.Fields.RequestLog)
}

// decodePage reads one list page: the list envelope, each event's routing
// fields (build), and the cursor of the next page (the last event's id,
// which last_id must be). The page is checked whole once: its events are
// not checked again one by one.
func decodePage(body []byte, source string, observed time.Time,
	build func(f schema.Fields, raw []byte, source string, observed time.Time) (pipeline.Event, error)) (httpapi.Page, error) {
	env, err := DecodeList(body)
	if err != nil {
		return httpapi.Page{}, err
	}
	page := httpapi.Page{Events: make([]pipeline.Event, 0, len(env.Data)), HasMore: *env.HasMore}
	for i, raw := range env.Data {
		if raw[0] != '{' { // valid JSON, as a slice of the page: no white space around it
			return httpapi.Page{}, fmt.Errorf("data[%d] is not a JSON object", i)
		}
		ev, err := build(schema.Read(raw, ""), raw, source, observed)
		if err != nil {
			return httpapi.Page{}, err
		}
		page.Events = append(page.Events, ev)
	}
	if n := len(page.Events); n > 0 {
		page.Next = page.Events[n-1].ID
		if page.HasMore && env.LastID != nil && *env.LastID != page.Next {
			return httpapi.Page{}, fmt.Errorf("last_id %q is not the id of the last event", *env.LastID)
		}
	}
	return page, nil
}
