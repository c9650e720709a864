package openai_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

func TestParseAuditLog(t *testing.T) {
	for _, tc := range []struct {
		raw                        string
		actor, email, project, typ string
	}{
		{`{"id":"a","type":"login.failed","effective_at":5,"actor":{"type":"session","session":{"user":{"id":"u1","email":"a@b"},"ip_address":"1.2.3.4"}}}`, "u1", "a@b", "", "login.failed"},
		{`{"id":"a","type":"api_key.created","effective_at":5,"project":{"id":"p1"},"actor":{"type":"api_key","api_key":{"id":"key_1","type":"service_account","service_account":{"id":"sa1"}}}}`, "sa1", "", "p1", "api_key.created"},
		{`{"id":"a","type":"api_key.created","effective_at":5,"actor":{"type":"api_key","api_key":{"id":"key_1","type":"user","user":{"id":"u2","email":"b@c"}}}}`, "u2", "b@c", "", "api_key.created"},
		{`{"id":"a","type":"x","effective_at":5,"actor":{"type":"api_key","api_key":{"id":"key_1"}}}`, "key_1", "", "", "x"},
		{`{"id":"a","type":"widget.frobnicated","effective_at":5,"actor":null,"widget.frobnicated":{"deep":[{"k":"v"}]}}`, "", "", "", "widget.frobnicated"},
		{`{"type":"t\u00e9","id":"esc\"aped","effective_at":5}`, "", "", "", "té"},
	} {
		ev, err := openai.ParseAuditLog([]byte(tc.raw), "s", time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if ev.ActorID != tc.actor || ev.ActorEmail != tc.email || ev.ProjectID != tc.project || ev.Type != tc.typ || ev.Schema != openai.SchemaAuditLog {
			t.Errorf("%s: got actor %q email %q project %q type %q schema %q", tc.raw, ev.ActorID, ev.ActorEmail, ev.ProjectID, ev.Type, ev.Schema)
		}
		if string(ev.Raw) != tc.raw {
			t.Errorf("raw bytes changed")
		}
	}
	for _, raw := range []string{`{"type":"t","effective_at":1}`, `{"id":"a","effective_at":1}`, `{"id":"a","type":"t"}`,
		`{"id":"a","type":"t","effective_at":-1}`, `{"id":"a","type":"t","effective_at":"1"}`, `{"id":1,"type":"t","effective_at":1}`, `[]`, `{`} {
		if _, err := openai.ParseAuditLog([]byte(raw), "s", time.Time{}); err == nil {
			t.Errorf("accepted %s", raw)
		}
	}
}

func TestParseRequestLog(t *testing.T) {
	for _, tc := range []struct {
		name, raw      string
		wantErr        bool
		id, typ, actor string
		email, project string
	}{
		{name: "user actor", raw: `{"id":"log_1","event":"chat.completions.create","created_at":1700000000,"actor":{"type":"user","id":"user_1","name":"ana@example.com"},"project":{"id":"proj_1"}}`,
			id: "log_1", typ: "chat.completions.create", actor: "user_1", email: "ana@example.com", project: "proj_1"},
		{name: "api key actor", raw: `{"id":"log_2","event":"embeddings.create","created_at":1700000001,"actor":{"type":"api_key","id":"key_1","name":"ci key"},"project_id":"proj_2"}`,
			id: "log_2", typ: "embeddings.create", actor: "key_1", project: "proj_2"},
		{name: "no actor", raw: `{"id":"log_3","event":"organization.user.deleted","created_at":1700000002,"actor":null}`, id: "log_3", typ: "organization.user.deleted"},
		{name: "missing event", raw: `{"id":"log_4","created_at":1}`, wantErr: true},
		{name: "missing created_at", raw: `{"id":"log_5","event":"x"}`, wantErr: true},
		{name: "not json", raw: `{"id":`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := openai.ParseRequestLog([]byte(tc.raw), "acme", time.Now())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if ev.ID != tc.id || ev.Type != tc.typ || ev.ActorID != tc.actor || ev.ActorEmail != tc.email || ev.ProjectID != tc.project || ev.Schema != openai.SchemaRequestLog {
				t.Fatalf("got %+v", ev)
			}
			if string(ev.Raw) != tc.raw {
				t.Fatal("raw changed")
			}
		})
	}
}

// FuzzParseEvents holds both parsers to encoding/json: on any input they
// never panic, an accepted event keeps its source and bytes, and on every
// valid object (repeated keys included: the last one counts) they accept
// exactly what a reading with encoding/json accepts and give the same
// routing fields.
func FuzzParseEvents(f *testing.F) {
	sim := openaisim.New(openaisim.Options{Seed: 6, Events: 50, OrgLogEvents: 50})
	for i := range 50 {
		f.Add(sim.Event(i))
		f.Add(sim.Log(i))
	}
	for _, s := range []string{
		`{"id":"x","type":"t","effective_at":1}`,
		`{"id":"x","event":"e","created_at":1}`,
		`{"id":"x","event":"e","created_at":-1}`,
		`{"id":"x","event":"e","created_at":1e300}`,
		`{"id":"","type":"t","effective_at":1}`,
		`{"id":"x","project_id":"p","project":{"id":"q"},"actor":{"name":"a@b.c"},"event":"e","created_at":2}`,
		`{"id":"a\u0062","type":"t\"q","effective_at":1.5e3,"actor":null,"project":null}`,
		`{"id":"a","type":"t","effective_at":1,"actor":{"type":"api_key","api_key":{"id":"k","service_account":{"id":"sa"}}}}`,
		`{"actor":{"type":"session","session":{"user":{"id":"u","email":"e@x"}}},"project":{"id":"p","name":"n"},"x":[1,{"y":"}"}]}`,
		`{"id":"a","id":"b","type":"t","effective_at":1,"actor":{"type":"session","session":{"user":{"id":"u1","id":"u2"}}},"actor":{"type":"api_key","api_key":{"id":"k"}}}`,
		`{"id":1}`, `{"id":"a","effective_at":"1"}`, `null`, `[]`, `{`, `"x"`, `{}`, `{"a":tru}`,
	} {
		f.Add([]byte(s))
	}
	observed := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, p := range []struct {
			name                   string
			parse                  func([]byte, string, time.Time) (pipeline.Event, error)
			schema, typeKey, timeK string
		}{
			{"audit", openai.ParseAuditLog, openai.SchemaAuditLog, "type", "effective_at"},
			{"request", openai.ParseRequestLog, openai.SchemaRequestLog, "event", "created_at"},
		} {
			ev, err := p.parse(raw, "acme", observed)
			if err == nil {
				if ev.ID == "" || ev.Type == "" || ev.Schema != p.schema {
					t.Fatalf("%s: accepted %q without id or type: %+v", p.name, raw, ev)
				}
				if ev.Source != "acme" || !bytes.Equal(ev.Raw, raw) {
					t.Fatalf("%s: source %q, raw %q: the event must keep its source and bytes", p.name, ev.Source, ev.Raw)
				}
			}
			want, ok := reference(raw, p.typeKey, p.timeK)
			if !ok {
				continue // not an ordinary object: only the checks above hold
			}
			if (err == nil) != (want != nil) {
				t.Fatalf("%s: %q: parser err %v, encoding/json accepts: %v", p.name, raw, err, want != nil)
			}
			if err == nil && (ev.ID != want.ID || ev.Type != want.Type || !ev.Time.Equal(want.Time) ||
				ev.ProjectID != want.ProjectID || ev.ActorID != want.ActorID || ev.ActorEmail != want.ActorEmail) {
				t.Fatalf("%s: %q:\nparser        %+v\nencoding/json %+v", p.name, raw, ev, want)
			}
		}
	})
}

// reference reads an event's routing fields with encoding/json, as the
// package documents them (keys matched exactly, as a map decodes them);
// ok is false for input outside the comparison (not valid JSON, invalid
// UTF-8, a number too large for encoding/json). A nil event means the
// input lacks a required field.
func reference(raw []byte, typeKey, timeKey string) (ev *pipeline.Event, ok bool) {
	if !jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true)) {
		return nil, false
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	str := func(v any, path ...string) string {
		for _, k := range path {
			o, _ := v.(map[string]any)
			v = o[k]
		}
		s, _ := v.(string)
		return s
	}
	id, typ := str(m, "id"), str(m, typeKey)
	at, isNum := m[timeKey].(float64)
	if id == "" || typ == "" || !isNum || at < 0 || at > math.MaxInt32*4 {
		return nil, true
	}
	ev = &pipeline.Event{ID: id, Type: typ, Time: time.Unix(int64(at), 0), ProjectID: str(m, "project", "id")}
	if ev.ProjectID == "" && typeKey == "event" {
		ev.ProjectID = str(m, "project_id")
	}
	actor, _ := m["actor"].(map[string]any)
	var user, email, account, key string
	switch str(actor, "type") {
	case "session":
		user, email = str(actor, "session", "user", "id"), str(actor, "session", "user", "email")
	case "api_key":
		user, email = str(actor, "api_key", "user", "id"), str(actor, "api_key", "user", "email")
		account, key = str(actor, "api_key", "service_account", "id"), str(actor, "api_key", "id")
	}
	for _, id := range []string{user, account, key, str(actor, "id")} {
		if id != "" {
			ev.ActorID = id
			break
		}
	}
	ev.ActorEmail = email
	name := str(actor, "name")
	if at := strings.IndexByte(name, '@'); email == "" && at > 0 && at < len(name)-1 &&
		!strings.ContainsAny(name, " \t\r\n") && strings.Contains(name[at:], ".") {
		ev.ActorEmail = name // a request log names a user by address
	}
	return ev, true
}

func TestFields(t *testing.T) {
	raw := []byte(`{"id":"a","type":"login.failed","effective_at":5,"project":{"id":"p1","name":"Fraud"},
		"login.failed":{"id":"x1","error_code":"invalid_password","error_message":"Wrong password"}}`)
	f := openai.Read(raw, "login.failed")
	if id, name := f.Project(); id != "p1" || name != "Fraud" {
		t.Errorf("Project = %q, %q", id, name)
	}
	if code, msg := f.PayloadError(); code != "invalid_password" || msg != "Wrong password" {
		t.Errorf("PayloadError = %q, %q", code, msg)
	}
	if id := f.PayloadID(); id != "x1" {
		t.Errorf("PayloadID = %q", id)
	}
	req := []byte(`{"id":"l","event":"e","created_at":1,"project_id":"p2","target":{"type":"user","id":"u9"}}`)
	r := openai.Read(req, "e")
	if id, name := r.Project(); id != "p2" || name != "" {
		t.Errorf("Project of a request log = %q, %q", id, name)
	}
	if kind, id := r.Target(); kind != "user" || id != "u9" || r.PayloadID() != "" || !r.LooksLikeRequestLog() {
		t.Errorf("Target = %q, %q", kind, id)
	}
	for _, tc := range []struct{ raw, schema string }{
		{`{"id":"a","type":"t","effective_at":1}`, openai.SchemaAuditLog},
		{`{"id":"a","event":"t","created_at":1}`, openai.SchemaRequestLog},
		{`{"id":"a","event":"t","created_at":1,"effective_at":"x"}`, openai.SchemaRequestLog},
	} {
		if ev, err := openai.Parse([]byte(tc.raw), "s", time.Time{}); err != nil || ev.Schema != tc.schema {
			t.Errorf("Parse(%s) = %q, %v; want %s", tc.raw, ev.Schema, err, tc.schema)
		}
	}
	if _, err := openai.Parse([]byte(`{"id":"a"}`), "s", time.Time{}); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("Parse of neither log: %v", err)
	}
}

func TestClientNumbers(t *testing.T) {
	raw := []byte(`{"actor":{"type":"session","session":{"ip_address_details":{"latitude":"37.77490","longitude":-122.4,"asn":"0.0 "}}}}`)
	f := openai.Read(raw, "")
	c := f.Client()
	if c.Latitude != "37.77490" || c.Longitude != "-122.4" || c.ASN != "" {
		t.Errorf("client numbers %q %q %q; want 37.77490, -122.4 and none for a padded string", c.Latitude, c.Longitude, c.ASN)
	}
}
