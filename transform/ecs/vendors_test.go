package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/transform/internal/processtest"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

// absent stands for a field the document must not have.
const absent = "<absent>"

// handWritten are events of each vendor and what their documents must
// hold, written by hand from the ECS reference (the categorization
// fields' allowed values and the field sets' types), not from the
// mapping's output. They go into the golden files too.
var handWritten = []struct {
	schema, raw string
	want        map[string]any // dotted path -> value (as JSON), or absent
}{
	{openai.SchemaAuditLog, `{"id":"hw-o1","type":"login.failed","effective_at":1751990400,"actor":{"type":"session","session":{"user":{"id":"user-ana","email":"ana@acme.example"},"ip_address":"198.51.100.23","user_agent":"Mozilla/5.0 (X11)","ip_address_details":{"country":"US","region_code":"CA","region":"California","city":"San Francisco","latitude":"37.7749","longitude":"-122.4194","asn":"13335"}}},"login.failed":{"id":"lf-1","error_code":"invalid_password","error_message":"Wrong password"}}`,
		map[string]any{"@timestamp": "2025-07-08T16:00:00Z", "event.kind": "event", "event.category": []string{"authentication"},
			"event.type": []string{"start"}, "event.outcome": "failure", "event.action": "login.failed", "event.module": "openai",
			"user.id": "user-ana", "user.email": "ana@acme.example", "source.ip": "198.51.100.23", "source.geo.country_iso_code": "US",
			"source.geo.region_iso_code": "US-CA", "source.geo.location.lat": 37.7749, "source.geo.location.lon": -122.4194,
			"source.as.number": 13335, "user_agent.original": "Mozilla/5.0 (X11)", "error.code": "invalid_password",
			"message": "Wrong password", "related.ip": []string{"198.51.100.23"}}},
	{openai.SchemaAuditLog, `{"id":"hw-o2","type":"login.succeeded","effective_at":1751990400,"actor":{"type":"session","session":{"user":{"id":"user-ana","email":"ana@acme.example"},"ip_address":"2001:db8::7"}}}`,
		map[string]any{"event.category": []string{"authentication", "session"}, "event.type": []string{"start"}, "event.outcome": "success",
			"source.ip": "2001:db8::7", "source.geo": absent}},
	{openai.SchemaAuditLog, `{"id":"hw-o3","type":"role.assignment.created","effective_at":1751990400,"actor":{"type":"api_key","api_key":{"id":"key_1","type":"service_account","service_account":{"id":"svc-1"}}},"role.assignment.created":{"id":"ra-1","principal_id":"user-bo","principal_type":"user"}}`,
		map[string]any{"event.category": []string{"iam"}, "event.type": []string{"admin", "creation"}, "user.id": "svc-1",
			"user.email": absent, "user.target.id": "user-bo", "related.user": []string{"svc-1", "user-bo"}}},
	{openai.SchemaRequestLog, `{"id":"hw-o4","event":"chat.completions.create","created_at":1751990400,"actor":{"type":"api_key","id":"key_9","name":"ci"},"success":false}`,
		map[string]any{"event.category": []string{"api"}, "event.type": []string{"access"}, "event.outcome": "failure", "user.id": "key_9"}},

	{openai.SchemaRequestLog, `{"id":"hw-o5","event":"organization.user.deleted","created_at":1751990400,"actor":{"type":"organization","id":"org-Hooli1","name":"Hooli"},"target":{"type":"user","id":"user-cy"}}`,
		map[string]any{"event.category": []string{"iam"}, "event.type": []string{"user", "deletion"}, "event.outcome": "success",
			"organization.id": "org-Hooli1", "organization.name": "Hooli", "user.id": absent, "user.target.id": "user-cy"}},

	{chatgpt.Schema, `{"event_id":"hw-c1","type":"AUTH_LOG","timestamp":"2026-07-09T10:11:12.345678Z","principal":{"id":"ws-1","type":"CHATGPT_WORKSPACE"},"actor":{"type":"ACCOUNT_USER","user_id":"user-ana","user_email":"ana@acme.example"},"request_metadata":{"client_ip":"203.0.113.9","client_ip_details":{"country":"BR","city":"São Paulo","region":"São Paulo","region_code":"SP","asn":"AS28573","latitude":"-23.5505","longitude":"-46.6333"},"client_user_agent":"ChatGPT/1.2024 (iOS)","client_ja3":"abc123"},"action_data":{"action":"login_failed","role":"standard-user"}}`,
		map[string]any{"@timestamp": "2026-07-09T10:11:12.345678Z", "event.action": "AUTH_LOG.login_failed",
			"event.category": []string{"authentication"}, "event.type": []string{"start"}, "event.outcome": "failure",
			"event.module": "chatgpt", "event.dataset": "chatgpt.compliance", "event.severity": 3, "observer.vendor": "OpenAI",
			"user.id": "user-ana", "user.email": "ana@acme.example", "organization.id": "ws-1", "source.ip": "203.0.113.9",
			"source.geo.region_iso_code": "BR-SP", "source.geo.city_name": "São Paulo", "source.as.number": 28573,
			"source.geo.location.lat": -23.5505, "user_agent.original": "ChatGPT/1.2024 (iOS)", "tls.client.ja3": "abc123"}},
	{chatgpt.Schema, `{"event_id":"hw-c2","type":"AUDIT_LOG","timestamp":"2026-07-09T10:00:00Z","principal":{"id":"ws-1","type":"CHATGPT_WORKSPACE"},"actor":{"type":"ACCOUNT_USER","user_id":"user-ana","user_email":"ana@acme.example"},"action_result":"BLOCKED","action":"USER_ROLE_UPDATED","action_data":{"target_user_id":"user-bo","previous_role":"standard-user","role":"admin"},"request_metadata":{"client_ip":"198.51.100.4","client_ip_details":{"asn":""},"destination_hostname":"chatgpt.com"}}`,
		map[string]any{"event.category": []string{"iam"}, "event.type": []string{"user", "change"}, "event.outcome": "failure",
			"user.target.id": "user-bo", "source.as": absent, "destination.domain": "chatgpt.com", "event.severity": 4}},
	{chatgpt.Schema, `{"event_id":"hw-c3","type":"CUSTOM_AGENTS_LOG","timestamp":"2026-07-09T10:00:00Z","actor":{"type":"AGENT","product_type":"CUSTOM_AGENT","id":"agent-7","name":"Travel planner","agent_runtime":{"id":"run-1","delegator":{"type":"ACCOUNT_USER","user_id":"user-ana","user_email":"ana@acme.example"}}},"event_type":"AGENT_RUN_MESSAGE","event_details":{"message":{"role":"user","content":"hi"}}}`,
		map[string]any{"event.action": "CUSTOM_AGENTS_LOG.AGENT_RUN_MESSAGE", "event.category": []string{"api"}, "event.type": []string{"info"},
			"user.id": "agent-7", "user.name": "Travel planner", "user.effective.id": "user-ana", "user.effective.email": "ana@acme.example",
			"organization": absent, "source": absent}},
	{chatgpt.Schema, `{"event_id":"hw-c4","type":"FUTURE_LOG","timestamp":"2026-07-09T10:00:00Z","actor":{"type":"SERVICE_PRINCIPAL","id":"sp-1"},"details":{"items":[]}}`,
		map[string]any{"event.action": "FUTURE_LOG", "event.kind": "event", "event.category": absent, "event.type": absent,
			"event.outcome": "unknown", "user": absent, "chatgpt.details.items": []string{}}},

	{anthropic.Schema, `{"id":"hw-a1","created_at":"2026-04-10T08:09:10Z","organization_id":null,"organization_uuid":null,"actor":{"type":"user_actor","email_address":"ana@acme.example","user_id":"user_01Ana","ip_address":"192.0.2.34","user_agent":"Mozilla/5.0"},"type":"sso_login_succeeded","auth_method":"sso","mfa_method":"totp"}`,
		map[string]any{"@timestamp": "2026-04-10T08:09:10Z", "event.category": []string{"authentication", "session"}, "event.type": []string{"start"},
			"event.outcome": "success", "event.module": "anthropic", "event.dataset": "anthropic.compliance", "observer.vendor": "Anthropic",
			"user.id": "user_01Ana", "user.email": "ana@acme.example", "source.ip": "192.0.2.34", "user_agent.original": "Mozilla/5.0",
			"organization": absent}},
	{anthropic.Schema, `{"id":"hw-a2","created_at":"2026-04-10T08:09:10Z","organization_id":null,"actor":{"type":"api_actor","api_key_id":"apikey_01X","ip_address":"203.0.113.10","user_agent":"python-httpx"},"type":"compliance_api_accessed","request_method":"GET","request_body":null,"status_code":403,"url":"https://api.anthropic.com/v1/compliance/activities"}`,
		map[string]any{"event.category": []string{"api"}, "event.type": []string{"access"}, "event.outcome": "failure", "user.id": "apikey_01X",
			"user.email": absent}},
	{anthropic.Schema, `{"id":"hw-a3","created_at":"2026-04-10T08:09:10Z","organization_id":"org_01W","organization_uuid":"abcdef01","actor":{"type":"admin_api_key_actor","admin_api_key_id":"admin_key_01","ip_address":"198.51.100.200","user_agent":"curl/8"},"type":"claude_user_role_updated","current_role":"admin","previous_role":"member","user_email":"bo@acme.example","user_id":"user_01Bo"}`,
		map[string]any{"event.category": []string{"iam"}, "event.type": []string{"user", "change"}, "event.outcome": "success",
			"event.severity": 4, "user.id": "admin_key_01", "user.target.id": "user_01Bo", "user.target.email": "bo@acme.example",
			"organization.id": "org_01W"}},
	{anthropic.Schema, `{"id":"hw-a4","created_at":"2026-04-10T08:09:10Z","organization_id":"org_01W","actor":{"type":"anthropic_actor","email_address":null},"type":"abuse_decision_received","decision":"blocked"}`,
		map[string]any{"event.kind": "alert", "event.category": []string{"intrusion_detection"}, "event.type": []string{"info"}, "user": absent}},
	{anthropic.Schema, `{"id":"hw-a5","created_at":"2026-04-10T08:09:10Z","actor":null,"type":"quantum_widget_entangled","widget":{"spin":"up"}}`,
		map[string]any{"event.action": "quantum_widget_entangled", "event.category": absent, "event.outcome": "unknown", "user": absent,
			"anthropic.widget.spin": "up"}},
}

// handWrittenEvents parses the hand-written events of one vendor ("" for
// all).
func handWrittenEvents(t testing.TB, vendor string) []pipeline.Event {
	var evs []pipeline.Event
	for _, h := range handWritten {
		if vendor != "" && vendorOf[h.schema].name != vendor {
			continue
		}
		ev, err := parse(h.schema, []byte(h.raw))
		if err != nil {
			t.Fatalf("%s: %v", h.raw, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// parse indexes raw as the source of schema does.
func parse(schema string, raw []byte) (pipeline.Event, error) {
	switch schema {
	case chatgpt.Schema:
		return chatgpt.Parse(raw, "hand", simNow)
	case anthropic.Schema:
		return anthropic.Parse(raw, "hand", simNow)
	case openai.SchemaRequestLog:
		return openai.ParseRequestLog(raw, "hand", simNow)
	}
	return openai.ParseAuditLog(raw, "hand", simNow)
}

// lookup is the value at a dotted path of doc.
func lookup(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func TestHandWritten(t *testing.T) {
	evs := handWrittenEvents(t, "")
	for i, m := range mapEvents(t, evs) {
		h := handWritten[i]
		t.Run(m.in.ID, func(t *testing.T) {
			for _, e := range checkDoc(m, isKnown(m.in)) {
				t.Error(e)
			}
			for path, want := range h.want {
				got, ok := lookup(m.doc, path)
				switch {
				case want == absent && ok:
					t.Errorf("%s = %v, want it absent", path, got)
				case want == absent:
				case !ok:
					t.Errorf("%s absent, want %v", path, want)
				default:
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(want)
					if string(g) != string(w) {
						t.Errorf("%s = %s, want %s", path, g, w)
					}
				}
			}
		})
	}
}

// goldenSample is what a vendor's golden file holds: the hand-written
// events, then the first simulated event of each type (with its sub-type)
// and of each actor kind, then the edge cases.
func goldenSample(t testing.TB, vendor string, sim []pipeline.Event) []pipeline.Event {
	evs := handWrittenEvents(t, vendor)
	seen := map[string]bool{}
	for _, e := range sim {
		var kind, sub string
		switch e.Schema {
		case chatgpt.Schema:
			f, _ := chatgpt.ReadObject(e.Raw)
			kind, sub = f.Actor().Kind, f.SubType()
		case anthropic.Schema:
			f, _ := anthropic.ReadObject(e.Raw)
			kind = f.Actor().Kind
		}
		if !seen["t:"+e.Type+"."+sub] || !seen["a:"+kind] {
			seen["t:"+e.Type+"."+sub], seen["a:"+kind] = true, true
			evs = append(evs, e)
		}
	}
	for _, e := range edgeEvents(t) {
		if vendorOf[e.Schema].name == vendor {
			evs = append(evs, e)
		}
	}
	return evs
}

// TestVendorGolden keeps one golden file per vendor besides the OpenAI
// corpus's (TestGolden).
func TestVendorGolden(t *testing.T) {
	for _, tc := range []struct {
		vendor string
		sim    func(testing.TB) []pipeline.Event
	}{
		{"openai", openaiSimEvents}, {"chatgpt", chatgptSimEvents}, {"anthropic", anthropicSimEvents},
	} {
		t.Run(tc.vendor, func(t *testing.T) {
			var lines []byte
			for _, m := range mapEvents(t, goldenSample(t, tc.vendor, simEvents(t, tc.vendor, tc.sim))) {
				b, err := json.Marshal(m.doc)
				if err != nil {
					t.Fatal(err)
				}
				lines = fmt.Appendf(lines, "%s\n", b)
			}
			transformtest.Golden(t, filepath.Join("testdata", tc.vendor+".golden.jsonl"), lines)
		})
	}
}

// FuzzECSVendors holds the mapping of ChatGPT records and Anthropic
// activities to what FuzzECS holds OpenAI's to: any JSON object, read as
// either vendor's, maps without panic to valid JSON.
func FuzzECSVendors(f *testing.F) {
	for _, h := range handWritten {
		f.Add([]byte(h.raw), h.schema == anthropic.Schema)
	}
	for _, e := range edgeEvents(f) {
		f.Add(e.Raw, e.Schema == anthropic.Schema)
	}
	tr := New(DefaultConfig())
	f.Fuzz(func(t *testing.T, raw []byte, isAnthropic bool) {
		ev := pipeline.Event{Raw: raw, Schema: chatgpt.Schema}
		if isAnthropic {
			ev.Schema = anthropic.Schema
		}
		processtest.ValidJSON(t, tr, ev)
	})
}

// BenchmarkECSVendors maps each vendor's golden sample once an iteration,
// from fresh copies decoded outside the timed part, and reports the time
// per event.
func BenchmarkECSVendors(b *testing.B) {
	for _, tc := range []struct {
		vendor string
		sim    func(testing.TB) []pipeline.Event
	}{
		{"openai", openaiSimEvents}, {"chatgpt", chatgptSimEvents}, {"anthropic", anthropicSimEvents},
	} {
		b.Run(tc.vendor, func(b *testing.B) {
			sample := goldenSample(b, tc.vendor, simEvents(b, tc.vendor, tc.sim))
			tr := New(DefaultConfig())
			for b.Loop() {
				b.StopTimer()
				evs := transformtest.Clone(sample)
				for i := range evs {
					_, _ = evs[i].Object()
				}
				b.StartTimer()
				if _, err := tr.Process(context.Background(), pipeline.Batch{Events: evs}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sample))/1000, "µs/event")
		})
	}
}
