package splunkhec

import (
	"context"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
	chatgptschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/sinks/splunkhec/hectest"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestEveryVendorFoundAlike: an Anthropic activity, a ChatGPT compliance
// record and an OpenAI audit log in one batch each carry their vendor as
// an indexed field and, without a configured sourcetype, as
// <vendor>:audit; a configured sourcetype holds for all. The event is the
// vendor's own JSON; the time is the activity's created_at, the record's
// timestamp.
func TestEveryVendorFoundAlike(t *testing.T) {
	sim := anthropicsim.New(anthropicsim.Options{Seed: 3, Activities: 5, Span: time.Hour, Start: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)})
	activity, err := anthropicschema.Parse(sim.Activity(2), "claude", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	record, err := chatgptschema.Parse([]byte(`{"event_id":"3d2c1b0a-9f8e-4d7c-b6a5-4f3e2d1c0b9a","type":"AUTH_LOG",`+
		`"timestamp":"2026-07-09T10:07:00.250000Z","actor":{"type":"ACCOUNT_USER","user_id":"user-Q1w2","user_email":"kenji@example.com"},`+
		`"action_data":{"action":"login_failed"}}`), "chatgpt", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs := []pipeline.Event{activity, record, events(1, 300)[0]}
	for _, tc := range []struct {
		sourcetype string
		want       []string
	}{{"", []string{"anthropic:audit", "chatgpt:audit", "openai:audit"}}, {"ai:audit", []string{"ai:audit", "ai:audit", "ai:audit"}}} {
		srv, s := start(t, hectest.Options{Token: token, Indexes: []string{"audit"}}, func(c *Config) { c.Sourcetype = tc.sourcetype })
		if err := s.Consume(context.Background(), pipeline.Batch{Source: "claude", Events: evs}); err != nil {
			t.Fatal(err)
		}
		got := srv.Events()
		if len(got) != len(evs) {
			t.Fatalf("indexed %d events", len(got))
		}
		for i, e := range got {
			if e.Sourcetype != tc.want[i] || e.Fields["auditrelay_vendor"] != evs[i].Vendor() || string(e.Event) != string(evs[i].Raw) ||
				e.Time != float64(evs[i].Time.UnixMilli())/1000 {
				t.Errorf("sourcetype %q: event %d indexed as %+v", tc.sourcetype, i, e)
			}
		}
	}
}
