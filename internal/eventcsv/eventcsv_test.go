package eventcsv

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestRowsReadBackOneRecordPerEvent(t *testing.T) {
	for _, tc := range []struct {
		name, schema, raw string
		col, want         string
	}{
		{"nested dotted", "openai.organization_log", `{"id":"log_1","event":"chat.completions.create","created_at":1700000000,"api_request":{"model":"gpt-4o","response":{"usage":{"total_tokens":42}}}}`, "api_request.response.usage.total_tokens", "42"},
		{"newline kept inside one field", "openai.organization_log", `{"id":"log_2","event":"x","created_at":1,"api_request":{"error":{"message":"line one\r\nline two\nthree"}}}`, "api_request.error.message", "line one\r\nline two\nthree"},
		{"quotes and commas", "openai.organization_log", `{"id":"log_3","event":"x","created_at":1,"target":{"name":"a \"b\", c"}}`, "target.name", `a "b", c`},
		{"formula defused", "openai.organization_log", `{"id":"log_4","event":"x","created_at":1,"actor":{"name":"=HYPERLINK(\"http://x\")"}}`, "actor.name", `'=HYPERLINK("http://x")`},
		{"negative number kept", "openai.organization_log", `{"id":"log_5","event":"x","created_at":1,"api_request":{"response":{"status":-1}}}`, "api_request.response.status", "-1"},
		{"payload object", "openai.audit_log", `{"id":"audit_log-1","type":"user.added","effective_at":1,"user.added":{"id":"user_1","data":{"role":"owner"}}}`, "payload", `{"data":{"role":"owner"},"id":"user_1"}`},
		{"bool", "openai.organization_log", `{"id":"log_6","event":"x","created_at":1,"success":false}`, "success", "false"},
		{"missing is empty", "openai.audit_log", `{"id":"audit_log-2","type":"login.failed","effective_at":1}`, "project.id", ""},
		{"compliance log subtype", "chatgpt.compliance_log", `{"event_id":"e1","type":"AUDIT_LOG","timestamp":"2026-01-01T00:00:00Z","action":"INVITE_SEND","action_result":"SUCCESS"}`, "subtype", "INVITE_SEND"},
		{"compliance log content as held", "chatgpt.compliance_log", `{"event_id":"e2","type":"CONVERSATION_MESSAGE","timestamp":"2026-01-01T00:00:00Z","message":{"author":{"type":"user"},"content":{"type":"text","value":{"sha256":"ab12","length":3}}}}`, "message.content.value", `{"length":3,"sha256":"ab12"}`},
		{"activity actor", "anthropic.compliance_activity", `{"id":"activity_01","type":"claude_chat_created","created_at":"2026-01-01T00:00:00Z","actor":{"type":"user_actor","user_id":"user_01","ip_address":"192.0.2.1"}}`, "actor.ip_address", "192.0.2.1"},
		{"activity whole", "anthropic.compliance_activity", `{"id":"activity_02","type":"future_type","created_at":"2026-01-01T00:00:00Z","x":[1]}`, "activity", `{"id":"activity_02","type":"future_type","created_at":"2026-01-01T00:00:00Z","x":[1]}`},
		{"compliance log record whole", "chatgpt.compliance_log", `{"event_id":"e3","type":"FUTURE_LOG","timestamp":"2026-01-01T00:00:00Z","x":[1]}`, "record", `{"event_id":"e3","type":"FUTURE_LOG","timestamp":"2026-01-01T00:00:00Z","x":[1]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, tc.schema)
			if err := w.WriteHeader(); err != nil {
				t.Fatal(err)
			}
			ev := pipeline.Event{ID: "x", Type: "user.added", Time: time.Unix(1, 0), Schema: tc.schema, Raw: []byte(tc.raw)}
			if err := w.Write(ev); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 2 {
				t.Fatalf("%d records, want header + 1", len(recs))
			}
			idx := -1
			for i, c := range recs[0] {
				if c == tc.col {
					idx = i
				}
			}
			if idx < 0 {
				t.Fatalf("no column %s", tc.col)
			}
			got := recs[1][idx]
			// encoding/csv turns \r\n inside quoted fields into \n.
			want := strings.ReplaceAll(tc.want, "\r\n", "\n")
			if got != want {
				t.Fatalf("%s = %q, want %q", tc.col, got, want)
			}
		})
	}
}

func TestHundredThousandEventsHundredThousandRecords(t *testing.T) {
	const n = 100_000
	var buf bytes.Buffer
	w := NewWriter(&buf, "openai.organization_log")
	if err := w.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		raw := fmt.Sprintf(`{"id":"log_%d","event":"chat.completions.create","created_at":%d,"api_request":{"error":{"message":"bad\nrequest %d,\r\n\"quoted\""}}}`, i, 1700000000+i, i)
		if err := w.Write(pipeline.Event{ID: fmt.Sprint(i), Time: time.Unix(int64(1700000000+i), 0), Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(&buf)
	r.FieldsPerRecord = len(OrganizationLogColumns)
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	count := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[0] != fmt.Sprintf("log_%d", count) {
			t.Fatalf("record %d has id %s", count, rec[0])
		}
		count++
	}
	if count != n {
		t.Fatalf("%d records, want %d", count, n)
	}
}
