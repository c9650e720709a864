package enrich

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestAnthropicActivitiesRankedByTheirTable: an Anthropic activity gets
// its level from schema/anthropic's table (after the user's rules), not
// from OpenAI's, for every activity the simulator writes; a Compliance API
// call that failed is at least low; the user's rules come first.
func TestAnthropicActivitiesRankedByTheirTable(t *testing.T) {
	now := time.Unix(1_748_740_000, 0)
	e := New(&Config{TTL: time.Hour, Host: "relay-1",
		Severity: []SeverityRule{{Match: "sso_login_succeeded", Level: "medium"}}},
		slog.New(slog.DiscardHandler), nil, func() time.Time { return now })
	sim := anthropicsim.New(anthropicsim.Options{Seed: 8, Activities: 3000, Span: 24 * time.Hour, Start: now.Add(-25 * time.Hour)})
	var b pipeline.Batch
	for i := range 3000 {
		ev, err := anthropicschema.Parse(sim.Activity(i), "claude", now)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, ev)
	}
	out, err := e.Process(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[anthropicschema.Level]int{}
	for i, ev := range out.Events {
		var got struct {
			Auditrelay struct {
				Severity   anthropicschema.Level `json:"severity"`
				SeverityID int                   `json:"severity_id"`
				Host       string                `json:"host"`
			} `json:"auditrelay"`
		}
		if err := json.Unmarshal(ev.Raw, &got); err != nil {
			t.Fatal(err)
		}
		f, err := anthropicschema.ReadObject(b.Events[i].Raw)
		if err != nil {
			t.Fatal(err)
		}
		want := anthropicschema.Severity(nil, ev.Type, f.Failed())
		if ev.Type == "sso_login_succeeded" {
			want = anthropicschema.Medium
		}
		a := got.Auditrelay
		if a.Severity != want || a.SeverityID != want.ID() || a.Host != "relay-1" {
			t.Fatalf("%s (%s): annotated %+v, want %s", ev.ID, ev.Type, a, want)
		}
		if fa, _ := anthropicschema.ReadObject(ev.Raw); fa.AnnotatedSeverity() != want {
			t.Fatalf("%s: the annotation does not read back", ev.ID)
		}
		levels[a.Severity]++
	}
	// The table's levels, not OpenAI's table (which knows none of these
	// types and would call them all info).
	for _, l := range []anthropicschema.Level{anthropicschema.Info, anthropicschema.Low, anthropicschema.Medium, anthropicschema.High, anthropicschema.Critical} {
		if levels[l] == 0 {
			t.Errorf("no activity ranked %s: %v", l, levels)
		}
	}
}
