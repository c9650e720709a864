package datadog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
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
