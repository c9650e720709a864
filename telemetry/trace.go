package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Traces configures the tracing of windows (see pipeline.Tracer), exported
// over OTLP to the receiver of Options.OTLP.
type Traces struct {
	// SamplingRatio is the share of windows traced, 0 to 1. The decision
	// is taken for the window span; its children follow it, so a window is
	// traced whole or not at all.
	SamplingRatio float64
	// MaxQueueSize bounds the spans waiting for export. A span ended while
	// the queue is full is dropped and counted in
	// auditrelay_telemetry_spans_dropped_total{reason="queue_full"}: the
	// pipeline never waits for the exporter.
	MaxQueueSize int
	// Exporter replaces the OTLP exporter (tests).
	Exporter sdktrace.SpanExporter
}

// Fixed settings of the span export, given explicitly so that no
// OTEL_BSP_* variable has a say.
const (
	spanBatchDelay    = 5 * time.Second
	spanExportTimeout = 10 * time.Second
	spanBatchSize     = 512
	// failureLogEvery spaces the warnings of a receiver that is down.
	failureLogEvery = time.Minute
)

// tracing is the trace half of a Telemetry; nil fields trace nothing.
type tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	// pending counts the sampled spans ended and not yet handed to the
	// exporter, queueFull those dropped because the queue was full, and
	// exportFailed those an export failed to deliver.
	pending, queueFull, exportFailed atomic.Int64
}

var _ pipeline.Tracer = (*Telemetry)(nil)

// openTraces sets up the tracer provider of tr, exporting to o (or to
// tr.Exporter).
func (t *Telemetry) openTraces(tr *Traces, o *OTLP, version string) error {
	if tr.SamplingRatio < 0 || tr.SamplingRatio > 1 {
		return errors.New("telemetry: traces sampling_ratio must be between 0 and 1")
	}
	if tr.MaxQueueSize <= 0 {
		return errors.New("telemetry: traces max_queue_size must be > 0")
	}
	exp := tr.Exporter
	if exp == nil {
		if o == nil {
			return errors.New("telemetry: traces need an otlp endpoint")
		}
		var err error
		if exp, err = otlpSpanExporter(o); err != nil {
			return err
		}
	}
	log := slog.New(slog.DiscardHandler)
	if o != nil && o.Log != nil {
		log = o.Log
	}
	e := &countingExporter{
		SpanExporter: exp,
		// The provider merges OTEL_RESOURCE_ATTRIBUTES into its resource;
		// the exported one is replaced by this fixed one.
		res:     serviceResource(version),
		tracing: &t.tracing,
		down:    &t.receiverDown,
		log:     log,
	}
	bsp := sdktrace.NewBatchSpanProcessor(e,
		sdktrace.WithMaxQueueSize(tr.MaxQueueSize),
		sdktrace.WithMaxExportBatchSize(min(spanBatchSize, tr.MaxQueueSize)),
		sdktrace.WithBatchTimeout(spanBatchDelay),
		sdktrace.WithExportTimeout(spanExportTimeout),
	)
	t.tracing.provider = sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(&boundedProcessor{SpanProcessor: bsp, capacity: int64(tr.MaxQueueSize), tracing: &t.tracing}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(tr.SamplingRatio))),
		// Explicit, so that no OTEL_SPAN_* variable has a say.
		sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{
			AttributeValueLengthLimit:   1024,
			AttributeCountLimit:         64,
			EventCountLimit:             64,
			LinkCountLimit:              0,
			AttributePerEventCountLimit: 16,
			AttributePerLinkCountLimit:  0,
		}),
	)
	t.tracing.tracer = t.tracing.provider.Tracer("github.com/auditrelay/auditrelay")
	return nil
}

// serviceResource is the resource of everything auditrelay pushes.
func serviceResource(version string) *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", "auditrelay"),
		attribute.String("service.version", version),
		attribute.String("process.runtime.version", runtime.Version()),
	)
}

// otlpSpanExporter returns the OTLP exporter of spans to o's receiver.
// Every setting is given explicitly: the exporters read
// OTEL_EXPORTER_OTLP_* variables for what is left out.
func otlpSpanExporter(o *OTLP) (sdktrace.SpanExporter, error) {
	u, headers, err := o.target()
	if err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	switch o.Protocol {
	case "grpc":
		opts := []otlptracegrpc.Option{
			otlptracegrpc.WithEndpoint(u.Host),
			otlptracegrpc.WithHeaders(headers),
			otlptracegrpc.WithTimeout(spanExportTimeout),
			otlptracegrpc.WithCompressor("gzip"),
			// A failed export is dropped and counted: retrying would
			// only hold spans longer in a full queue.
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
		}
		if u.Scheme == "http" {
			opts = append(opts, otlptracegrpc.WithTLSCredentials(insecure.NewCredentials()))
		} else {
			opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(tlsConfig())))
		}
		exp, err = otlptracegrpc.New(context.Background(), opts...)
	case "http":
		opts := []otlptracehttp.Option{
			otlptracehttp.WithEndpoint(u.Host),
			otlptracehttp.WithURLPath(tracesPath(u.EscapedPath())),
			otlptracehttp.WithHeaders(headers),
			otlptracehttp.WithTimeout(spanExportTimeout),
			otlptracehttp.WithCompression(otlptracehttp.NoCompression),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
			otlptracehttp.WithTLSClientConfig(nil),
			otlptracehttp.WithHTTPClient(otlpHTTPClient(u.Scheme, spanExportTimeout)),
		}
		if u.Scheme == "http" {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(context.Background(), opts...)
	default:
		return nil, fmt.Errorf("telemetry: otlp protocol must be grpc or http, got %q", o.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: otlp span exporter: %w", err)
	}
	return exp, nil
}

// tracesPath is the OTLP/HTTP path of spans beside the metrics' path: the
// endpoint's path with /v1/metrics replaced, or /v1/traces.
func tracesPath(metrics string) string {
	if p, ok := strings.CutSuffix(metrics, metricsPath); ok {
		return p + "/v1/traces"
	}
	if metrics == "" || metrics == "/" {
		return "/v1/traces"
	}
	return strings.TrimRight(metrics, "/") + "/v1/traces"
}

// otlpHTTPClient is the client of OTLP/HTTP pushes: it does not follow
// redirects (they would take the headers, an API key, wherever a 3xx
// points), and its TLS settings are its own, so none come from
// OTEL_EXPORTER_OTLP_CERTIFICATE.
func otlpHTTPClient(scheme string, timeout time.Duration) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if scheme == "https" {
		transport.TLSClientConfig = tlsConfig()
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// boundedProcessor keeps the batch processor's queue from ever filling:
// a span that would not fit is dropped here, where it is counted, instead
// of silently there. pending counts the spans between OnEnd and the
// exporter, which is at least what the queue holds.
type boundedProcessor struct {
	sdktrace.SpanProcessor
	capacity int64
	*tracing
}

func (p *boundedProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if p.pending.Add(1) > p.capacity {
		p.pending.Add(-1)
		p.queueFull.Add(1)
		return
	}
	p.SpanProcessor.OnEnd(s)
}

// countingExporter counts what the batch processor hands over and what
// fails, and logs failures at most once per failureLogEvery.
type countingExporter struct {
	sdktrace.SpanExporter
	res *resource.Resource
	*tracing
	down    *atomic.Bool // the receiver failed the last export
	log     *slog.Logger
	lastLog atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.pending.Add(-int64(len(spans)))
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = withResource{ReadOnlySpan: s, res: e.res}
	}
	err := e.SpanExporter.ExportSpans(ctx, out)
	e.down.Store(err != nil)
	if err != nil {
		e.exportFailed.Add(int64(len(spans)))
		now := time.Now().UnixNano()
		if last := e.lastLog.Load(); now-last >= int64(failureLogEvery) && e.lastLog.CompareAndSwap(last, now) {
			// The exporter's errors name the endpoint and status, never
			// the headers it sent.
			e.log.Warn("exporting spans over OTLP failed; they are dropped (counted in auditrelay_telemetry_spans_dropped_total)",
				"spans", len(spans), "err", err)
		}
	}
	// The batch processor has nothing better to do with the error.
	return nil
}

// withResource is a span with the exported resource replaced.
type withResource struct {
	sdktrace.ReadOnlySpan
	res *resource.Resource
}

func (s withResource) Resource() *resource.Resource { return s.res }

// StartWindow implements pipeline.Tracer.
func (t *Telemetry) StartWindow(ctx context.Context) (context.Context, pipeline.Span) {
	if t.tracing.tracer == nil {
		return ctx, pipeline.NopSpan{}
	}
	ctx, s := t.tracing.tracer.Start(ctx, "window", trace.WithNewRoot())
	if !s.IsRecording() {
		return ctx, pipeline.NopSpan{}
	}
	return ctx, otelSpan{s}
}

// Start implements pipeline.Tracer.
func (t *Telemetry) Start(ctx context.Context, name string) (context.Context, pipeline.Span) {
	return t.start(ctx, name, trace.SpanKindInternal)
}

// StartClient implements pipeline.Tracer.
func (t *Telemetry) StartClient(ctx context.Context, name string) (context.Context, pipeline.Span) {
	return t.start(ctx, name, trace.SpanKindClient)
}

func (t *Telemetry) start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, pipeline.Span) {
	if t.tracing.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, pipeline.NopSpan{}
	}
	ctx, s := t.tracing.tracer.Start(ctx, name, trace.WithSpanKind(kind))
	return ctx, otelSpan{s}
}

// WithSpan implements pipeline.Tracer.
func (t *Telemetry) WithSpan(ctx context.Context, s pipeline.Span) context.Context {
	if o, ok := s.(otelSpan); ok {
		return trace.ContextWithSpan(ctx, o.s)
	}
	return ctx
}

// otelSpan is a pipeline.Span of OpenTelemetry.
type otelSpan struct{ s trace.Span }

func (o otelSpan) Recording() bool { return o.s.IsRecording() }

func (o otelSpan) SetAttributes(attrs ...pipeline.Attr) { o.s.SetAttributes(convert(attrs)...) }

func (o otelSpan) AddEvent(name string, attrs ...pipeline.Attr) {
	o.s.AddEvent(name, trace.WithAttributes(convert(attrs)...))
}

func (o otelSpan) SetName(name string) { o.s.SetName(name) }

func (o otelSpan) End(err error) {
	if err != nil {
		o.s.RecordError(err)
		o.s.SetStatus(codes.Error, errorText(err))
	}
	o.s.End()
}

// convert turns the pipeline's attributes into OpenTelemetry's.
func convert(attrs []pipeline.Attr) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		switch v := a.Value.(type) {
		case string:
			out = append(out, attribute.String(a.Key, v))
		case bool:
			out = append(out, attribute.Bool(a.Key, v))
		case int:
			out = append(out, attribute.Int(a.Key, v))
		case int64:
			out = append(out, attribute.Int64(a.Key, v))
		case float64:
			out = append(out, attribute.Float64(a.Key, v))
		case time.Time:
			out = append(out, attribute.String(a.Key, v.UTC().Format(time.RFC3339)))
		case time.Duration:
			out = append(out, attribute.Float64(a.Key, v.Seconds()))
		default:
			out = append(out, attribute.String(a.Key, fmt.Sprint(v)))
		}
	}
	return out
}

// observeSpansDropped registers the counter of spans dropped.
func (t *Telemetry) observeSpansDropped(m metric.Meter) error {
	c, err := m.Int64ObservableCounter("auditrelay_telemetry_spans_dropped_total",
		metric.WithDescription("Spans dropped instead of slowing delivery: the export queue was full (queue_full) or an export failed (export_failed)."),
		metric.WithUnit("{span}"))
	if err != nil {
		return err
	}
	queueFull := metric.WithAttributes(attribute.String("reason", "queue_full"))
	exportFailed := metric.WithAttributes(attribute.String("reason", "export_failed"))
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(c, t.tracing.queueFull.Load(), queueFull)
		o.ObserveInt64(c, t.tracing.exportFailed.Load(), exportFailed)
		return nil
	}, c)
	return err
}

// LogHandler wraps h so that a record logged with a context carrying a
// sampled span (slog's ...Context calls) has the span's trace_id and
// span_id: a window's log lines lead to its trace.
func LogHandler(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsSampled() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
