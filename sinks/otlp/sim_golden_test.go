package otlp

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// TestMappingGoldenSimulator maps the first event of every event type the
// simulator produces (every family of OpenAI's catalog, tenant types and
// undocumented ones) and compares each record with
// testdata/golden/sim/<type>.json. When the simulator's output changes on
// purpose, regenerate with: go test ./sinks/otlp -run GoldenSimulator -update
func TestMappingGoldenSimulator(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sim := openaisim.New(openaisim.Options{Seed: 7, Events: 30000, Span: 30 * 24 * time.Hour, Start: start,
		Now: func() time.Time { return start.Add(31 * 24 * time.Hour) }})
	m := newMapper(defaultConfig())
	seen := map[string]bool{}
	observed := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30000 {
		raw := sim.Event(i)
		var idx struct {
			ID          string `json:"id"`
			Type        string `json:"type"`
			EffectiveAt int64  `json:"effective_at"`
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			t.Fatalf("simulator event %d: %v", i, err)
		}
		if seen[idx.Type] {
			continue
		}
		seen[idx.Type] = true
		ev := pipeline.Event{ID: idx.ID, Type: idx.Type, Time: time.Unix(idx.EffectiveAt, 0).UTC(), ObservedAt: observed,
			Source: "acme", Schema: "openai.audit_log", Raw: raw}
		t.Run(idx.Type, func(t *testing.T) {
			ld := m.logs("acme", []pipeline.Event{ev})
			lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			if lr.EventName() != idx.Type || lr.Body().Map().Len() == 0 || lr.Timestamp().AsTime().Unix() != idx.EffectiveAt {
				t.Errorf("record: name %q, body %d keys, time %v", lr.EventName(), lr.Body().Map().Len(), lr.Timestamp().AsTime())
			}
			if want, ok := simSeverity[idx.Type]; ok && (lr.SeverityNumber() != want.num || lr.SeverityText() != want.text) {
				t.Errorf("severity %v %q, want %v %q", lr.SeverityNumber(), lr.SeverityText(), want.num, want.text)
			}
			checkSessionAttrs(t, raw, lr.Attributes().AsRaw())
			golden(t, ld, " ", filepath.Join("testdata", "golden", "sim", idx.Type+".json"))
		})
	}
	if len(seen) < 60 {
		t.Errorf("only %d event types in 30000 simulator events", len(seen))
	}
}

// simSeverity is read by hand off the table in schema/openai and the
// sink's scale (README): one type of each level, and a type no rule names.
var simSeverity = map[string]struct {
	num  plog.SeverityNumber
	text string
}{
	"login.succeeded":    {plog.SeverityNumberInfo, "info"},
	"widget.frobnicated": {plog.SeverityNumberInfo, "info"},
	"project.created":    {plog.SeverityNumberInfo2, "low"},
	"rate_limit.deleted": {plog.SeverityNumberInfo2, "low"}, // rate_limit.* before *.deleted
	"login.failed":       {plog.SeverityNumberWarn, "medium"},
	"tunnel.deleted":     {plog.SeverityNumberWarn, "medium"},
	"role.created":       {plog.SeverityNumberWarn2, "high"},
	"scim.disabled":      {plog.SeverityNumberWarn2, "high"},
}

// checkSessionAttrs holds the attributes of a session actor to the event's
// own fields, read here with encoding/json.
func checkSessionAttrs(t *testing.T, raw []byte, attrs map[string]any) {
	t.Helper()
	var ev struct {
		Actor struct {
			Type    string
			Session *struct {
				User      struct{ ID, Email string }
				IPAddress string `json:"ip_address"`
				UserAgent string `json:"user_agent"`
			}
		}
	}
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Actor.Type != "session" || ev.Actor.Session == nil {
		return
	}
	s := ev.Actor.Session
	for k, want := range map[string]string{"user.id": s.User.ID, "user.email": s.User.Email,
		"client.address": s.IPAddress, "user_agent.original": s.UserAgent, "openai.actor.type": "session"} {
		if want != "" && attrs[k] != want {
			t.Errorf("attribute %s = %v, want %q", k, attrs[k], want)
		}
	}
}
