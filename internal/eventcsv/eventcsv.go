package eventcsv

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
)

// Derived columns filled from the pipeline event, not from a JSON path.
const (
	colTime       = "time"
	colActorID    = "actor_id"
	colActorEmail = "actor_email"
	colProjectID  = "project_id"
	colPayload    = "payload"
	colSubtype    = "subtype"
	colWorkspace  = "workspace_id"
	colRecord     = "record"
	colOrgID      = "organization_id"
)

// AuditLogColumns are the columns of schema "openai.audit_log". payload is
// the event's own object (the key named like its type) as JSON.
var AuditLogColumns = []string{
	"id", "type", "effective_at", colTime, colActorID, colActorEmail,
	"actor.type", "actor.session.ip_address", "actor.session.user_agent",
	"actor.session.ip_address_details.country", "actor.api_key.id", "actor.api_key.type",
	"project.id", "project.name", colPayload,
}

// OrganizationLogColumns are the columns of schema
// "openai.organization_log". Prompts, messages and response texts are left
// out on purpose.
var OrganizationLogColumns = []string{
	"id", "event", "created_at", colTime, "actor.type", "actor.id", "actor.name",
	"target.type", "target.id", "target.name", "success", colProjectID,
	"api_request.id", "api_request.model", "api_request.prompt_truncated", "api_request.response_body_truncated",
	"api_request.response.status", "api_request.response.usage.input_tokens",
	"api_request.response.usage.output_tokens", "api_request.response.usage.total_tokens",
	"api_request.error.type", "api_request.error.code", "api_request.error.message",
}

// ComplianceLogColumns are the columns of schema "chatgpt.compliance_log",
// a record of ChatGPT Enterprise's compliance logs of any event type.
// subtype tells records of one type apart (an audit action, a Codex event
// type, a message's author: schema/chatgpt's SubType); actor_id is the
// user, the API key's redacted id or the agent, actor_email the user or
// the person an agent acted for; workspace_id the principal. record is the
// whole record as JSON, for the members of each type. What people wrote
// (message.content.value, conversation.title, and inside record) is as the
// events hold it: in the CLI, its SHA-256 and length unless --keep-content.
var ComplianceLogColumns = []string{
	"event_id", "type", colSubtype, "timestamp", colTime, "actor.type", colActorID, colActorEmail, "actor.name",
	colWorkspace, "action", "action_result", "request_metadata.client_ip", "request_metadata.client_ip_details.country",
	"request_metadata.client_user_agent", "conversation.id", "conversation.title", "message.id", "message.content.value",
	"app_name", "client_id", colRecord,
}

// ActivityColumns are the columns of schema
// "anthropic.compliance_activity", an activity of Anthropic's Compliance
// API of any type. actor_id is the id that stands for the actor (the
// user, the key, the service account, the directory, the service, the
// federated subject or the device: schema/anthropic's Actor.ID), actor_email
// a user's, or the one an unauthenticated user typed; organization_id is
// empty for sign-ins, sign-outs and Compliance API calls. status_code is
// that of the call a compliance_api_accessed records. activity is the whole
// activity as JSON, for the members of each type: compliance_api_accessed's
// url and request_body are what its caller sent, which may hold a key.
var ActivityColumns = []string{
	"id", "type", "created_at", colTime, "actor.type", colActorID, colActorEmail, "actor.ip_address", "actor.user_agent",
	colOrgID, "organization_uuid", "status_code", "activity",
}

// GenericColumns are used for any other schema.
var GenericColumns = []string{"id", "type", colTime, colActorID, colActorEmail, colProjectID, "schema", "event"}

// Columns returns the columns of schema.
func Columns(schema string) []string {
	switch schema {
	case "openai.audit_log":
		return AuditLogColumns
	case "openai.organization_log":
		return OrganizationLogColumns
	case chatgpt.Schema:
		return ComplianceLogColumns
	case anthropic.Schema:
		return ActivityColumns
	}
	return GenericColumns
}

// Writer writes events of one schema as CSV. It is not safe for concurrent
// use.
type Writer struct {
	w    *csv.Writer
	cols []string
	row  []string
}

// NewWriter returns a writer of the columns of schema to w.
func NewWriter(w io.Writer, schema string) *Writer {
	cols := Columns(schema)
	return &Writer{w: csv.NewWriter(w), cols: cols, row: make([]string, len(cols))}
}

// WriteHeader writes the header row.
func (w *Writer) WriteHeader() error { return w.w.Write(w.cols) }

// Write writes one event as one record. It reads ev.Raw and does not keep it.
func (w *Writer) Write(ev pipeline.Event) error {
	dec := json.NewDecoder(bytes.NewReader(ev.Raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	for i, c := range w.cols {
		var v string
		switch c {
		case colTime:
			v = ev.Time.UTC().Format(time.RFC3339)
		case colActorID:
			v = ev.ActorID
		case colActorEmail:
			v = ev.ActorEmail
		case colProjectID, colWorkspace, colOrgID:
			v = ev.ProjectID
		case colSubtype:
			if f, err := chatgpt.ReadObject(ev.Raw); err == nil {
				v = f.SubType()
			}
		case colPayload:
			v = cell(obj[ev.Type])
		case "schema":
			v = ev.Schema
		case "event", colRecord, "activity":
			v = string(ev.Raw)
		default:
			v = cell(lookup(obj, c))
		}
		w.row[i] = defuse(v)
	}
	return w.w.Write(w.row)
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// lookup follows a dotted path through nested objects.
func lookup(obj map[string]any, path string) any {
	var cur any = obj
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// cell renders a JSON value: strings as is, numbers and booleans as JSON,
// null and missing as empty, objects and arrays as compact JSON.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimRight(b.String(), "\n")
}

// defuse keeps spreadsheets from evaluating a text cell as a formula
// (OWASP "CSV injection"): a cell starting with = + - @ or a tab/CR gets a
// leading apostrophe, unless it is a plain number.
func defuse(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := json.Number(s).Float64(); err == nil && json.Valid([]byte(s)) {
			return s
		}
		return "'" + s
	}
	return s
}
