package kafka

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestEveryVendorSameHeaders: OpenAI audit logs and Anthropic compliance
// activities in one topic carry their vendor, type and id under the same
// header names, and the actor key picks each vendor's actor; a topic
// template may route on the vendor.
func TestEveryVendorSameHeaders(t *testing.T) {
	_, addr := newCluster(t, kfake.SeedTopics(3, "audit"))
	sim := anthropicsim.New(anthropicsim.Options{Seed: 3, Activities: 40, Span: time.Hour, Start: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)})
	var evs []pipeline.Event
	for i := range 40 {
		ev, err := anthropicschema.Parse(sim.Activity(i), "claude", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev, event(i, "claude"))
	}
	cfg := testConfig(addr, "audit")
	cfg.Key = KeyActor
	s := startSink(t, cfg)
	if err := s.Consume(t.Context(), pipeline.Batch{Source: "claude", Events: evs}); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, addr, "audit", true)
	if len(recs) != len(evs) {
		t.Fatalf("read %d records, want %d", len(recs), len(evs))
	}
	byID := map[string]pipeline.Event{}
	for _, ev := range evs {
		byID[ev.ID] = ev
	}
	vendors := map[string]int{}
	for _, r := range recs {
		id, _ := header(r, "event.id")
		ev, ok := byID[id]
		if !ok || !bytes.Equal(r.Value, ev.Raw) {
			t.Fatalf("record with event.id %q does not carry that event", id)
		}
		want := map[string]string{"event.type": ev.Type, "event.schema": ev.Schema, "event.vendor": map[string]string{
			"openai.audit_log": "openai", anthropicschema.Schema: "anthropic"}[ev.Schema]}
		for k, v := range want {
			if got, _ := header(r, k); got != v || v == "" {
				t.Errorf("header %s of %s = %q, want %q", k, id, got, v)
			}
		}
		vendors[want["event.vendor"]]++
		if key := string(r.Key); key != ev.ActorID && !(key == "" && ev.ActorID == "" && ev.ActorEmail == "") && key != ev.ActorEmail {
			t.Errorf("key of %s = %q, want the actor %q", id, key, ev.ActorID)
		}
	}
	if vendors["anthropic"] != 40 || vendors["openai"] != 40 {
		t.Fatalf("records by vendor %v", vendors)
	}

	t.Run("topic by vendor", func(t *testing.T) {
		cfg := testConfig(addr, "audit.{{.Vendor}}")
		cfg.CreateTopics = true
		s := startSink(t, cfg)
		if err := s.Consume(t.Context(), pipeline.Batch{Source: "claude", Events: evs}); err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{"audit.openai", "audit.anthropic"} {
			if n := len(readAll(t, addr, topic, true)); n != 40 {
				t.Errorf("%s holds %d records, want 40", topic, n)
			}
		}
	})
}
