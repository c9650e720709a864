package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// ListEnvelope is the list object every Admin API list endpoint returns.
type ListEnvelope struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	FirstID *string           `json:"first_id"`
	LastID  *string           `json:"last_id"`
	HasMore *bool             `json:"has_more"`
}

// DecodeList parses and checks a list page: object "list", data an array,
// has_more present. encoding/json also refuses trailing data after the
// object.
func DecodeList(body []byte) (*ListEnvelope, error) {
	env := new(ListEnvelope)
	if err := json.Unmarshal(body, env); err != nil {
		return nil, err
	}
	if env.Object != "list" {
		return nil, fmt.Errorf("object is %q, want \"list\"", env.Object)
	}
	if env.Data == nil {
		return nil, errors.New("data is missing or not an array")
	}
	if env.HasMore == nil {
		return nil, errors.New("has_more is missing")
	}
	return env, nil
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
