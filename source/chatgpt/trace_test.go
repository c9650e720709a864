package chatgpt

import (
	"context"
	"sync"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// recordingTracer records the window spans the source starts and the
// requests made in each.
type recordingTracer struct {
	mu      sync.Mutex
	windows []*recordedSpan
	orphans int // requests outside any window span
}

type recordedSpan struct {
	requests int
	ends     int
}

type spanKey struct{}

func (r *recordingTracer) StartWindow(ctx context.Context) (context.Context, pipeline.Span) {
	s := &recordedSpan{}
	r.mu.Lock()
	r.windows = append(r.windows, s)
	r.mu.Unlock()
	return context.WithValue(ctx, spanKey{}, s), s
}

func (r *recordingTracer) Start(ctx context.Context, _ string) (context.Context, pipeline.Span) {
	return ctx, pipeline.NopSpan{}
}

func (r *recordingTracer) StartClient(ctx context.Context, _ string) (context.Context, pipeline.Span) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := ctx.Value(spanKey{}).(*recordedSpan); ok {
		s.requests++
	} else {
		r.orphans++
	}
	return ctx, pipeline.NopSpan{}
}

func (r *recordingTracer) WithSpan(ctx context.Context, _ pipeline.Span) context.Context { return ctx }

func (s *recordedSpan) Recording() bool                   { return true }
func (s *recordedSpan) SetAttributes(...pipeline.Attr)    {}
func (s *recordedSpan) AddEvent(string, ...pipeline.Attr) {}
func (s *recordedSpan) SetName(string)                    {}
func (s *recordedSpan) End(error)                         { s.ends++ }

// TestWindowSpans: every listing and download runs in the span of the
// window its first records go to, each such window carries its own span,
// and none is left open. A window whose records all come from a file
// downloaded for an earlier one made no request: it has no span of the
// source's, and the engine starts one.
func TestWindowSpans(t *testing.T) {
	clk := newClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 21, Types: []string{"AUDIT_LOG", "AUTH_LOG"}})
	cfg := testConfig(sim, base, "AUDIT_LOG", "AUTH_LOG")
	cfg.MaxWindowEvents = 100
	tr := &recordingTracer{}
	s, err := NewSource(pipeline.Settings{Name: "acme", Tracer: tr}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clk.Now
	seen := map[*recordedSpan]bool{}
	events := 0
	host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		events += len(w.Events)
		if w.Span == nil {
			return nil
		}
		sp, ok := w.Span.(*recordedSpan)
		switch {
		case !ok:
			t.Fatalf("window %v..%v: a span of another tracer", w.Start, w.End)
		case seen[sp]:
			t.Fatal("two windows share a span")
		case sp.ends != 0:
			t.Fatal("a window's span is ended before the engine took it")
		case len(w.Events) > 0 && sp.requests == 0:
			t.Fatal("a window of events whose span holds no request")
		}
		seen[sp] = true
		sp.ends++ // the engine's part
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
	if tr.orphans != 0 {
		t.Fatalf("%d requests outside any window span", tr.orphans)
	}
	for _, sp := range tr.windows {
		if sp.ends != 1 {
			t.Fatalf("a span ended %d times (%d requests)", sp.ends, sp.requests)
		}
	}
}
