package datadog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
	chatgptschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/sinks/datadog/ddtest"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestEveryVendorFoundAlike: an Anthropic activity and an OpenAI audit log
// in one batch each carry the tag vendor:<vendor>, their type as evt.name
// and their actor as usr.id and usr.email (each vendor names its actor its
// own way in the message), the message being the vendor's JSON.
func TestEveryVendorFoundAlike(t *testing.T) {
	sim := anthropicsim.New(anthropicsim.Options{Seed: 3, Activities: 40, Span: time.Hour, Start: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)})
	var activity pipeline.Event
	for i := range 40 { // one by a user, who has an id and an e-mail address
		ev, err := anthropicschema.Parse(sim.Activity(i), "claude", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ev.ActorID != "" && ev.ActorEmail != "" {
			activity = ev
			break
		}
	}
	if activity.ID == "" {
		t.Fatal("no activity by a user")
	}
	audit := events(1, 300)[0]
	audit.Schema, audit.ActorID = "openai.audit_log", "user-abc"
	evs := []pipeline.Event{activity, audit}
	srv, s := start(t, ddtest.Options{APIKey: apiKey}, nil)
	if err := s.Consume(context.Background(), pipeline.Batch{Source: "claude", Events: evs}); err != nil {
		t.Fatal(err)
	}
	logs := srv.Logs()
	if len(logs) != 2 {
		t.Fatalf("%d logs", len(logs))
	}
	for i, l := range logs {
		ev := evs[i]
		if !strings.HasSuffix(l.Tags, ",vendor:"+ev.Vendor()) || !strings.Contains(l.Tags, "auditrelay_source:claude") ||
			l.Evt.Name != ev.Type || l.Usr.ID != ev.ActorID || l.Usr.Email != ev.ActorEmail || l.Message != string(ev.Raw) ||
			l.Timestamp != ev.Time.UnixMilli() {
			t.Errorf("event %d (%s) logged as %+v", i, ev.Vendor(), l)
		}
	}
}

// TestChatGPTRecordsNameTheirPerson: a ChatGPT record carries the tag
// vendor:chatgpt, its type as evt.name and the person accountable for it
// as usr.*: the user; for an agent's record the person the agent acted
// for, id and e-mail alike (not the agent's id beside the person's
// e-mail); for an API key its redacted id, as every vendor's key is
// usr.id. A record whose bytes are not an object keeps the indexed actor.
func TestChatGPTRecordsNameTheirPerson(t *testing.T) {
	parse := func(raw string) pipeline.Event {
		ev, err := chatgptschema.Parse([]byte(raw), "chatgpt", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	const head = `{"event_id":"e%d","type":"%s","timestamp":"2026-07-09T10:07:00Z","principal":{"id":"ws_1","type":"CHATGPT_WORKSPACE"},`
	evs := []pipeline.Event{
		parse(fmt.Sprintf(head, 1, "AUTH_LOG") + `"actor":{"type":"ACCOUNT_USER","user_id":"user-Q1w2","user_email":"kenji@example.com"}}`),
		parse(fmt.Sprintf(head, 2, "CUSTOM_AGENTS_LOG") + `"actor":{"type":"AGENT","id":"agent_7Fq","name":"Expense helper",` +
			`"agent_runtime":{"id":"run_42","delegator":{"type":"ACCOUNT_USER","user_id":"user-Ana","user_email":"ana@example.com"}}}}`),
		parse(fmt.Sprintf(head, 3, "AUDIT_LOG") + `"actor":{"type":"API_KEY","redacted_id":"sk-...RxIA"}}`),
		{ID: "e4", Type: "AUDIT_LOG", Schema: chatgptschema.Schema, ActorID: "agent_1", ActorEmail: "li@example.com", Raw: []byte(`"not an object"`)},
	}
	want := [][2]string{{"user-Q1w2", "kenji@example.com"}, {"user-Ana", "ana@example.com"}, {"sk-...RxIA", ""}, {"agent_1", "li@example.com"}}
	srv, s := start(t, ddtest.Options{APIKey: apiKey}, nil)
	if err := s.Consume(context.Background(), pipeline.Batch{Source: "chatgpt", Events: evs}); err != nil {
		t.Fatal(err)
	}
	logs := srv.Logs()
	if len(logs) != len(evs) {
		t.Fatalf("%d logs", len(logs))
	}
	for i, l := range logs {
		if !strings.HasSuffix(l.Tags, ",vendor:chatgpt") || l.Evt.Name != evs[i].Type || l.Usr.ID != want[i][0] || l.Usr.Email != want[i][1] ||
			l.Message != string(evs[i].Raw) {
			t.Errorf("record %s logged as %+v, want usr %v", evs[i].ID, l, want[i])
		}
	}
}
