package chatgpt

import (
	"context"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
	"github.com/auditrelay/auditrelay/source/internal/spantest"
)

// TestWindowSpans: every listing and download runs in the span of the
// window its first records go to, each such window carries its own span,
// and none is left open. A window whose records all come from a file
// downloaded for an earlier one made no request: it has no span of the
// source's, and the engine starts one.
func TestWindowSpans(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 21, Types: []string{"AUDIT_LOG", "AUTH_LOG"}})
	cfg := testConfig(sim, base, "AUDIT_LOG", "AUTH_LOG")
	cfg.MaxWindowEvents = 100
	tr := &spantest.Tracer{}
	s, err := NewSource(pipeline.Settings{Name: "acme", Tracer: tr}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clk.Now
	seen := map[*spantest.Span]bool{}
	events := 0
	host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
		events += len(w.Events)
		if msg := tr.Check(w.Span, len(w.Events), true, seen); msg != "" {
			t.Fatalf("window %v..%v of %d events: %s", w.Start, w.End, len(w.Events), msg)
		}
		return nil
	}}
	if err := s.Run(t.Context(), host); err != nil {
		t.Fatal(err)
	}
	if want := len(sim.Truth().EventIDs); events != want {
		t.Fatalf("%d events emitted, want %d", events, want)
	}
	if len(seen) < 3 {
		t.Fatalf("%d windows with spans: the test wants several", len(seen))
	}
	if n := tr.Orphans(); n != 0 {
		t.Fatalf("%d requests outside any window span", n)
	}
	for _, sp := range tr.Windows() {
		if name, reqs, ends := sp.State(); ends != 1 {
			t.Fatalf("span %q ended %d times (%d requests)", name, ends, reqs)
		}
	}
}
