package chatgpt_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/internal/schematest"
	"github.com/auditrelay/auditrelay/schema/severity"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

const workspace = "4c1d9e3a-6f2b-4a8e-9d3c-2b7f1e5a9c40"

var reader = schematest.Reader[chatgpt.Fields]{Schema: chatgpt.Schema, Parse: chatgpt.Parse, Read: chatgpt.ReadObject,
	ID: "event_id", Time: "timestamp"}

// validCases are the records of testdata/valid and what the package reads
// from each.
var validCases = []struct {
	file            string
	id, typ, sub    string
	time            string // RFC 3339, as Parse should read it (UTC)
	actor           chatgpt.Actor
	actorID, email  string
	workspace, ip   string
	country, latlon string // Client's country and "lat,lon"
}{
	{file: "conversation_user.json", id: "8f0e7c52-2b1d-4c77-9a53-0d7e6f0b3a11", typ: "CONVERSATION_MESSAGE", sub: "user",
		time:    "2026-07-09T10:02:11.123456Z",
		actor:   chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Q1w2E3r4T5y6U7i8", Email: "ana.souza@example.com"},
		actorID: "user-Q1w2E3r4T5y6U7i8", email: "ana.souza@example.com", workspace: workspace},
	{file: "conversation_assistant.json", id: "0b5f1a9e-7d3c-4e21-8f6a-5c2d9b8e1f02", typ: "CONVERSATION_MESSAGE", sub: "assistant",
		time:    "2026-07-09T10:02:14.000001Z",
		actor:   chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Q1w2E3r4T5y6U7i8", Email: "ana.souza@example.com"},
		actorID: "user-Q1w2E3r4T5y6U7i8", email: "ana.souza@example.com", workspace: workspace},
	{file: "audit_log_api_key.json", id: "3d2c1b0a-9f8e-4d7c-b6a5-4f3e2d1c0b9a", typ: "AUDIT_LOG", sub: "LIST_WORKSPACE_LOG_FILES",
		time: "2026-07-09T10:05:00Z", actor: chatgpt.Actor{Kind: "API_KEY", KeyID: "sk-...RxIA"}, actorID: "sk-...RxIA",
		workspace: workspace, ip: "203.0.113.7", country: "BR", latlon: "-23.5505,-46.6333"},
	{file: "audit_log_user.json", id: "a1b2c3d4-0000-4000-8000-000000000001", typ: "AUDIT_LOG", sub: "USER_ROLE_UPDATED",
		time:  "2026-07-09T10:06:00.5Z",
		actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Adm1n", Email: "admin@example.com"}, actorID: "user-Adm1n", email: "admin@example.com",
		workspace: workspace, ip: "2001:db8::1", country: "DE", latlon: "52.52,13.405"},
	{file: "auth_log.json", id: "a1b2c3d4-0000-4000-8000-000000000002", typ: "AUTH_LOG", sub: "login_failed",
		time:  "2026-07-09T10:07:00Z",
		actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Q1w2", Email: "kenji@example.com"}, actorID: "user-Q1w2", email: "kenji@example.com",
		workspace: workspace, ip: "198.51.100.23", country: "JP", latlon: "35.6895,139.6917"},
	{file: "app_auth_log.json", id: "a1b2c3d4-0000-4000-8000-000000000003", typ: "APP_AUTH_LOG", sub: "unlink",
		time:  "2026-07-09T10:11:00Z",
		actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Q1w2", Email: "kenji@example.com"}, actorID: "user-Q1w2", email: "kenji@example.com",
		workspace: workspace},
	{file: "app_log_request.json", id: "a1b2c3d4-0000-4000-8000-000000000004", typ: "APP_LOG", sub: "request",
		time:  "2026-07-09T10:12:00Z",
		actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Q1w2", Email: "kenji@example.com"}, actorID: "user-Q1w2", email: "kenji@example.com",
		workspace: workspace},
	{file: "app_log_response.json", id: "a1b2c3d4-0000-4000-8000-000000000005", typ: "APP_LOG", sub: "response",
		time:  "2026-07-09T10:12:01Z",
		actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Q1w2", Email: "kenji@example.com"}, actorID: "user-Q1w2", email: "kenji@example.com",
		workspace: workspace},
	// CODEX_LOG names its workspace in workspace_id, without principal.
	{file: "codex_log.json", id: "a1b2c3d4-0000-4000-8000-000000000006", typ: "CODEX_LOG", sub: "PROMPT_RESPONSE_RECEIVED",
		time:  "2026-07-09T10:13:00Z",
		actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Dev", Email: "dev@example.com"}, actorID: "user-Dev", email: "dev@example.com",
		workspace: workspace},
	{file: "codex_security_log.json", id: "a1b2c3d4-0000-4000-8000-000000000007", typ: "CODEX_SECURITY_LOG", sub: "SCAN_FINDING_UPDATED",
		time:  "2026-07-09T10:14:00Z",
		actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-Sec", Email: "sec@example.com"}, actorID: "user-Sec", email: "sec@example.com",
		workspace: workspace},
	// An agent did it: it is the actor, its delegator the person
	// accountable.
	{file: "custom_agents_log.json", id: "a1b2c3d4-0000-4000-8000-000000000008", typ: "CUSTOM_AGENTS_LOG", sub: "AGENT_RUN_MESSAGE",
		time: "2026-07-09T10:15:00Z",
		actor: chatgpt.Actor{Kind: "AGENT", AgentID: "agent_7Fq", AgentName: "Expense helper", ProductType: "CUSTOM_AGENT",
			RuntimeID: "run_42", TaskID: "task_5", DelegatorID: "user-Q1w2", DelegatorEmail: "kenji@example.com"},
		actorID: "agent_7Fq", email: "kenji@example.com", workspace: workspace},
	// Unknown type and unknown actor kind pass through, their fields empty.
	{file: "unknown_type.json", id: "a1b2c3d4-0000-4000-8000-000000000009", typ: "FUTURE_LOG",
		time: "2026-07-09T10:16:00Z", actor: chatgpt.Actor{Kind: "SERVICE_PRINCIPAL"}, workspace: workspace},
	{file: "no_actor_no_type.json", id: "a1b2c3d4-0000-4000-8000-00000000000a", time: "2026-07-09T10:16:00Z"},
	// A key given twice counts with its last value, a whole object included.
	{file: "duplicate_keys.json", id: "a1b2c3d4-0000-4000-8000-00000000000b", typ: "AUTH_LOG",
		time: "2026-07-09T10:17:00Z", actor: chatgpt.Actor{Kind: "ACCOUNT_USER", UserID: "user-2"}, actorID: "user-2"},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			f := reader.Valid(t, tc.file, schematest.Want{ID: tc.id, Type: tc.typ, Time: tc.time, ActorID: tc.actorID, Email: tc.email, Project: tc.workspace})
			if got := f.SubType(); got != tc.sub {
				t.Errorf("SubType = %q, want %q", got, tc.sub)
			}
			if got := f.Actor(); got != tc.actor {
				t.Errorf("Actor =\n%+v, want\n%+v", got, tc.actor)
			}
			c := f.Client()
			if c.IP != tc.ip || c.Country != tc.country {
				t.Errorf("client ip %q country %q; want %q %q", c.IP, c.Country, tc.ip, tc.country)
			}
			if latlon := c.Latitude + "," + c.Longitude; tc.latlon != "" && latlon != tc.latlon {
				t.Errorf("client coordinates %s, want %s", latlon, tc.latlon)
			}
		})
	}
}

func TestClientDetails(t *testing.T) {
	f, err := chatgpt.ReadObject(schematest.Fixture(t, "valid", "audit_log_api_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := chatgpt.Client{IP: "203.0.113.7", UserAgent: "python-requests/2.32.3", JA3: "771,4865-4866,0-23-65281,29-23-24,0",
		JA4: "t13d1516h2_8daaf6152771_02713d6af862", DestinationHost: "api.chatgpt.com",
		Country: "BR", Region: "São Paulo", RegionCode: "SP", City: "São Paulo", Latitude: "-23.5505", Longitude: "-46.6333"}
	if got := f.Client(); got != want {
		t.Errorf("Client =\n%+v, want\n%+v", got, want)
	}
	if f.PrincipalType() != "CHATGPT_WORKSPACE" {
		t.Errorf("PrincipalType = %q", f.PrincipalType())
	}
}

// invalidCases are the records of testdata/invalid and the error each
// gives.
var invalidCases = []schematest.Invalid{
	{File: "array.json", Want: "compliance log record: not a JSON object"},
	{File: "string.json", Want: "compliance log record: not a JSON object"},
	{File: "null.json", Want: "compliance log record: not a JSON object"},
	{File: "unterminated.json", Want: "compliance log record: not valid JSON"},
	{File: "two_objects.json", Want: "compliance log record: not valid JSON: more after the object"},
	{File: "no_event_id.json", Want: "compliance log record: no event_id"},
	{File: "numeric_event_id.json", Want: "compliance log record: no event_id"},
	{File: "no_timestamp.json", Want: "compliance log record e1: no timestamp"},
	{File: "timestamp_without_zone.json", Want: `compliance log record e1: timestamp "2026-07-09 10:00:00" is not an RFC 3339 time`},
	{File: "timestamp_number.json", Want: "compliance log record e1: timestamp 1783591200 is not an RFC 3339 time"},
}

func TestParseInvalid(t *testing.T) { reader.CheckInvalid(t, invalidCases) }

// TestEveryFixtureIsRead keeps testdata and the tables in step: a fixture
// no table names tests nothing.
func TestEveryFixtureIsRead(t *testing.T) {
	var valid []string
	for _, tc := range validCases {
		valid = append(valid, tc.file)
	}
	schematest.EveryFixtureNamed(t, valid, invalidCases)
}

func TestEventTypes(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range chatgpt.EventTypes {
		if seen[typ] || typ == "" || strings.ToUpper(typ) != typ {
			t.Errorf("event type %q is empty, repeated or not upper case", typ)
		}
		seen[typ] = true
	}
	for _, typ := range []string{"CONVERSATION_MESSAGE", "AUDIT_LOG", "AUTH_LOG", "APP_LOG", "APP_AUTH_LOG",
		"CODEX_LOG", "CODEX_SECURITY_LOG", "CUSTOM_AGENTS_LOG"} {
		if !seen[typ] {
			t.Errorf("EventTypes lacks %s", typ)
		}
	}
}

// TestContentPaths checks that the paths name the text people wrote in
// the fixtures, and nothing of the envelope.
func TestContentPaths(t *testing.T) {
	for _, tc := range []struct {
		file, typ string
		holds     []string // a path's value holds each of these
	}{
		{"conversation_user.json", "CONVERSATION_MESSAGE", []string{"sk-proj-abc123", "Go key question"}},
		{"app_log_request.json", "APP_LOG", []string{"kenji@example.com"}},
		{"app_log_response.json", "APP_LOG", []string{"3 tickets"}},
		{"custom_agents_log.json", "CUSTOM_AGENTS_LOG", []string{"DE89 3704 0044 0532 0130 00"}},
	} {
		var m map[string]any
		if err := json.Unmarshal(schematest.Fixture(t, "valid", tc.file), &m); err != nil {
			t.Fatal(err)
		}
		var found strings.Builder
		for _, p := range chatgpt.ContentPaths(tc.typ) {
			if slices.Contains(p, "event_id") || slices.Contains(p, "actor") || slices.Contains(p, "principal") {
				t.Errorf("%s: path %v reaches into the envelope", tc.typ, p)
			}
			if v, ok := schematest.Lookup(m, p); ok {
				b, _ := json.Marshal(v)
				found.Write(b)
			}
		}
		for _, s := range tc.holds {
			if !strings.Contains(found.String(), s) {
				t.Errorf("%s: no content path holds %q (found %s)", tc.file, s, found.String())
			}
		}
	}
	for _, typ := range []string{"AUDIT_LOG", "AUTH_LOG", "FUTURE_LOG"} {
		if ps := chatgpt.ContentPaths(typ); ps != nil {
			t.Errorf("%s has content paths %v", typ, ps)
		}
	}
	// The result is the caller's: changing it changes nothing here.
	ps := chatgpt.ContentPaths("APP_LOG")
	ps[0][0] = "changed"
	if chatgpt.ContentPaths("APP_LOG")[0][0] != "input" {
		t.Error("ContentPaths hands out its own table")
	}
}

// subType is the sub-type of a record read by str (a path's string in
// encoding/json's reading), as SubType documents it.
func subType(str func(p ...string) string) string {
	switch str("type") {
	case "AUDIT_LOG", "APP_AUTH_LOG":
		return str("action")
	case "AUTH_LOG":
		return str("action_data", "action")
	case "CODEX_LOG", "CODEX_SECURITY_LOG", "CUSTOM_AGENTS_LOG":
		return str("event_type")
	case "APP_LOG":
		return str("log_type")
	case "CONVERSATION_MESSAGE":
		return str("message", "author", "type")
	}
	return ""
}

// FuzzReadObject holds the reader to encoding/json: it never panics, it
// accepts exactly the inputs encoding/json finds to be one JSON object, and
// on those (with valid UTF-8) it reads the same event_id, type, timestamp
// and actor (a key given twice counting with its last value).
func FuzzReadObject(f *testing.F) {
	// Records of every type as the simulator writes them.
	types := append(slices.Clone(chatgptsim.KnownTypes), "FUTURE_LOG")
	sim := chatgptsim.New(chatgptsim.Options{Seed: 6, Types: types, Lines: 4,
		Now: func() time.Time { return time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC) }})
	for _, typ := range types {
		var b bytes.Buffer
		sim.WriteFile(&b, sim.Files(typ)[0].ID) //nolint:errcheck // a bytes.Buffer does not fail
		for l := range bytes.Lines(b.Bytes()) {
			f.Add(l)
		}
	}
	schematest.AddFixtures(f)
	for _, s := range []string{
		`{}`, ` {"event_id":"a"} `, `{"event_id":"a\u0062","type":"t\"q"}`, `{"actor":{"type":"AGENT","agent_runtime":null}}`,
		`{"actor":{"type":"AGENT","id":"g","agent_runtime":{"delegator":{"user_email":"a@b"}},"agent_runtime":{"id":"r"}}}`,
		`{"type":"CONVERSATION_MESSAGE","message":{"author":{"type":"user"}},"message":{"content":{}}}`, `{"event_id":"\ud800"}`,
		`{"action_result":"BLOCKED","auditrelay":{"severity":"high"},"auditrelay":{"x":1}}`, `{"auditrelay":{"severity":"high"},"action_result":1}`,
		`{"a":1e400}`, `{"a":[}`, `{"a":1}x`, `{"a":1}{}`, "{\"a\":\"\xff\"}", `nul`, ``, `  `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		reader.Fuzz(t, raw, func(fields chatgpt.Fields, m map[string]any) {
			str := func(p ...string) string { return schematest.Str(m, p...) }
			a := fields.Actor()
			if sub := subType(str); fields.SubType() != sub {
				t.Fatalf("%q: sub-type %q; encoding/json %q", raw, fields.SubType(), sub)
			}
			if fields.ID() != str("event_id") || fields.Type() != str("type") || a.Kind != str("actor", "type") {
				t.Fatalf("%q: read id %q type %q actor %q; encoding/json %q %q %q", raw, fields.ID(), fields.Type(), a.Kind,
					str("event_id"), str("type"), str("actor", "type"))
			}
			if fields.ActionResult() != str("action_result") || string(fields.AnnotatedSeverity()) != string(severity.Named(str("auditrelay", "severity"))) {
				t.Fatalf("%q: action_result %q, annotated %q; encoding/json %q %q", raw, fields.ActionResult(), fields.AnnotatedSeverity(),
					str("action_result"), str("auditrelay", "severity"))
			}
			if a.Kind == chatgpt.ActorAgent && (a.AgentID != str("actor", "id") || a.DelegatorEmail != str("actor", "agent_runtime", "delegator", "user_email") ||
				a.RuntimeID != str("actor", "agent_runtime", "id")) {
				t.Fatalf("%q: agent %+v differs from encoding/json's reading", raw, a)
			}
		})
	})
}
