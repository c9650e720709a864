package splunkhec

import (
	"context"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/sinks/splunkhec/hectest"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestEveryVendorFoundAlike: an Anthropic activity and an OpenAI audit log
// in one batch each carry their vendor as an indexed field and, without a
// configured sourcetype, as <vendor>:audit; a configured sourcetype holds
// for both. The event is the vendor's own JSON, whose top-level id and type
// Splunk extracts alike; the time is the activity's created_at.
func TestEveryVendorFoundAlike(t *testing.T) {
	sim := anthropicsim.New(anthropicsim.Options{Seed: 3, Activities: 5, Span: time.Hour, Start: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)})
	activity, err := anthropicschema.Parse(sim.Activity(2), "claude", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs := []pipeline.Event{activity, events(1, 300)[0]}
	for _, tc := range []struct {
		sourcetype string
		want       []string
	}{{"", []string{"anthropic:audit", "openai:audit"}}, {"ai:audit", []string{"ai:audit", "ai:audit"}}} {
		srv, s := start(t, hectest.Options{Token: token, Indexes: []string{"audit"}}, func(c *Config) { c.Sourcetype = tc.sourcetype })
		if err := s.Consume(context.Background(), pipeline.Batch{Source: "claude", Events: evs}); err != nil {
			t.Fatal(err)
		}
		got := srv.Events()
		if len(got) != 2 {
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
