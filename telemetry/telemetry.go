package telemetry

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Options configure a Telemetry.
type Options struct {
	// Version is reported by auditrelay_build_info.
	Version string
	// StuckAfter: a source that has not committed a window for this long
	// makes the process unready (default 15m).
	StuckAfter time.Duration
	// SinkFailingAfter: a sink whose batches have all failed for this long
	// makes the process unready (default 2m).
	SinkFailingAfter time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OTLP, when set, pushes the metrics to an OTLP receiver too.
	OTLP *OTLP
	// Traces, when set, traces windows (see pipeline.Tracer) and exports
	// the spans to OTLP's receiver; nil traces nothing.
	Traces *Traces
}

// Telemetry records the measurements of a pipeline as OpenTelemetry
// metrics, exposed to Prometheus on /metrics (see Handler) and pushed over
// OTLP when Options.OTLP is set, and keeps the health state of its sources
// and sinks. It lives as long as the process: a reloaded pipeline reports
// to the same Telemetry (see Begin), so counters keep counting across
// reloads. All methods are safe for concurrent use and never block beyond
// a short lock: an instrument only updates an in-memory aggregate, and
// exporting happens elsewhere (a scrape, or the OTLP reader's goroutine).
type Telemetry struct {
	reg              *prometheus.Registry
	provider         *sdkmetric.MeterProvider
	now              func() time.Time
	stuckAfter       time.Duration
	sinkFailingAfter time.Duration

	eventsFetched   metric.Int64Counter
	eventsFiltered  metric.Int64Counter
	alertsRaised    metric.Int64Counter
	eventsDelivered metric.Int64Counter
	deadLettered    metric.Int64Counter
	invalid         metric.Int64Counter
	pages           metric.Int64Counter
	requests        metric.Int64Counter
	requestDuration metric.Float64Histogram
	retries         metric.Int64Counter
	retryWait       metric.Float64Counter
	windows         metric.Int64Counter
	windowDuration  metric.Float64Histogram
	sinkBatches     metric.Int64Counter
	sinkDuration    metric.Float64Histogram
	sinkBytes       metric.Int64Counter
	inFlight        metric.Int64UpDownCounter
	sourceRestarts  metric.Int64Counter
	reloadFailures  metric.Int64Counter
	transformsDown  metric.Float64Gauge
	backlog         metric.Float64Gauge
	eta             metric.Float64Gauge
	eventRate       metric.Float64Gauge
	// exportFailures counts failed OTLP pushes.
	exportFailures atomic.Int64
	tracing        tracing
	// receiverDown: the OTLP receiver failed the last export (of metrics
	// or spans).
	receiverDown atomic.Bool

	mu      sync.Mutex
	running bool
	// degraded holds why a transform works with less than it should.
	degraded map[string]string
	// reloadError is why the last reload failed (the running
	// configuration stayed), until one succeeds.
	reloadError string
	sources     map[string]*sourceState
	sinks       map[string]*sinkState
}

type sourceState struct {
	since      time.Time // when the current pipeline began tracking it
	lastCommit time.Time
	cursor     time.Time
	failedAt   time.Time
	failure    string
	standby    bool // another replica runs the source (coordination)
}

type sinkState struct {
	failingSince time.Time // zero while the last batch succeeded
	lastError    string
}

var (
	_ pipeline.Telemetry     = (*Telemetry)(nil)
	_ pipeline.RunObserver   = (*Telemetry)(nil)
	_ pipeline.AlertObserver = (*Telemetry)(nil)
)

// New returns a Telemetry with its own registry and meter provider,
// holding the auditrelay_* metrics plus the Go runtime and process
// collectors. It panics if Open fails, which it cannot without
// a misconfigured exporter: use Open when an exporter is configured.
func New(opts Options) *Telemetry {
	t, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return t
}

// Open is New that reports a failure to set up the OTLP exporter. Call
// Shutdown when done, so that the last measurements are pushed.
func Open(opts Options) (*Telemetry, error) {
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = 15 * time.Minute
	}
	if opts.SinkFailingAfter <= 0 {
		opts.SinkFailingAfter = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	t := &Telemetry{
		reg:              prometheus.NewRegistry(),
		now:              opts.Now,
		stuckAfter:       opts.StuckAfter,
		sinkFailingAfter: opts.SinkFailingAfter,
		sources:          map[string]*sourceState{},
		sinks:            map[string]*sinkState{},
	}
	// The instrument names are the Prometheus names dashboards use: the
	// exporter must add nothing (no unit or _total suffix, no scope
	// labels, no target_info), see TestMetricsExpositionKeepsNames.
	promExporter, err := otelprom.New(
		otelprom.WithRegisterer(t.reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	providerOpts := []sdkmetric.Option{
		sdkmetric.WithReader(promExporter),
		// Explicit, so that OTEL_METRICS_EXEMPLAR_FILTER and
		// OTEL_GO_X_CARDINALITY_LIMIT have no say: configuration comes
		// from the config file only.
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter),
		sdkmetric.WithCardinalityLimit(cardinalityLimit),
	}
	if opts.OTLP != nil {
		r, err := t.otlpReader(opts.OTLP, opts.Version)
		if err != nil {
			return nil, err
		}
		providerOpts = append(providerOpts, sdkmetric.WithReader(r))
	}
	t.provider = sdkmetric.NewMeterProvider(providerOpts...)
	m := t.provider.Meter("github.com/auditrelay/auditrelay/telemetry")

	// Instrument creation fails only on an invalid name or option, which
	// are constants here: the tests catch it.
	must := func(err error) {
		if err != nil {
			panic(fmt.Sprintf("telemetry: %v", err))
		}
	}
	counter := func(name, help, unit string) metric.Int64Counter {
		c, err := m.Int64Counter("auditrelay_"+name, metric.WithDescription(help), metric.WithUnit(unit))
		must(err)
		return c
	}
	histogram := func(name, help string, buckets []float64) metric.Float64Histogram {
		h, err := m.Float64Histogram("auditrelay_"+name, metric.WithDescription(help), metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(buckets...))
		must(err)
		return h
	}
	gauge := func(name, help, unit string) metric.Float64Gauge {
		g, err := m.Float64Gauge("auditrelay_"+name, metric.WithDescription(help), metric.WithUnit(unit))
		must(err)
		return g
	}
	t.eventsFetched = counter("events_fetched_total", "Events a source received and committed, after de-duplication.", "{event}")
	t.eventsFiltered = counter("events_filtered_total", "Events a transform dropped (they count as delivered).", "{event}")
	t.alertsRaised = counter("alerts_raised_total", "Alerts a detect transform raised in the windows it committed, by rule and severity.", "{alert}")
	t.eventsDelivered = counter("events_delivered_total", "Events a sink acknowledged (durable at the destination).", "{event}")
	t.invalid = counter("events_invalid_total", "Events a source could not index (no valid time, outside their window), sent to the dead-letter sink.", "{event}")
	t.deadLettered = counter("events_dead_lettered_total", "Events a sink rejected that the dead-letter sink took.", "{event}")
	t.pages = counter("pages_fetched_total", "HTTP requests of a source answered with a 2xx status.", "{request}")
	t.requests = counter("http_requests_total", "HTTP requests of a source by status (0: transport error).", "{request}")
	t.requestDuration = histogram("http_request_duration_seconds", "Latency of a source's HTTP requests.",
		prometheus.ExponentialBuckets(0.005, 2.5, 10))
	t.retries = counter("retries_total", "Retries by component and reason (429, 5xx, transport, garbled, sink).", "{retry}")
	retryWait, err := m.Float64Counter("auditrelay_retry_wait_seconds_total",
		metric.WithDescription("Time spent waiting before retries, by component and reason."), metric.WithUnit("s"))
	must(err)
	t.retryWait = retryWait
	t.windows = counter("windows_committed_total", "Windows whose cursor was saved after every sink acknowledged them.", "{window}")
	t.windowDuration = histogram("window_duration_seconds", "Time from the engine taking a window to its cursor saved (transforms, sinks, commit).",
		prometheus.ExponentialBuckets(0.01, 4, 9))
	t.sinkBatches = counter("sink_batches_total", "Batches handed to a sink, by outcome (ok, error).", "{batch}")
	t.sinkDuration = histogram("sink_batch_duration_seconds", "Latency of one delivery attempt of a batch to a sink.",
		prometheus.ExponentialBuckets(0.001, 2.5, 12))
	t.sinkBytes = counter("sink_bytes_total", "Bytes of events a sink acknowledged.", "By")
	t.sourceRestarts = counter("source_failures_total", "Runs of a source that ended with an error (the source is restarted).", "{run}")
	t.transformsDown = gauge("transform_degraded", "1 while a transform works with less than it should (enrich without its directory).", "1")
	t.reloadFailures = counter("reload_failures_total", "Reloads (SIGHUP) refused or unable to start; the running configuration stayed in effect.", "{reload}")
	inFlight, err := m.Int64UpDownCounter("auditrelay_in_flight_batches",
		metric.WithDescription("Windows being delivered to a sink (one per sink and source)."), metric.WithUnit("{batch}"))
	must(err)
	t.inFlight = inFlight
	t.backlog = gauge("source_backlog_seconds", "How far (in the API's time) a source's last committed window is behind what it catches up to.", "s")
	t.eta = gauge("source_catch_up_eta_seconds", "Estimated time until a source catching up reaches the present (0: caught up or not known yet).", "s")
	t.eventRate = gauge("source_events_per_second", "Recent rate of events a source committed.", "{event}/s")
	must(t.observeState(m, opts.Version))
	must(t.observeExportFailures(m))
	must(t.observeSpansDropped(m))
	if opts.Traces != nil {
		if err := t.openTraces(opts.Traces, opts.OTLP, opts.Version); err != nil {
			return nil, err
		}
	}

	// The Go runtime and process metrics stay on client_golang: they
	// describe this process for Prometheus and have no OTel equivalent of
	// the same names.
	t.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return t, nil
}

// downReceiverGrace is how long Shutdown waits for a receiver that failed
// the last export.
const downReceiverGrace = 10 * time.Millisecond

// cardinalityLimit bounds the series of one instrument. Label values are
// component names, statuses and reasons, far below it.
const cardinalityLimit = 2000

// Shutdown exports the spans still queued and pushes the last
// measurements over OTLP (if configured), and stops the exporters; ctx
// bounds how long that may take. When the receiver failed the last export
// it is not waited for at all: a receiver that is down would only hold the
// exit up, and the telemetry is allowed to be lost. Measurements and spans
// after it are dropped.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.receiverDown.Load() {
		// A grace only long enough to stop the exporters' goroutines.
		c, cancel := context.WithTimeout(ctx, downReceiverGrace)
		defer cancel()
		ctx = c
	}
	var err error
	if t.tracing.provider != nil {
		err = t.tracing.provider.Shutdown(ctx)
	}
	return errors.Join(err, t.provider.Shutdown(ctx))
}

// Registry returns the registry holding every metric, for the /metrics
// handler and for tests.
func (t *Telemetry) Registry() *prometheus.Registry { return t.reg }

// Begin starts tracking the health of a new pipeline with these sources
// and sinks (the dead-letter sink included), before it runs. States of
// names no longer configured are dropped; states of kept names keep their
// last commit and cursor. The process is not ready until Running.
func (t *Telemetry) Begin(sources, sinks []string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running = false
	src := make(map[string]*sourceState, len(sources))
	for _, name := range sources {
		st := t.sources[name]
		if st == nil {
			st = &sourceState{}
		}
		st.since = now
		st.failedAt, st.failure = time.Time{}, ""
		src[name] = st
	}
	t.sources = src
	snk := make(map[string]*sinkState, len(sinks))
	for _, name := range sinks {
		snk[name] = &sinkState{}
	}
	t.sinks = snk
}

// Stopped marks the pipeline as no longer running: the process is unready
// until the next Running.
func (t *Telemetry) Stopped() {
	t.mu.Lock()
	t.running = false
	t.mu.Unlock()
}

// InvalidEvents implements pipeline.Telemetry.
func (t *Telemetry) InvalidEvents(source string, n int) {
	t.invalid.Add(bg, int64(n), attrs("source", source))
}

// TransformDegraded implements pipeline.Telemetry: /readyz lists the
// transform with err until it recovers (nil). A degraded transform does not
// make the process unready: events still flow.
func (t *Telemetry) TransformDegraded(transform string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		delete(t.degraded, transform)
		t.transformsDown.Record(bg, 0, attrs("transform", transform))
		return
	}
	if t.degraded == nil {
		t.degraded = map[string]string{}
	}
	t.degraded[transform] = errorText(err)
	t.transformsDown.Record(bg, 1, attrs("transform", transform))
}

// ReloadFailed records a reload that was refused or could not start (the
// running configuration stays in effect): /readyz shows err until a reload
// succeeds.
func (t *Telemetry) ReloadFailed(err error) {
	t.reloadFailures.Add(bg, 1)
	t.mu.Lock()
	t.reloadError = errorText(err)
	t.mu.Unlock()
}

// Reloaded records a reload that took effect.
func (t *Telemetry) Reloaded() {
	t.mu.Lock()
	t.reloadError = ""
	t.mu.Unlock()
}

// Running implements pipeline.RunObserver.
func (t *Telemetry) Running() {
	t.mu.Lock()
	t.running = true
	t.mu.Unlock()
}

// SourceFailed implements pipeline.RunObserver. The source is unready
// until it commits a window again.
func (t *Telemetry) SourceFailed(source string, err error, _ time.Duration) {
	t.sourceRestarts.Add(bg, 1, attrs("source", source))
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.source(source, now)
	st.failedAt = now
	st.failure = errorText(err)
}

// SourceOwned records whether this replica runs source (the coordinator
// of replicas reports it). A source another replica runs is on standby
// here: it is neither stuck nor failed, and its lag is the other
// replica's business. Taking a source over restarts its stuck_after clock.
func (t *Telemetry) SourceOwned(source string, owned bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.source(source, now)
	st.standby = !owned
	st.failedAt, st.failure = time.Time{}, ""
	if owned {
		st.since = now
	}
}

// source returns source's state, creating it; t.mu must be held.
func (t *Telemetry) source(name string, now time.Time) *sourceState {
	st := t.sources[name]
	if st == nil {
		st = &sourceState{since: now}
		t.sources[name] = st
	}
	return st
}

// PageFetched implements pipeline.Telemetry.
func (t *Telemetry) PageFetched(source string, status int, d time.Duration) {
	src := attrs("source", source)
	t.requests.Add(bg, 1, metric.WithAttributes(attribute.String("source", source), attribute.String("status", strconv.Itoa(status))))
	t.requestDuration.Record(bg, d.Seconds(), src)
	if status >= 200 && status < 300 {
		t.pages.Add(bg, 1, src)
	}
}

// Retried implements pipeline.Telemetry.
func (t *Telemetry) Retried(component, reason string, wait time.Duration) {
	set := metric.WithAttributes(attribute.String("component", component), attribute.String("reason", reason))
	t.retries.Add(bg, 1, set)
	t.retryWait.Add(bg, wait.Seconds(), set)
}

// Progress implements pipeline.Telemetry.
func (t *Telemetry) Progress(source string, p pipeline.Progress) {
	backlog := 0.0
	if !p.Goal.IsZero() && !p.Reached.IsZero() {
		backlog = max(p.Goal.Sub(p.Reached).Seconds(), 0)
	}
	src := attrs("source", source)
	t.backlog.Record(bg, backlog, src)
	t.eta.Record(bg, p.Remaining.Seconds(), src)
	t.eventRate.Record(bg, p.EventsPerSecond, src)
}

// WindowCommitted implements pipeline.Telemetry. It counts the window's
// events, clears the source's failure and moves its checkpoint lag.
func (t *Telemetry) WindowCommitted(source string, events int, d time.Duration, cursor time.Time) {
	src := attrs("source", source)
	t.eventsFetched.Add(bg, int64(events), src)
	t.windows.Add(bg, 1, src)
	t.windowDuration.Record(bg, d.Seconds(), src)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.source(source, now)
	st.lastCommit = now
	st.cursor = cursor
	st.failedAt, st.failure = time.Time{}, ""
}

// EventsFiltered implements pipeline.Telemetry.
func (t *Telemetry) EventsFiltered(transform string, n int) {
	t.eventsFiltered.Add(bg, int64(n), attrs("transform", transform))
}

// AlertsRaised implements pipeline.AlertObserver.
func (t *Telemetry) AlertsRaised(transform, rule, severity string, n int) {
	t.alertsRaised.Add(bg, int64(n), metric.WithAttributes(attribute.String("transform", transform),
		attribute.String("rule", rule), attribute.String("severity", severity)))
}

// SinkBatch implements pipeline.Telemetry.
func (t *Telemetry) SinkBatch(sink string, events, bytes int, d time.Duration, err error) {
	snk := attrs("sink", sink)
	t.sinkDuration.Record(bg, d.Seconds(), snk)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	} else {
		t.eventsDelivered.Add(bg, int64(events), snk)
		t.sinkBytes.Add(bg, int64(bytes), snk)
	}
	t.sinkBatches.Add(bg, 1, metric.WithAttributes(attribute.String("sink", sink), attribute.String("outcome", outcome)))
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.sinks[sink]
	if st == nil {
		st = &sinkState{}
		t.sinks[sink] = st
	}
	if err == nil {
		st.failingSince, st.lastError = time.Time{}, ""
		return
	}
	if st.failingSince.IsZero() {
		st.failingSince = now
	}
	st.lastError = errorText(err)
}

// DeadLettered implements pipeline.Telemetry.
func (t *Telemetry) DeadLettered(sink string, n int) {
	t.deadLettered.Add(bg, int64(n), attrs("sink", sink))
}

// InFlight implements pipeline.Telemetry.
func (t *Telemetry) InFlight(delta int) { t.inFlight.Add(bg, int64(delta)) }

// errorText bounds an error's text for the /readyz body. Errors of
// components never carry secrets (see pipeline.Secret).
func errorText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// bg is the context of measurements: the pipeline's calls carry none, and
// no exemplar or baggage is taken from it.
var bg = context.Background()

// attrs is the measurement option of one label.
func attrs(key, value string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String(key, value))
}

// observeState registers the values computed at collection time:
// checkpoint lag, the health of each source and sink, readiness, and the
// build. A source or sink no longer configured is no longer observed, so
// its series disappears.
func (t *Telemetry) observeState(m metric.Meter, version string) error {
	gauge := func(name, help, unit string) (metric.Float64ObservableGauge, error) {
		return m.Float64ObservableGauge(name, metric.WithDescription(help), metric.WithUnit(unit))
	}
	lag, err1 := gauge("auditrelay_checkpoint_lag_seconds",
		"Now minus the source's committed cursor: how far behind the organization's audit log the relay is.", "s")
	sourceUp, err2 := gauge("auditrelay_source_healthy",
		"1 when the source committed within stuck_after and its last run did not fail.", "1")
	sinkUp, err3 := gauge("auditrelay_sink_healthy",
		"0 when every batch of the sink failed for longer than sink_failing_after.", "1")
	ready, err4 := gauge("auditrelay_ready", "1 when /readyz answers 200.", "1")
	owned, err5 := gauge("auditrelay_source_owned",
		"1 when this replica runs the source, 0 when another replica does (coordination).", "1")
	info, err6 := gauge("auditrelay_build_info", "Always 1; labels carry the build.", "1")
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return err
	}
	build := metric.WithAttributes(attribute.String("version", version), attribute.String("goversion", runtime.Version()))
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		h := t.Health()
		b2f := func(b bool) float64 {
			if b {
				return 1
			}
			return 0
		}
		for _, s := range h.Sources {
			src := metric.WithAttributes(attribute.String("source", s.Name))
			if s.Lag != nil {
				o.ObserveFloat64(lag, *s.Lag, src)
			}
			o.ObserveFloat64(sourceUp, b2f(s.Healthy), src)
			o.ObserveFloat64(owned, b2f(!s.Standby), src)
		}
		for _, s := range h.Sinks {
			o.ObserveFloat64(sinkUp, b2f(s.Healthy), metric.WithAttributes(attribute.String("sink", s.Name)))
		}
		o.ObserveFloat64(ready, b2f(h.Ready))
		o.ObserveFloat64(info, 1, build)
		return nil
	}, lag, sourceUp, sinkUp, ready, owned, info)
	return err
}

// errNotRunning is the readiness problem before the pipeline started.
var errNotRunning = errors.New("the pipeline is not running (starting, reloading or stopped)")
