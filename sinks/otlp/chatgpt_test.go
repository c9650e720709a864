package otlp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditrelay/auditrelay/pipeline"
	chatgptschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// chatgptFixtures are schema/chatgpt's records, one or more of every type.
const chatgptFixtures = "../../schema/chatgpt/testdata/valid"

const workspace = "4c1d9e3a-6f2b-4a8e-9d3c-2b7f1e5a9c40"

// chatgptRecord parses the fixture file as the source indexes it.
func chatgptRecord(t *testing.T, file string) pipeline.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chatgptFixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := chatgptschema.Parse(raw, "chatgpt", time.Date(2026, 7, 9, 11, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestMappingChatGPTRecords maps a record of every type with
// schema/chatgpt and compares every attribute and the severity with what
// was read by hand off the fixture, the table in schema/chatgpt and the
// sink's scale (README): exactly these attributes, none of OpenAI's.
func TestMappingChatGPTRecords(t *testing.T) {
	m := newMapper(defaultConfig())
	user := func(id, email string) map[string]any {
		return map[string]any{"chatgpt.actor.type": "ACCOUNT_USER", "chatgpt.actor.id": id, "user.id": id, "user.email": email}
	}
	for _, tc := range []struct {
		file     string
		severity plog.SeverityNumber
		text     string
		attrs    map[string]any // besides event.name, auditrelay.vendor and the actor's
		actor    map[string]any
	}{
		{"auth_log.json", plog.SeverityNumberWarn, "medium", map[string]any{ // login_failed
			"chatgpt.event.sub_type": "login_failed", "client.address": "198.51.100.23", "user_agent.original": "Mozilla/5.0",
			"geo.country.iso_code": "JP", "geo.locality.name": "東京", "geo.region.iso_code": "JP-13",
			"geo.location.lat": 35.6895, "geo.location.lon": 139.6917},
			user("user-Q1w2", "kenji@example.com")},
		{"audit_log_user.json", plog.SeverityNumberWarn2, "high", map[string]any{ // USER_ROLE_UPDATED, BLOCKED
			"chatgpt.event.sub_type": "USER_ROLE_UPDATED", "chatgpt.action.result": "BLOCKED", "client.address": "2001:db8::1",
			"geo.country.iso_code": "DE", "geo.location.lat": 52.52, "geo.location.lon": 13.405},
			user("user-Adm1n", "admin@example.com")},
		{"audit_log_api_key.json", plog.SeverityNumberInfo2, "low", map[string]any{ // reading the compliance logs
			"chatgpt.event.sub_type": "LIST_WORKSPACE_LOG_FILES", "chatgpt.action.result": "SUCCESS", "client.address": "203.0.113.7",
			"user_agent.original": "python-requests/2.32.3", "tls.client.ja3": "771,4865-4866,0-23-65281,29-23-24,0",
			"chatgpt.tls.client.ja4": "t13d1516h2_8daaf6152771_02713d6af862", "server.address": "api.chatgpt.com",
			"geo.country.iso_code": "BR", "geo.locality.name": "São Paulo", "geo.region.iso_code": "BR-SP",
			"geo.location.lat": -23.5505, "geo.location.lon": -46.6333},
			// No person: the key's redacted id, never user.*.
			map[string]any{"chatgpt.actor.type": "API_KEY", "chatgpt.actor.id": "sk-...RxIA", "chatgpt.api_key.id": "sk-...RxIA"}},
		{"custom_agents_log.json", plog.SeverityNumberInfo, "info", map[string]any{"chatgpt.event.sub_type": "AGENT_RUN_MESSAGE"},
			// The agent did it, for the person who is user.*.
			map[string]any{"chatgpt.actor.type": "AGENT", "chatgpt.actor.id": "agent_7Fq", "gen_ai.agent.id": "agent_7Fq",
				"gen_ai.agent.name": "Expense helper", "chatgpt.agent.runtime.id": "run_42", "user.id": "user-Q1w2", "user.email": "kenji@example.com"}},
		{"codex_security_log.json", plog.SeverityNumberWarn, "medium", map[string]any{"chatgpt.event.sub_type": "SCAN_FINDING_UPDATED"},
			user("user-Sec", "sec@example.com")},
		// CODEX_LOG names its workspace in workspace_id.
		{"codex_log.json", plog.SeverityNumberInfo, "info", map[string]any{"chatgpt.event.sub_type": "PROMPT_RESPONSE_RECEIVED"},
			user("user-Dev", "dev@example.com")},
		{"conversation_user.json", plog.SeverityNumberInfo, "info", map[string]any{"chatgpt.event.sub_type": "user"},
			user("user-Q1w2E3r4T5y6U7i8", "ana.souza@example.com")},
		{"conversation_assistant.json", plog.SeverityNumberInfo, "info", map[string]any{"chatgpt.event.sub_type": "assistant"},
			user("user-Q1w2E3r4T5y6U7i8", "ana.souza@example.com")},
		{"app_auth_log.json", plog.SeverityNumberInfo, "info", map[string]any{"chatgpt.event.sub_type": "unlink"},
			user("user-Q1w2", "kenji@example.com")},
		{"app_log_request.json", plog.SeverityNumberInfo, "info", map[string]any{"chatgpt.event.sub_type": "request"},
			user("user-Q1w2", "kenji@example.com")},
		{"app_log_response.json", plog.SeverityNumberInfo, "info", map[string]any{"chatgpt.event.sub_type": "response"},
			user("user-Q1w2", "kenji@example.com")},
		// An unknown type and actor kind pass with the kind alone.
		{"unknown_type.json", plog.SeverityNumberInfo, "info", nil, map[string]any{"chatgpt.actor.type": "SERVICE_PRINCIPAL"}},
	} {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			ev := chatgptRecord(t, tc.file)
			lr := m.logs("chatgpt", []pipeline.Event{ev}).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			want := map[string]any{"event.name": ev.Type, "auditrelay.vendor": "chatgpt", "chatgpt.event.id": ev.ID,
				"chatgpt.workspace.id": workspace}
			for _, more := range []map[string]any{tc.attrs, tc.actor} {
				for k, v := range more {
					want[k] = v
				}
			}
			if got := lr.Attributes().AsRaw(); canon(t, got) != canon(t, want) {
				t.Errorf("attributes\n got %s\nwant %s", canon(t, got), canon(t, want))
			}
			if lr.SeverityNumber() != tc.severity || lr.SeverityText() != tc.text || lr.EventName() != ev.Type ||
				!lr.Timestamp().AsTime().Equal(ev.Time) || lr.Body().Map().Len() == 0 {
				t.Errorf("record: severity %v %q, name %q, time %v, body %d members", lr.SeverityNumber(), lr.SeverityText(),
					lr.EventName(), lr.Timestamp().AsTime(), lr.Body().Map().Len())
			}
		})
	}
}

// TestMappingChatGPTGolden compares the whole OTLP JSON of every fixture's
// record with testdata/golden/chatgpt/<fixture>.json (regenerate with
// -update after checking the diff).
func TestMappingChatGPTGolden(t *testing.T) {
	m := newMapper(defaultConfig())
	ents, err := os.ReadDir(chatgptFixtures)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Run(strings.TrimSuffix(e.Name(), ".json"), func(t *testing.T) {
			ld := m.logs("chatgpt", []pipeline.Event{chatgptRecord(t, e.Name())})
			golden(t, ld, "  ", filepath.Join("testdata", "golden", "chatgpt", e.Name()))
		})
	}
}

// TestMappingChatGPTSimulator maps every record of every type the
// simulator writes: each names the person accountable for it as
// user.email (the user, or the person an agent acted for) exactly when the
// record does, its workspace, its id under chatgpt.event.id, and no
// OpenAI attribute; its level is the table's.
func TestMappingChatGPTSimulator(t *testing.T) {
	now := time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)
	types := append([]string{"FUTURE_LOG"}, chatgptsim.KnownTypes...)
	sim := chatgptsim.New(chatgptsim.Options{Seed: 9, Types: types, Lines: 40, Interval: time.Hour,
		Start: now.Add(-6 * time.Hour), Now: func() time.Time { return now }})
	m := newMapper(defaultConfig())
	kinds, levels := map[string]int{}, map[string]int{}
	n := 0
	for _, fi := range sim.AllFiles() {
		var b strings.Builder
		if _, err := sim.WriteFile(&b, fi.ID); err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(b.String()) {
			ev, err := chatgptschema.Parse([]byte(strings.TrimSuffix(line, "\n")), "chatgpt", now)
			if err != nil {
				t.Fatal(err)
			}
			f, _ := chatgptschema.ReadObject(ev.Raw)
			lr := m.logs("chatgpt", []pipeline.Event{ev}).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			a := lr.Attributes().AsRaw()
			act := f.Actor()
			email, hasEmail := a["user.email"]
			if want := act.AccountEmail(); (want != "") != hasEmail || hasEmail && email != want {
				t.Fatalf("%s (%s by %s): user.email %v, want %q", ev.ID, ev.Type, act.Kind, email, want)
			}
			if a["chatgpt.event.id"] != ev.ID || a["chatgpt.workspace.id"] != f.WorkspaceID() || a["auditrelay.vendor"] != "chatgpt" ||
				a["chatgpt.actor.type"] != act.Kind {
				t.Fatalf("%s: attributes %v", ev.ID, a)
			}
			for k := range a {
				if strings.HasPrefix(k, "openai.") {
					t.Fatalf("%s: OpenAI attribute %s", ev.ID, k)
				}
			}
			if lvl := f.Severity(nil); lr.SeverityText() != string(lvl) || lr.SeverityNumber() != severityNumbers[lvl] {
				t.Fatalf("%s: severity %q, want %q", ev.ID, lr.SeverityText(), lvl)
			}
			kinds[act.Kind]++
			levels[lr.SeverityText()]++
			n++
		}
	}
	for _, k := range []string{chatgptschema.ActorUser, chatgptschema.ActorAPIKey, chatgptschema.ActorAgent} {
		if kinds[k] == 0 {
			t.Errorf("no record by %s among %d (%v)", k, n, kinds)
		}
	}
	for _, l := range []string{"info", "low", "medium", "high"} {
		if levels[l] == 0 {
			t.Errorf("no record at %s among %d (%v)", l, n, levels)
		}
	}
	t.Logf("%d records, actors %v, levels %v", n, kinds, levels)
}

// TestMappingChatGPTAnnotatedAndNotObject: the level enrich annotated
// (the user's override) wins over the table; with body: string the body
// is the record's text; bytes that are not an object keep the routing
// fields the source indexed.
func TestMappingChatGPTAnnotatedAndNotObject(t *testing.T) {
	c := defaultConfig()
	c.Body = "string"
	m := newMapper(c)
	raw := `{"event_id":"e1","type":"AUTH_LOG","timestamp":"2026-07-09T10:07:00Z","action_data":{"action":"login_failed"},"auditrelay":{"severity":"critical"}}`
	ev, err := chatgptschema.Parse([]byte(raw), "chatgpt", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	lr := m.logs("chatgpt", []pipeline.Event{ev}).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if lr.SeverityNumber() != plog.SeverityNumberError || lr.SeverityText() != "critical" || lr.Body().Str() != raw {
		t.Errorf("annotated critical: severity %v %q, body %q", lr.SeverityNumber(), lr.SeverityText(), lr.Body().Str())
	}

	ev = pipeline.Event{ID: "e2", Type: "AUDIT_LOG", Schema: chatgptschema.Schema, ProjectID: workspace, ActorID: "agent_1",
		ActorEmail: "kenji@example.com", Raw: []byte(`not json {`)}
	lr = newMapper(defaultConfig()).logs("chatgpt", []pipeline.Event{ev}).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	want := map[string]any{"event.name": "AUDIT_LOG", "auditrelay.vendor": "chatgpt", "chatgpt.event.id": "e2",
		"chatgpt.workspace.id": workspace, "chatgpt.actor.id": "agent_1", "user.email": "kenji@example.com"}
	if got := lr.Attributes().AsRaw(); canon(t, got) != canon(t, want) || lr.Body().Str() != "not json {" || lr.SeverityText() != "low" {
		t.Errorf("not an object: attributes %s, body %q, severity %q", canon(t, got), lr.Body().Str(), lr.SeverityText())
	}
}
