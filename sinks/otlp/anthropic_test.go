package otlp

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestMappingAnthropicActivities: an Anthropic activity maps with
// schema/anthropic, not schema/openai: its vendor, type and id, its
// organization, its actor by kind (every kind the simulator writes, an
// unknown one passing with its kind alone) on the same semantic
// convention attributes as OpenAI's actors, and its level from Anthropic's
// table unless enrich annotated one.
func TestMappingAnthropicActivities(t *testing.T) {
	m := newMapper(defaultConfig())
	sim := anthropicsim.New(anthropicsim.Options{Seed: 5, Activities: 2000, Span: 24 * time.Hour, Start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)})
	kinds := map[string]int{}
	for i := range 2000 {
		ev, err := anthropicschema.Parse(sim.Activity(i), "claude", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		f, _ := anthropicschema.ReadObject(ev.Raw)
		act := f.Actor()
		lr := m.logs("claude", []pipeline.Event{ev}).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		got := lr.Attributes().AsRaw()
		want := map[string]any{"event.name": ev.Type, "auditrelay.vendor": "anthropic", "anthropic.event.id": ev.ID,
			"anthropic.organization.id": f.OrganizationID(), "anthropic.actor.type": act.Kind, "anthropic.actor.id": act.ID(),
			"user.id": act.UserID, "user.email": act.Email, "client.address": act.IP, "user_agent.original": act.UserAgent}
		for k, v := range want {
			if v == "" {
				if _, ok := got[k]; ok {
					t.Fatalf("%s (%s): attribute %s set, want none", ev.ID, act.Kind, k)
				}
				delete(want, k)
				continue
			}
			if got[k] != v {
				t.Fatalf("%s (%s): attribute %s = %v, want %v", ev.ID, act.Kind, k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: attributes %v, want exactly %v", ev.ID, got, want)
		}
		lvl := anthropicschema.Severity(nil, ev.Type, f.Failed())
		if lr.SeverityText() != string(lvl) || lr.SeverityNumber() != severityNumbers[lvl] || lr.EventName() != ev.Type ||
			lr.Timestamp().AsTime() != ev.Time || lr.Body().Map().Len() == 0 {
			t.Fatalf("%s: record %v %v %q at %v", ev.ID, lr.SeverityText(), lr.SeverityNumber(), lr.EventName(), lr.Timestamp())
		}
		kinds[act.Kind]++
	}
	for _, k := range anthropicsim.ActorTypes() {
		if kinds[k] == 0 {
			t.Errorf("no activity by a %s was mapped (%v)", k, kinds)
		}
	}

	// What enrich annotated (the user's override) wins over the table.
	raw := `{"id":"activity_01X","created_at":"2026-04-10T08:09:10Z","type":"claude_chat_created","auditrelay":{"severity":"critical"}}`
	ev, err := anthropicschema.Parse([]byte(raw), "claude", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if lr := m.logs("claude", []pipeline.Event{ev}).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0); lr.SeverityNumber() != plog.SeverityNumberError {
		t.Errorf("annotated critical mapped to %v", lr.SeverityNumber())
	}
}
