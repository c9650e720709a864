package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// newTraced returns a Telemetry tracing into an in-memory exporter.
func newTraced(t *testing.T, ratio float64, queue int, exp sdktrace.SpanExporter) *Telemetry {
	t.Helper()
	tel, err := Open(Options{Traces: &Traces{SamplingRatio: ratio, MaxQueueSize: queue, Exporter: exp}})
	if err != nil {
		t.Fatal(err)
	}
	// A failed test stops the exporter's goroutine too (Shutdown is safe
	// twice).
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	return tel
}

// flush exports every span ended so far and stops tel.
func flush(t *testing.T, tel *Telemetry) {
	t.Helper()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// memExporter is the SDK's in-memory exporter whose spans outlive
// Shutdown (the SDK's forgets them then).
type memExporter struct{ *tracetest.InMemoryExporter }

func (memExporter) Shutdown(context.Context) error { return nil }

// pageSource emits windows whose events it reads with one request each
// through an httpapi.Client, in a window span of its own, as the
// time-window sources do.
type pageSource struct {
	client  *httpapi.Client
	tracer  pipeline.Tracer
	windows int
}

func (*pageSource) Start(context.Context) error    { return nil }
func (*pageSource) Shutdown(context.Context) error { return nil }

func (s *pageSource) Run(ctx context.Context, host pipeline.SourceHost) error {
	for i := range s.windows {
		wctx, span := s.tracer.StartWindow(ctx)
		var raw []byte
		err := s.client.Get(wctx, "/organization/audit_logs", map[string][]string{"after": {"x"}}, func(body []byte) error {
			raw = bytes.Clone(body)
			return nil
		})
		if err != nil {
			span.End(err)
			return err
		}
		t0 := time.Unix(int64(1000+i), 0).UTC()
		w := pipeline.Window{
			Events: []pipeline.Event{{ID: "e" + string(rune('a'+i)), Time: t0, Schema: "openai.audit_log", Raw: raw}},
			Cursor: []byte(`{"n":1}`), Start: t0, End: t0.Add(time.Second), Span: span, Requests: 1,
		}
		if err := host.Emit(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// committingSink counts what it takes and commits.
type committingSink struct {
	mu     sync.Mutex
	events int
}

func (*committingSink) Start(context.Context) error    { return nil }
func (*committingSink) Shutdown(context.Context) error { return nil }
func (s *committingSink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	s.events += len(b.Events)
	s.mu.Unlock()
	return nil
}
func (*committingSink) CommitWindow(context.Context, string, []byte) error { return nil }
func (*committingSink) AbortWindow(context.Context, string) error          { return nil }

// api answers the first request of every window with a 429 that asks for
// a short wait (Retry-After-Ms), then the page.
func api() http.RoundTripper {
	var mu sync.Mutex
	n := 0
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		n++
		first := n%2 == 1
		mu.Unlock()
		h := http.Header{"Content-Type": {"application/json"}}
		if first {
			h.Set("Retry-After-Ms", "250")
			return &http.Response{StatusCode: http.StatusTooManyRequests, Header: h, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
		}
		return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(`{"id":"e"}`)), Request: r}, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// runTraced runs windows windows of a pageSource through the engine with
// tel, and returns the events the sink took.
func runTraced(t *testing.T, tel *Telemetry, windows int, log *slog.Logger) int {
	t.Helper()
	client := httpapi.NewClient(httpapi.Config{
		BaseURL: "https://acme:s3cr3t@api.example/v1", Header: http.Header{"Authorization": {"Bearer s3cr3t"}},
		Retry: httpapi.Retry{MaxRetries: 3}, Name: "acme", Telemetry: tel, Tracer: tel, Transport: api(),
	})
	sink := &committingSink{}
	p := pipeline.Assemble(pipeline.Parts{
		Sources:   map[string]pipeline.Source{"acme": &pageSource{client: client, tracer: tel, windows: windows}},
		Sinks:     map[string]pipeline.Consumer{"archive": sink},
		Store:     checkpoint.NewMemory(),
		Telemetry: tel,
		Logger:    log,
	})
	if err := p.Run(t.Context(), pipeline.RunOptions{Once: true}); err != nil {
		t.Fatal(err)
	}
	return sink.events
}

func attrOf(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestWindowSpanTree checks the tree of one window: the window span (a
// root) with the page request, the transforms, each sink's delivery (its
// consume and commit under it) and the cursor save as children, all of
// one trace; the request's span carries the HTTP conventions, the retry
// and why it waited, and no secret.
func TestWindowSpanTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := memExporter{tracetest.NewInMemoryExporter()}
		tel := newTraced(t, 1, 100, exp)
		if n := runTraced(t, tel, 1, nil); n != 1 {
			t.Fatalf("sink took %d events", n)
		}
		flush(t, tel)
		spans := exp.GetSpans()
		byName := map[string][]tracetest.SpanStub{}
		for _, s := range spans {
			byName[s.Name] = append(byName[s.Name], s)
		}
		if len(byName["window"]) != 1 {
			t.Fatalf("window spans: %d of %d spans", len(byName["window"]), len(spans))
		}
		win := byName["window"][0]
		if win.Parent.IsValid() {
			t.Errorf("the window span has a parent")
		}
		parentOf := map[string]string{"GET": "window", "transform": "window", "sink.deliver": "window",
			"cursor.save": "window", "sink.consume": "sink.deliver", "sink.commit": "sink.deliver"}
		for name, parent := range parentOf {
			ss := byName[name]
			if len(ss) != 1 {
				t.Fatalf("%d spans named %q, want 1", len(ss), name)
			}
			if ss[0].SpanContext.TraceID() != win.SpanContext.TraceID() {
				t.Errorf("%s is in another trace", name)
			}
			if want := byName[parent][0].SpanContext.SpanID(); ss[0].Parent.SpanID() != want {
				t.Errorf("%s's parent is not %s", name, parent)
			}
		}
		if len(spans) != len(parentOf)+1 {
			t.Errorf("%d spans, want %d", len(spans), len(parentOf)+1)
		}
		for key, want := range map[string]any{"auditrelay.source": "acme", "auditrelay.vendor": "openai",
			"auditrelay.window.events": int64(1), "auditrelay.window.bytes": int64(len(`{"id":"e"}`)),
			"auditrelay.window.start": "1970-01-01T00:16:40Z", "auditrelay.window.end": "1970-01-01T00:16:41Z"} {
			if v, ok := attrOf(win, key); !ok || v.AsInterface() != want {
				t.Errorf("window %s = %v, want %v", key, v.AsInterface(), want)
			}
		}
		get := byName["GET"][0]
		if get.SpanKind != trace.SpanKindClient {
			t.Errorf("the page request's span is of kind %v, want client", get.SpanKind)
		}
		for key, want := range map[string]any{"http.request.method": "GET", "http.response.status_code": int64(200),
			"url.full": "https://api.example/v1/organization/audit_logs", "http.request.resend_count": int64(1),
			"server.address": "api.example", "server.port": int64(443),
			"auditrelay.retry.wait": 0.25} {
			if v, ok := attrOf(get, key); !ok || v.AsInterface() != want {
				t.Errorf("GET %s = %v, want %v", key, v.AsInterface(), want)
			}
		}
		if len(get.Events) != 1 || get.Events[0].Name != "retry" {
			t.Fatalf("GET events = %+v, want one retry", get.Events)
		}
		ev := map[string]any{}
		for _, a := range get.Events[0].Attributes {
			ev[string(a.Key)] = a.Value.AsInterface()
		}
		if ev["auditrelay.retry.reason"] != "429" || ev["auditrelay.retry.server_asked"] != true || ev["auditrelay.retry.wait"] != 0.25 {
			t.Errorf("retry event = %v", ev)
		}
		for _, s := range spans {
			for _, a := range s.Attributes {
				if strings.Contains(a.Value.Emit(), "s3cr3t") {
					t.Errorf("span %s shows a secret in %s", s.Name, a.Key)
				}
			}
		}
	})
}

// TestWindowSpanRecordsError: a window whose request fails for good ends
// with an error status and the error recorded.
func TestWindowSpanRecordsError(t *testing.T) {
	exp := memExporter{tracetest.NewInMemoryExporter()}
	tel := newTraced(t, 1, 100, exp)
	client := httpapi.NewClient(httpapi.Config{BaseURL: "https://api.example", Name: "acme", Tracer: tel,
		Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
		})})
	ctx, span := tel.StartWindow(t.Context())
	err := client.Get(ctx, "/x", nil, func([]byte) error { return nil })
	span.End(err)
	if err == nil {
		t.Fatal("no error")
	}
	flush(t, tel)
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans {
		if s.Status.Code != codes.Error || len(s.Events) == 0 || s.Events[len(s.Events)-1].Name != "exception" {
			t.Errorf("span %s: status %v, events %v: want the error recorded", s.Name, s.Status, s.Events)
		}
	}
}

// TestSamplingRatioZero: no window is traced, and nothing under it.
func TestSamplingRatioZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := memExporter{tracetest.NewInMemoryExporter()}
		tel := newTraced(t, 0, 100, exp)
		runTraced(t, tel, 3, nil)
		flush(t, tel)
		if n := len(exp.GetSpans()); n != 0 {
			t.Fatalf("%d spans with sampling_ratio 0", n)
		}
	})
}

// TestSamplingWholeOrAbsent: with a ratio between 0 and 1 some windows
// are traced and others not, and a traced window has every child span.
func TestSamplingWholeOrAbsent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := memExporter{tracetest.NewInMemoryExporter()}
		tel := newTraced(t, 0.5, 10000, exp)
		const windows = 60
		runTraced(t, tel, windows, nil)
		flush(t, tel)
		perTrace := map[trace.TraceID]int{}
		roots := 0
		for _, s := range exp.GetSpans() {
			perTrace[s.SpanContext.TraceID()]++
			if s.Name == "window" {
				roots++
			}
		}
		if roots == 0 || roots == windows {
			t.Fatalf("%d of %d windows traced with ratio 0.5", roots, windows)
		}
		if len(perTrace) != roots {
			t.Errorf("%d traces for %d window spans: spans outside a window", len(perTrace), roots)
		}
		for id, n := range perTrace {
			if n != 7 {
				t.Errorf("trace %s has %d spans, want the window's 7", id, n)
			}
		}
	})
}

// TestLogsCarryTraceIDs: the engine's line about a traced window has the
// window's trace and span ids; a line outside a window has none.
func TestLogsCarryTraceIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := memExporter{tracetest.NewInMemoryExporter()}
		tel := newTraced(t, 1, 100, exp)
		var buf bytes.Buffer
		log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
		runTraced(t, tel, 1, log)
		log.Info("outside any window")
		flush(t, tel)
		var win tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.Name == "window" {
				win = s
			}
		}
		var committed, outside map[string]any
		for line := range strings.Lines(buf.String()) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			switch m["msg"] {
			case "window committed":
				committed = m
			case "outside any window":
				outside = m
			}
		}
		if committed == nil || committed["trace_id"] != win.SpanContext.TraceID().String() ||
			committed["span_id"] != win.SpanContext.SpanID().String() {
			t.Errorf("window committed line = %v, want trace %s span %s", committed, win.SpanContext.TraceID(), win.SpanContext.SpanID())
		}
		if _, ok := outside["trace_id"]; ok {
			t.Errorf("a line outside a window has a trace_id: %v", outside)
		}
	})
}

// deadExporter is a receiver that never answers: every export waits
// until its context gives up.
type deadExporter struct{}

func (deadExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	<-ctx.Done()
	return ctx.Err()
}
func (deadExporter) Shutdown(context.Context) error { return nil }

// TestDeadExporterNeverBlocks: with a receiver that never answers, ending
// spans takes no time at all (the fake clock of the bubble does not move),
// spans beyond the bounded queue are dropped and counted, and an export
// that times out counts its spans as failed.
func TestDeadExporterNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const queue, spans = 10, 1000
		tel := newTraced(t, 1, queue, deadExporter{})
		start := time.Now()
		for range spans {
			ctx, w := tel.StartWindow(t.Context())
			_, c := tel.Start(ctx, "GET")
			c.End(nil)
			w.End(errors.New("x"))
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("ending spans waited %v", d)
		}
		synctest.Wait()
		dropped := tel.tracing.queueFull.Load()
		// What the queue and the processor's batch can hold is kept; the
		// rest is dropped.
		if dropped < 2*spans-2*queue || dropped > 2*spans-queue {
			t.Fatalf("dropped %d of %d spans with a queue of %d", dropped, 2*spans, queue)
		}
		if v, ok := value(t, tel, "auditrelay_telemetry_spans_dropped_total", map[string]string{"reason": "queue_full"}); !ok || int64(v) != dropped {
			t.Errorf("spans_dropped_total{queue_full} = %v, want %d", v, dropped)
		}
		time.Sleep(spanBatchDelay + spanExportTimeout + time.Second)
		synctest.Wait()
		if n := tel.tracing.exportFailed.Load(); n == 0 {
			t.Errorf("no export counted as failed after the export timeout")
		}
		tel.Shutdown(context.Background())
		time.Sleep(10 * spanExportTimeout) // the abandoned exports give up
	})
}

// TestShutdownDoesNotWaitForADeadReceiver: once an export failed, the
// exit does not wait for the receiver to take what is still queued.
func TestShutdownDoesNotWaitForADeadReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel := newTraced(t, 1, 10, deadExporter{})
		_, w := tel.StartWindow(t.Context())
		w.End(nil)
		time.Sleep(spanBatchDelay + spanExportTimeout + time.Second) // the first export fails
		synctest.Wait()
		_, w = tel.StartWindow(t.Context())
		w.End(nil)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tel.Shutdown(ctx)
		if d := time.Since(start); d > downReceiverGrace {
			t.Errorf("Shutdown waited %v for a receiver that is down", d)
		}
		time.Sleep(2 * spanExportTimeout) // the abandoned export gives up
	})
}

// TestTracingOffCostsNoAllocation: without traces configured, what the
// engine and the sources call per window, request and batch allocates
// nothing.
func TestTracingOffCostsNoAllocation(t *testing.T) {
	tel := New(Options{})
	ctx := t.Context()
	allocs := testing.AllocsPerRun(100, func() {
		wctx, w := tel.StartWindow(ctx)
		cctx, c := tel.Start(wctx, "sink.consume")
		if c.Recording() || w.Recording() {
			t.Fatal("recording without traces configured")
		}
		_ = tel.WithSpan(cctx, w)
		c.End(nil)
		w.End(nil)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per window with tracing off", allocs)
	}
}

// flakySink fails its first Consume, then takes everything.
type flakySink struct {
	committingSink
	failed bool
}

func (s *flakySink) Consume(ctx context.Context, b pipeline.Batch) error {
	if !s.failed {
		s.failed = true
		return errors.New("503 from the destination")
	}
	return s.committingSink.Consume(ctx, b)
}

// TestSinkRetryOnTheSpans: a sink that fails once shows it in the trace:
// the failed consume has the error, the sink's delivery counts two attempts
// and a retry event with its wait, and the window ends well.
func TestSinkRetryOnTheSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := memExporter{tracetest.NewInMemoryExporter()}
		tel := newTraced(t, 1, 100, exp)
		client := httpapi.NewClient(httpapi.Config{BaseURL: "https://api.example", Name: "acme", Retry: httpapi.Retry{MaxRetries: 3}, Tracer: tel, Transport: api()})
		sink := &flakySink{}
		p := pipeline.Assemble(pipeline.Parts{
			Sources:   map[string]pipeline.Source{"acme": &pageSource{client: client, tracer: tel, windows: 1}},
			Sinks:     map[string]pipeline.Consumer{"archive": sink},
			Store:     checkpoint.NewMemory(),
			Telemetry: tel,
		})
		if err := p.Run(t.Context(), pipeline.RunOptions{Once: true}); err != nil {
			t.Fatal(err)
		}
		flush(t, tel)
		var consumes []tracetest.SpanStub
		var deliver, win tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			switch s.Name {
			case "sink.consume":
				consumes = append(consumes, s)
			case "sink.deliver":
				deliver = s
			case "window":
				win = s
			}
		}
		if len(consumes) != 2 || consumes[0].Status.Code != codes.Error || consumes[1].Status.Code == codes.Error {
			t.Fatalf("consume spans: %+v", consumes)
		}
		if v, _ := attrOf(deliver, "auditrelay.attempts"); v.AsInt64() != 2 {
			t.Errorf("sink.deliver attempts = %v, want 2", v.AsInterface())
		}
		if len(deliver.Events) != 1 || deliver.Events[0].Name != "retry" {
			t.Errorf("sink.deliver events = %+v, want one retry", deliver.Events)
		}
		if deliver.Status.Code == codes.Error || win.Status.Code == codes.Error {
			t.Errorf("the delivery or the window failed after a successful retry")
		}
	})
}

// TestPageSpanLimiterWait: a request held by the key's limiter while
// another runs records that wait on its span.
func TestPageSpanLimiterWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := memExporter{tracetest.NewInMemoryExporter()}
		tel := newTraced(t, 1, 100, exp)
		slow := roundTripper(func(r *http.Request) (*http.Response, error) {
			time.Sleep(time.Second)
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
		})
		client := httpapi.NewClient(httpapi.Config{BaseURL: "https://api.example", Name: "acme", Tracer: tel, Transport: slow,
			Limiter: httpapi.NewLimiter(httpapi.LimiterConfig{MaxConcurrency: 1})})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				ctx, w := tel.StartWindow(t.Context())
				w.End(client.Get(ctx, "/x", nil, func([]byte) error { return nil }))
			})
		}
		wg.Wait()
		flush(t, tel)
		var waits []float64
		for _, s := range exp.GetSpans() {
			if s.Name == "GET" {
				v, _ := attrOf(s, "auditrelay.limiter.wait")
				waits = append(waits, v.AsFloat64())
			}
		}
		slices.Sort(waits)
		if len(waits) != 2 || waits[0] != 0 || waits[1] != 1 {
			t.Fatalf("limiter waits = %v, want 0 and 1 s", waits)
		}
	})
}
