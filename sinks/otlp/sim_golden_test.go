package otlp

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

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
			golden(t, ld, " ", filepath.Join("testdata", "golden", "sim", idx.Type+".json"))
		})
	}
	if len(seen) < 60 {
		t.Errorf("only %d event types in 30000 simulator events", len(seen))
	}
}
