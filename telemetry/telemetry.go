package telemetry

import (
	"errors"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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
}

// Telemetry records the measurements of a pipeline as Prometheus metrics
// and keeps the health state of its sources and sinks. It lives as long as
// the process: a reloaded pipeline reports to the same Telemetry (see Begin),
// so counters keep counting across reloads. All methods are safe for
// concurrent use and never block beyond a short lock.
type Telemetry struct {
	reg              *prometheus.Registry
	now              func() time.Time
	stuckAfter       time.Duration
	sinkFailingAfter time.Duration

	eventsFetched   *prometheus.CounterVec
	eventsFiltered  *prometheus.CounterVec
	eventsDelivered *prometheus.CounterVec
	deadLettered    *prometheus.CounterVec
	invalid         *prometheus.CounterVec
	pages           *prometheus.CounterVec
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	retries         *prometheus.CounterVec
	retryWait       *prometheus.CounterVec
	windows         *prometheus.CounterVec
	windowDuration  *prometheus.HistogramVec
	sinkBatches     *prometheus.CounterVec
	sinkDuration    *prometheus.HistogramVec
	sinkBytes       *prometheus.CounterVec
	inFlight        prometheus.Gauge
	sourceRestarts  *prometheus.CounterVec
	reloadFailures  prometheus.Counter
	transformsDown  *prometheus.GaugeVec
	backlog         *prometheus.GaugeVec
	eta             *prometheus.GaugeVec
	eventRate       *prometheus.GaugeVec

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
	_ pipeline.Telemetry   = (*Telemetry)(nil)
	_ pipeline.RunObserver = (*Telemetry)(nil)
)

// New returns a Telemetry with its own registry, holding the auditrelay_*
// metrics plus the Go runtime and process collectors.
func New(opts Options) *Telemetry {
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
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "auditrelay", Name: name, Help: help}, labels)
		t.reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "auditrelay", Name: name, Help: help, Buckets: buckets}, labels)
		t.reg.MustRegister(h)
		return h
	}
	t.eventsFetched = counter("events_fetched_total", "Events a source received and committed, after de-duplication.", "source")
	t.eventsFiltered = counter("events_filtered_total", "Events a transform dropped (they count as delivered).", "transform")
	t.eventsDelivered = counter("events_delivered_total", "Events a sink acknowledged (durable at the destination).", "sink")
	t.invalid = counter("events_invalid_total", "Events a source could not index (no valid time, outside their window), sent to the dead-letter sink.", "source")
	t.deadLettered = counter("events_dead_lettered_total", "Events a sink rejected that the dead-letter sink took.", "sink")
	t.pages = counter("pages_fetched_total", "HTTP requests of a source answered with a 2xx status.", "source")
	t.requests = counter("http_requests_total", "HTTP requests of a source by status (0: transport error).", "source", "status")
	t.requestDuration = histogram("http_request_duration_seconds", "Latency of a source's HTTP requests.",
		prometheus.ExponentialBuckets(0.005, 2.5, 10), "source")
	t.retries = counter("retries_total", "Retries by component and reason (429, 5xx, transport, garbled, sink).", "component", "reason")
	t.retryWait = counter("retry_wait_seconds_total", "Time spent waiting before retries, by component and reason.", "component", "reason")
	t.windows = counter("windows_committed_total", "Windows whose cursor was saved after every sink acknowledged them.", "source")
	t.windowDuration = histogram("window_duration_seconds", "Time from the engine taking a window to its cursor saved (transforms, sinks, commit).",
		prometheus.ExponentialBuckets(0.01, 4, 9), "source")
	t.sinkBatches = counter("sink_batches_total", "Batches handed to a sink, by outcome (ok, error).", "sink", "outcome")
	t.sinkDuration = histogram("sink_batch_duration_seconds", "Latency of one delivery attempt of a batch to a sink.",
		prometheus.ExponentialBuckets(0.001, 2.5, 12), "sink")
	t.sinkBytes = counter("sink_bytes_total", "Bytes of events a sink acknowledged.", "sink")
	t.sourceRestarts = counter("source_failures_total", "Runs of a source that ended with an error (the source is restarted).", "source")
	t.transformsDown = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "auditrelay", Name: "transform_degraded",
		Help: "1 while a transform works with less than it should (enrich without its directory)."}, []string{"transform"})
	t.reg.MustRegister(t.transformsDown)
	t.reloadFailures = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "auditrelay", Name: "reload_failures_total",
		Help: "Reloads (SIGHUP) refused or unable to start; the running configuration stayed in effect."})
	t.reg.MustRegister(t.reloadFailures)
	t.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "auditrelay", Name: "in_flight_batches", Help: "Windows being delivered to a sink (one per sink and source)."})
	t.reg.MustRegister(t.inFlight)
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "auditrelay", Name: name, Help: help}, labels)
		t.reg.MustRegister(g)
		return g
	}
	t.backlog = gauge("source_backlog_seconds", "How far (in the API's time) a source's last committed window is behind what it catches up to.", "source")
	t.eta = gauge("source_catch_up_eta_seconds", "Estimated time until a source catching up reaches the present (0: caught up or not known yet).", "source")
	t.eventRate = gauge("source_events_per_second", "Recent rate of events a source committed.", "source")
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "auditrelay", Name: "build_info", Help: "Always 1; labels carry the build."}, []string{"version", "goversion"})
	info.WithLabelValues(opts.Version, runtime.Version()).Set(1)
	t.reg.MustRegister(info, stateCollector{t},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return t
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
	t.invalid.WithLabelValues(source).Add(float64(n))
}

// TransformDegraded implements pipeline.Telemetry: /readyz lists the
// transform with err until it recovers (nil). A degraded transform does not
// make the process unready: events still flow.
func (t *Telemetry) TransformDegraded(transform string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		delete(t.degraded, transform)
		t.transformsDown.WithLabelValues(transform).Set(0)
		return
	}
	if t.degraded == nil {
		t.degraded = map[string]string{}
	}
	t.degraded[transform] = errorText(err)
	t.transformsDown.WithLabelValues(transform).Set(1)
}

// ReloadFailed records a reload that was refused or could not start (the
// running configuration stays in effect): /readyz shows err until a reload
// succeeds.
func (t *Telemetry) ReloadFailed(err error) {
	t.reloadFailures.Inc()
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
	t.sourceRestarts.WithLabelValues(source).Inc()
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
	t.requests.WithLabelValues(source, strconv.Itoa(status)).Inc()
	t.requestDuration.WithLabelValues(source).Observe(d.Seconds())
	if status >= 200 && status < 300 {
		t.pages.WithLabelValues(source).Inc()
	}
}

// Retried implements pipeline.Telemetry.
func (t *Telemetry) Retried(component, reason string, wait time.Duration) {
	t.retries.WithLabelValues(component, reason).Inc()
	t.retryWait.WithLabelValues(component, reason).Add(wait.Seconds())
}

// Progress implements pipeline.Telemetry.
func (t *Telemetry) Progress(source string, p pipeline.Progress) {
	backlog := 0.0
	if !p.Goal.IsZero() && !p.Reached.IsZero() {
		backlog = max(p.Goal.Sub(p.Reached).Seconds(), 0)
	}
	t.backlog.WithLabelValues(source).Set(backlog)
	t.eta.WithLabelValues(source).Set(p.Remaining.Seconds())
	t.eventRate.WithLabelValues(source).Set(p.EventsPerSecond)
}

// WindowCommitted implements pipeline.Telemetry. It counts the window's
// events, clears the source's failure and moves its checkpoint lag.
func (t *Telemetry) WindowCommitted(source string, events int, d time.Duration, cursor time.Time) {
	t.eventsFetched.WithLabelValues(source).Add(float64(events))
	t.windows.WithLabelValues(source).Inc()
	t.windowDuration.WithLabelValues(source).Observe(d.Seconds())
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
	t.eventsFiltered.WithLabelValues(transform).Add(float64(n))
}

// SinkBatch implements pipeline.Telemetry.
func (t *Telemetry) SinkBatch(sink string, events, bytes int, d time.Duration, err error) {
	t.sinkDuration.WithLabelValues(sink).Observe(d.Seconds())
	outcome := "ok"
	if err != nil {
		outcome = "error"
	} else {
		t.eventsDelivered.WithLabelValues(sink).Add(float64(events))
		t.sinkBytes.WithLabelValues(sink).Add(float64(bytes))
	}
	t.sinkBatches.WithLabelValues(sink, outcome).Inc()
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
	t.deadLettered.WithLabelValues(sink).Add(float64(n))
}

// InFlight implements pipeline.Telemetry.
func (t *Telemetry) InFlight(delta int) { t.inFlight.Add(float64(delta)) }

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

// stateCollector reports the values computed at scrape time: checkpoint
// lag and the health of each source and sink.
type stateCollector struct{ t *Telemetry }

var (
	lagDesc = prometheus.NewDesc("auditrelay_checkpoint_lag_seconds",
		"Now minus the source's committed cursor: how far behind the organization's audit log the relay is.", []string{"source"}, nil)
	sourceUpDesc = prometheus.NewDesc("auditrelay_source_healthy",
		"1 when the source committed within stuck_after and its last run did not fail.", []string{"source"}, nil)
	sinkUpDesc = prometheus.NewDesc("auditrelay_sink_healthy",
		"0 when every batch of the sink failed for longer than sink_failing_after.", []string{"sink"}, nil)
	readyDesc = prometheus.NewDesc("auditrelay_ready", "1 when /readyz answers 200.", nil, nil)
	ownedDesc = prometheus.NewDesc("auditrelay_source_owned",
		"1 when this replica runs the source, 0 when another replica does (coordination).", []string{"source"}, nil)
)

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- sourceUpDesc
	ch <- sinkUpDesc
	ch <- readyDesc
	ch <- ownedDesc
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.t.Health()
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, s := range h.Sources {
		if s.Lag != nil {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, *s.Lag, s.Name)
		}
		ch <- prometheus.MustNewConstMetric(sourceUpDesc, prometheus.GaugeValue, b2f(s.Healthy), s.Name)
		ch <- prometheus.MustNewConstMetric(ownedDesc, prometheus.GaugeValue, b2f(!s.Standby), s.Name)
	}
	for _, s := range h.Sinks {
		ch <- prometheus.MustNewConstMetric(sinkUpDesc, prometheus.GaugeValue, b2f(s.Healthy), s.Name)
	}
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, b2f(h.Ready))
}

// errNotRunning is the readiness problem before the pipeline started.
var errNotRunning = errors.New("the pipeline is not running (starting, reloading or stopped)")
