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
	r := gjson.GetManyBytes(body, "object", "data", "first_id", "last_id", "has_more")
	env := &ListEnvelope{Object: stringOf(r[0]), FirstID: stringPtr(r[2]), LastID: stringPtr(r[3])}
	if env.Object != "list" {
		return nil, fmt.Errorf("object is %q, want \"list\"", env.Object)
	}
	if !r[1].IsArray() {
		return nil, errors.New("data is missing or not an array")
	}
	if t := r[4].Type; t != gjson.True && t != gjson.False {
		return nil, errors.New("has_more is missing or not a boolean")
	}
	more := r[4].Type == gjson.True
	env.HasMore = &more
	env.Data = [][]byte{}
	r[1].ForEach(func(_, v gjson.Result) bool {
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
	return decodePage(body, source, observed, schema.ParseAuditLog)
}

// DecodeRequestLogs reads one page of GET /organization_logs.
func DecodeRequestLogs(body []byte, source string, observed time.Time) (httpapi.Page, error) {
	return decodePage(body, source, observed, schema.ParseRequestLog)
}

// decodePage reads one list page: the list envelope, each event's routing
// fields (parse), and the cursor of the next page (the last event's id,
// which last_id must be).
func decodePage(body []byte, source string, observed time.Time,
	parse func(raw []byte, source string, observed time.Time) (pipeline.Event, error)) (httpapi.Page, error) {
	env, err := DecodeList(body)
	if err != nil {
		return httpapi.Page{}, err
	}
	page := httpapi.Page{Events: make([]pipeline.Event, 0, len(env.Data)), HasMore: *env.HasMore}
	for _, raw := range env.Data {
		ev, err := parse(raw, source, observed)
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
