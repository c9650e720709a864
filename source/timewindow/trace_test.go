package timewindow

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/internal/spantest"
)

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
		tr := &spantest.Tracer{}
		walk := func(ctx context.Context, lo, hi int64, visit func([]pipeline.Event, bool) bool) (int, error) {
			// The request of a page, as the HTTP client starts it.
			ctx, span := tr.StartClient(ctx, "GET")
			defer span.End(nil)
			return api.walk(ctx, lo, hi, visit)
		}
		p := &Planner{Config: Config{Overlap: 5 * time.Minute, PollInterval: time.Second, MaxWindowEvents: 400,
			MaxWindow: 168 * time.Hour, PageSize: 100, MaxBuffered: 2000, Prefetch: -1},
			Walk: walk, Limit: api.limiter.Limit, Log: slog.New(slog.DiscardHandler), Tracer: tr,
			Now: func() (time.Time, bool) { return time.Now(), true }}
		emitted := map[*spantest.Span]bool{}
		events := 0
		host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
			if w.Span == nil {
				t.Fatalf("window %v..%v without its span", w.Start, w.End)
			}
			if msg := tr.Check(w.Span, len(w.Events), true, emitted); msg != "" {
				t.Fatalf("window %v..%v: %s", w.Start, w.End, msg)
			}
			events += len(w.Events)
			var c Cursor
			if err := json.Unmarshal(w.Cursor, &c); err != nil {
				t.Fatal(err)
			}
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
		if n := tr.Orphans(); n != 0 {
			t.Errorf("%d requests outside any window span", n)
		}
		for _, s := range tr.Windows() {
			name, _, ends := s.State()
			switch {
			case ends != 1:
				t.Errorf("a span (%s) ended %d times", name, ends)
			case !emitted[s] && name != "plan":
				t.Errorf("a span of no window is named %q", name)
			}
		}
		t.Logf("%d windows, %d spans", len(emitted), len(tr.Windows()))
	})
}
