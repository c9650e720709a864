package timewindow

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// recordingTracer records the window spans a Planner starts; requests
// find theirs in their context.
type recordingTracer struct {
	mu    sync.Mutex
	spans []*recordedSpan
}

type recordedSpan struct {
	mu    sync.Mutex
	name  string
	ends  int
	walks int
}

type spanKey struct{}

func (r *recordingTracer) StartWindow(ctx context.Context) (context.Context, pipeline.Span) {
	s := &recordedSpan{name: "window"}
	r.mu.Lock()
	r.spans = append(r.spans, s)
	r.mu.Unlock()
	return context.WithValue(ctx, spanKey{}, s), s
}

func (r *recordingTracer) Start(ctx context.Context, _ string) (context.Context, pipeline.Span) {
	return ctx, pipeline.NopSpan{}
}

func (r *recordingTracer) StartClient(ctx context.Context, _ string) (context.Context, pipeline.Span) {
	return ctx, pipeline.NopSpan{}
}

func (r *recordingTracer) WithSpan(ctx context.Context, _ pipeline.Span) context.Context { return ctx }

func (s *recordedSpan) Recording() bool                   { return true }
func (s *recordedSpan) SetAttributes(...pipeline.Attr)    {}
func (s *recordedSpan) AddEvent(string, ...pipeline.Attr) {}
func (s *recordedSpan) SetName(n string)                  { s.mu.Lock(); s.name = n; s.mu.Unlock() }
func (s *recordedSpan) End(error)                         { s.mu.Lock(); s.ends++; s.mu.Unlock() }

// TestWindowSpans: during a back-fill that splits full windows and shares
// stretches among readers, every request runs in a window span, every
// window emitted carries the span its requests ran in (one span per
// window), and every span that became no window is ended as a plan.
func TestWindowSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now().Unix()
		api := newFakeAPI(6000, 240*3600, now, 9)
		api.rate = func(time.Duration) float64 { return 20 }
		api.limiter = httpapi.NewLimiter(httpapi.LimiterConfig{MaxConcurrency: 8})
		tr := &recordingTracer{}
		walk := func(ctx context.Context, lo, hi int64, visit func([]pipeline.Event, bool) bool) (int, error) {
			s, ok := ctx.Value(spanKey{}).(*recordedSpan)
			if !ok {
				t.Errorf("a request of [%d, %d) outside any window span", lo, hi)
			} else {
				s.mu.Lock()
				s.walks++
				s.mu.Unlock()
			}
			return api.walk(ctx, lo, hi, visit)
		}
		p := &Planner{Config: Config{Overlap: 5 * time.Minute, PollInterval: time.Second, MaxWindowEvents: 400,
			MaxWindow: 168 * time.Hour, PageSize: 100, MaxBuffered: 2000, Prefetch: -1},
			Walk: walk, Limit: api.limiter.Limit, Log: slog.New(slog.DiscardHandler), Tracer: tr,
			Now: func() (time.Time, bool) { return time.Now(), true }}
		emitted := map[*recordedSpan]bool{}
		events := 0
		host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
			s, ok := w.Span.(*recordedSpan)
			switch {
			case !ok:
				t.Fatalf("window %v..%v without its span", w.Start, w.End)
			case emitted[s]:
				t.Errorf("two windows share a span")
			}
			s.mu.Lock()
			if s.ends != 0 || s.name != "window" || s.walks == 0 {
				t.Errorf("window span: name %q, ended %d times, %d requests", s.name, s.ends, s.walks)
			}
			s.mu.Unlock()
			emitted[s] = true
			events += len(w.Events)
			var c Cursor
			if err := json.Unmarshal(w.Cursor, &c); err != nil {
				t.Fatal(err)
			}
			s.End(nil) // the engine's part
			return nil
		}}
		if err := p.Run(t.Context(), host, time.Unix(now-300*3600, 0)); err != nil {
			t.Fatal(err)
		}
		if events != 6000 {
			t.Fatalf("%d events emitted", events)
		}
		if len(emitted) < 10 {
			t.Fatalf("only %d windows: the back-fill should split and share", len(emitted))
		}
		for _, s := range tr.spans {
			switch {
			case s.ends != 1:
				t.Errorf("a span (%s) ended %d times", s.name, s.ends)
			case !emitted[s] && s.name != "plan":
				t.Errorf("a span of no window is named %q", s.name)
			}
		}
		t.Logf("%d windows, %d spans", len(emitted), len(tr.spans))
	})
}
