package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
	"github.com/auditrelay/auditrelay/telemetry"
)

// syncBuffer is an io.Writer safe for the concurrent logging of a run; it
// tells those waiting on changed that something was written.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed at the next Write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote != nil {
		close(s.wrote)
		s.wrote = nil
	}
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// changed returns a channel closed at the next Write.
func (s *syncBuffer) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote == nil {
		s.wrote = make(chan struct{})
	}
	return s.wrote
}

// listen binds the daemon's metrics and health server on a free loopback
// port; the run serves on this listener (Main.Listener) and closes it.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // in case the run never started
	return ln
}

// srcYAML is a source section tuned for tests: fast polls, no settle.
func srcYAML(name, base, key string) string {
	return fmt.Sprintf(`  - name: %s
    type: openai_audit_logs
    base_url: %s
    api_key: %s
    start_at: 2h
    poll_interval: 100ms
    settle: 0s
    overlap: 2s
    batch_size: 50
    max_retries: 1
    retry_wait_min: 10ms
    retry_wait_max: 50ms
`, name, base, key)
}

// archiveYAML is what follows the sources in a config of the daemon tests:
// the file sink archive writing out, file checkpoints in state, and the
// server (on a free port: Main.Listener gives it the test's listener) with
// the further server keys given.
func archiveYAML(out, server string) string {
	return `sinks:
  - name: archive
    type: file
    path: ` + out + `
    fsync: false
checkpoint:
  type: file
  dir: state
server:
  listen: 127.0.0.1:0
` + server
}

// daemon runs `auditrelay run` in process until the test ends.
type daemon struct {
	addr   string
	stderr *syncBuffer
	reload chan os.Signal
	cancel context.CancelFunc
	exit   chan int
}

// startDaemon runs the config at cfgPath, serving /metrics, /healthz and
// /readyz on ln.
func startDaemon(t *testing.T, cfgPath string, ln net.Listener, run func(m *Main, ctx context.Context) int) *daemon {
	t.Helper()
	d := &daemon{addr: ln.Addr().String(), stderr: &syncBuffer{}, reload: make(chan os.Signal, 1), exit: make(chan int, 1)}
	m := &Main{Stdout: io.Discard, Stderr: d.stderr, Environ: []string{"OPENAI_ADMIN_KEY=sk-admin-test"}, Reload: d.reload, Listener: ln}
	ctx, cancel := context.WithCancel(t.Context())
	d.cancel = cancel
	go func() {
		if run != nil {
			d.exit <- run(m, ctx)
			return
		}
		d.exit <- m.Run(ctx, []string{"run", "-c", cfgPath, "--log-format", "json"})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.exit:
		case <-time.After(30 * time.Second):
			t.Error("auditrelay did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("auditrelay log:\n%s", d.stderr.String())
		}
	})
	return d
}

// stop cancels the run and returns its exit code.
func (d *daemon) stop(t *testing.T) int {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.exit:
		d.exit <- code // for the cleanup
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("auditrelay did not stop within 30s")
		return -1
	}
}

// scrape is the client of the daemon's server: a server that accepts no
// request (say, one not serving the listener it was given) fails a check
// instead of hanging it.
var scrape = &http.Client{Timeout: 5 * time.Second}

func (d *daemon) get(path string) (int, string, error) {
	resp, err := scrape.Get("http://" + d.addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// metric returns the sum of the samples of name whose label set contains
// every pair of labels (`source="acme"`), from the text exposition.
func (d *daemon) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	code, body, err := d.get("/metrics")
	if err != nil || code != 200 {
		return -1
	}
	sum, found := 0.0, false
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue lines
			}
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}

func (d *daemon) health(t *testing.T) (int, telemetry.Status) {
	t.Helper()
	code, body, err := d.get("/readyz")
	var st telemetry.Status
	if err == nil {
		_ = json.Unmarshal([]byte(body), &st)
	}
	return code, st
}

// eventually waits up to 20s for cond, checking it now and again each time
// the daemon logs a line: what it waits for follows something the daemon
// did, and the daemon logs what it does (a committed window, a sink retried,
// a reload), so cond is checked right after each step that may change it.
func (d *daemon) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		logged := d.stderr.changed() // before cond: a line logged during cond wakes the next wait
		if cond() {
			return
		}
		select {
		case <-logged:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestMetricsAgreeWithDelivery scrapes /metrics during a real run (simulator
// over HTTP with 503 and 429 faults, file sink) and checks the counters
// against what the file holds.
func TestMetricsAgreeWithDelivery(t *testing.T) {
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 7, Events: 400, Span: time.Hour, APIKey: "sk-admin-test",
		Faults: openaisim.Faults{Rate: 0.3, Kinds: []openaisim.FaultKind{openaisim.Fault503, openaisim.Fault429}, RetryAfter: 10 * time.Millisecond}})
	dir := t.TempDir()
	ln := listen(t)
	src := strings.Replace(srcYAML("acme", base, "${env:OPENAI_ADMIN_KEY}"), "max_retries: 1", "max_retries: 20\n    page_size: 20", 1)
	cfg := writeFile(t, dir, "auditrelay.yaml", "sources:\n"+src+archiveYAML("out.jsonl", ""))
	d := startDaemon(t, cfg, ln, nil)
	want := len(sim.VisibleIDs(time.Now().Add(-2 * time.Second)))
	if want < 300 {
		t.Fatalf("simulator shows only %d events", want)
	}
	d.eventually(t, "every visible event delivered", func() bool {
		return d.metric(t, "auditrelay_events_delivered_total", `sink="archive"`) >= float64(want)
	})
	// The source counts a window when it commits, the sink per batch: wait
	// until the last window committed and take one consistent snapshot.
	var m map[string]float64
	d.eventually(t, "counters settle", func() bool {
		m = map[string]float64{
			"delivered": d.metric(t, "auditrelay_events_delivered_total", `sink="archive"`),
			"fetched":   d.metric(t, "auditrelay_events_fetched_total", `source="acme"`),
			"pages":     d.metric(t, "auditrelay_pages_fetched_total", `source="acme"`),
			"503":       d.metric(t, "auditrelay_http_requests_total", `source="acme"`, `status="503"`),
			"retries":   d.metric(t, "auditrelay_retries_total", `component="acme"`),
			"wait":      d.metric(t, "auditrelay_retry_wait_seconds_total", `component="acme"`),
			"lag":       d.metric(t, "auditrelay_checkpoint_lag_seconds", `source="acme"`),
			"bytes":     d.metric(t, "auditrelay_sink_bytes_total", `sink="archive"`),
			"windows":   d.metric(t, "auditrelay_window_duration_seconds_count", `source="acme"`),
			"batches":   d.metric(t, "auditrelay_sink_batch_duration_seconds_count", `sink="archive"`),
			"inflight":  d.metric(t, "auditrelay_in_flight_batches"),
			"build":     d.metric(t, "auditrelay_build_info"),
		}
		return m["delivered"] == m["fetched"]
	})
	code, st := d.health(t)
	if code != 200 || !st.Ready {
		t.Errorf("/readyz = %d %+v, want 200 ready", code, st)
	}
	if c, body, _ := d.get("/healthz"); c != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q", c, body)
	}
	if exit := d.stop(t); exit != exitOK {
		t.Fatalf("exit code %d", exit)
	}
	ids := readIDs(t, filepath.Join(dir, "out.jsonl"))
	unique, dups := countIDs(ids)
	// Events may arrive between the snapshot and the stop: the file holds
	// at least what the counters saw.
	checks := []struct {
		name string
		ok   bool
	}{
		{"file holds every visible event", len(unique) >= want},
		{"no duplicates in the file", dups == 0},
		{"delivered counter matches the file", m["delivered"] >= float64(want) && m["delivered"] <= float64(len(ids))},
		{"pages were fetched", m["pages"] >= 1},
		{"503s were counted", m["503"] >= 1},
		{"retries and their waits were counted", m["retries"] >= 1 && m["wait"] > 0},
		{"checkpoint lag is current", m["lag"] >= 0 && m["lag"] < 60},
		{"bytes counted", m["bytes"] > m["delivered"]*100},
		{"windows observed", m["windows"] >= 1},
		{"sink batches observed", m["batches"] >= m["windows"]},
		{"nothing in flight when idle", m["inflight"] == 0},
		{"build info exported", m["build"] == 1},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("metrics %v, file %d lines (%d unique), simulator %d visible", m, len(ids), len(unique), want)
			}
		})
	}
}

// flakySink acknowledges every batch while up and fails every batch while
// down: a destination that goes away and comes back.
type flakySink struct {
	down   *atomic.Bool
	events *atomic.Int64
}

type flakyConfig struct{}

func (*flakyConfig) Validate() error { return nil }

func (flakySink) Start(context.Context) error    { return nil }
func (flakySink) Shutdown(context.Context) error { return nil }
func (s flakySink) Consume(_ context.Context, b pipeline.Batch) error {
	if s.down.Load() {
		return errors.New("destination unreachable")
	}
	s.events.Add(int64(len(b.Events)))
	return nil
}

// TestReadyzFollowsSinkHealth: /readyz turns 503 when a sink has failed for
// longer than sink_failing_after and 200 again once it acknowledges.
func TestReadyzFollowsSinkHealth(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 3, Events: 50, Span: time.Hour, Rate: 20, APIKey: "sk-admin-test"})
	var down atomic.Bool
	var events atomic.Int64
	reg, err := pipeline.NewRegistry(checkpoint.NewMemoryFactory(), openai.NewFactory(nil),
		pipeline.NewSinkFactory("flaky", func() *flakyConfig { return &flakyConfig{} },
			func(pipeline.Settings, *flakyConfig) (pipeline.Sink, error) {
				return flakySink{down: &down, events: &events}, nil
			}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ln := listen(t)
	path := writeFile(t, dir, "auditrelay.yaml", "sources:\n"+srcYAML("acme", base, "${env:OPENAI_ADMIN_KEY}")+`sinks:
  - name: siem
    type: flaky
    retry:
      initial_interval: 20ms
      max_interval: 50ms
checkpoint:
  type: memory
server:
  listen: 127.0.0.1:0
  stuck_after: 1h
  sink_failing_after: 300ms
`)
	d := startDaemon(t, path, ln, func(m *Main, ctx context.Context) int {
		cfg, err := config.Load(path, reg, m.Environ)
		if err != nil {
			t.Error(err)
			return exitUsage
		}
		return m.runPipeline(ctx, reg, cfg, m.newLogger("debug", "json"), false, nil)
	})
	steps := []struct {
		name     string
		down     bool
		wantCode int
		wantText string
	}{
		{"ready while the sink acknowledges", false, 200, `"ready": true`},
		{"unready once the sink failed past the threshold", true, 503, `sink \"siem\" has failed every batch`},
		{"ready again after the sink recovered", false, 200, `"ready": true`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			down.Store(s.down)
			var code int
			var body string
			d.eventually(t, s.name, func() bool {
				code, body, _ = d.get("/readyz")
				return code == s.wantCode
			})
			if !strings.Contains(body, s.wantText) {
				t.Errorf("/readyz %d body does not contain %q:\n%s", code, s.wantText, body)
			}
			if healthy := d.metric(t, "auditrelay_sink_healthy", `sink="siem"`); (healthy == 1) != (s.wantCode == 200) {
				t.Errorf("auditrelay_sink_healthy = %v with /readyz %d", healthy, code)
			}
		})
	}
	before := events.Load()
	d.eventually(t, "deliveries resume", func() bool { return events.Load() > before })
	if d.metric(t, "auditrelay_sink_batches_total", `sink="siem"`, `outcome="error"`) < 1 {
		t.Error("failed batches were not counted")
	}
}

// TestOneFailingOrganizationDoesNotHoldBackOthers runs three organizations:
// acme is healthy, globex's key is refused (a permanent error), initech's
// API answers 503 to every request. acme keeps delivering everything while
// /readyz names the two others.
func TestOneFailingOrganizationDoesNotHoldBackOthers(t *testing.T) {
	acme, acmeURL := openaisimtest.Start(t, openaisim.Options{Seed: 11, Events: 300, Span: time.Hour, Rate: 5, APIKey: "sk-admin-test"})
	_, globexURL := openaisimtest.Start(t, openaisim.Options{Seed: 12, Events: 300, Span: time.Hour, APIKey: "sk-admin-other"})
	_, initechURL := openaisimtest.Start(t, openaisim.Options{Seed: 13, Events: 300, Span: time.Hour,
		Faults: openaisim.Faults{Rate: 1, Kinds: []openaisim.FaultKind{openaisim.Fault503}}})
	dir := t.TempDir()
	ln := listen(t)
	cfg := writeFile(t, dir, "auditrelay.yaml", "sources:\n"+
		srcYAML("acme", acmeURL, "${env:OPENAI_ADMIN_KEY}")+
		srcYAML("globex", globexURL, "${env:OPENAI_ADMIN_KEY}")+
		srcYAML("initech", initechURL, "${env:OPENAI_ADMIN_KEY}")+
		archiveYAML("out.jsonl", "  stuck_after: 2s\n"))
	d := startDaemon(t, cfg, ln, nil)
	want := acme.VisibleIDs(time.Now().Add(-time.Second))
	d.eventually(t, "acme delivered while the others fail", func() bool {
		return d.metric(t, "auditrelay_events_fetched_total", `source="acme"`) >= float64(len(want))
	})
	var st telemetry.Status
	d.eventually(t, "readyz names both failing organizations", func() bool {
		var code int
		code, st = d.health(t)
		return code == 503 && len(st.Sources) == 3 && !st.Sources[1].Healthy && !st.Sources[2].Healthy
	})
	t.Run("acme healthy", func(t *testing.T) {
		if st.Sources[0].Name != "acme" || !st.Sources[0].Healthy {
			t.Errorf("acme: %+v", st.Sources[0])
		}
	})
	t.Run("globex reports the refused key", func(t *testing.T) {
		if !strings.Contains(st.Sources[1].Error, "401") && !strings.Contains(strings.ToLower(st.Sources[1].Error), "refused") {
			t.Errorf("globex: %+v", st.Sources[1])
		}
		if d.metric(t, "auditrelay_source_failures_total", `source="globex"`) < 1 {
			t.Error("globex failures not counted")
		}
	})
	t.Run("initech is stuck and retrying", func(t *testing.T) {
		if d.metric(t, "auditrelay_http_requests_total", `source="initech"`, `status="503"`) < 1 {
			t.Error("initech 503s not counted")
		}
		if d.metric(t, "auditrelay_events_fetched_total", `source="initech"`) > 0 {
			t.Error("initech fetched events through a 100% fault rate")
		}
	})
	if exit := d.stop(t); exit != exitOK {
		t.Errorf("exit code %d after SIGTERM-equivalent, want 0", exit)
	}
	got, _ := countIDs(readIDs(t, filepath.Join(dir, "out.jsonl")))
	for _, id := range want {
		if got[id] == 0 {
			t.Fatalf("acme event %s missing from the file (%d of %d delivered)", id, len(got), len(want))
		}
	}
}

// TestReloadOnSIGHUP: an invalid config is refused and the old pipeline
// keeps running; a valid one replaces it after the old one drained and
// committed, so the new sink receives only events the old one did not.
func TestReloadOnSIGHUP(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 21, Events: 100, Span: time.Hour, Rate: 20, APIKey: "sk-admin-test"})
	dir := t.TempDir()
	ln := listen(t)
	config := func(out string) string {
		return "sources:\n" + srcYAML("acme", base, "${env:OPENAI_ADMIN_KEY}") + archiveYAML(out, "")
	}
	path := writeFile(t, dir, "auditrelay.yaml", config("first.jsonl"))
	d := startDaemon(t, path, ln, nil)
	d.eventually(t, "first pipeline delivering", func() bool {
		return d.metric(t, "auditrelay_events_delivered_total", `sink="archive"`) >= 100
	})

	writeFile(t, dir, "auditrelay.yaml", config("first.jsonl")+"bogus_key: 1\n")
	d.reload <- syscall.SIGHUP
	d.eventually(t, "invalid config refused", func() bool { return strings.Contains(d.stderr.String(), "reload refused") })
	n := d.metric(t, "auditrelay_events_delivered_total", `sink="archive"`)
	d.eventually(t, "old pipeline still delivering", func() bool {
		return d.metric(t, "auditrelay_events_delivered_total", `sink="archive"`) > n
	})
	if code, _, _ := d.get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d after a refused reload", code)
	}

	writeFile(t, dir, "auditrelay.yaml", config("second.jsonl"))
	d.reload <- syscall.SIGHUP
	d.eventually(t, "new pipeline writing second.jsonl", func() bool {
		data, _ := os.ReadFile(filepath.Join(dir, "second.jsonl"))
		return bytes.Count(data, []byte("\n")) >= 20
	})
	if code, _, _ := d.get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d after a reload", code)
	}
	if exit := d.stop(t); exit != exitOK {
		t.Fatalf("exit code %d", exit)
	}
	first := readIDs(t, filepath.Join(dir, "first.jsonl"))
	seen := map[string]bool{}
	for _, id := range first {
		seen[id] = true
	}
	for _, id := range readIDs(t, filepath.Join(dir, "second.jsonl")) {
		if seen[id] {
			t.Fatalf("event %s delivered by both pipelines: the old one did not commit before the new one started", id)
		}
		seen[id] = true
	}
}

// TestReloadThatCannotStart: a reloaded config that validates but cannot
// start (its file sink's directory cannot be created) leaves the daemon
// running the previous configuration, says so in the log and on /readyz,
// and counts it; a later good reload clears it.
func TestReloadThatCannotStart(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 22, Events: 100, Span: time.Hour, Rate: 20, APIKey: "sk-admin-test"})
	dir := t.TempDir()
	config := func(out string) string {
		return "sources:\n" + srcYAML("acme", base, "${env:OPENAI_ADMIN_KEY}") + archiveYAML(out, "")
	}
	path := writeFile(t, dir, "auditrelay.yaml", config("first.jsonl"))
	d := startDaemon(t, path, listen(t), nil)
	delivered := func() float64 { return d.metric(t, "auditrelay_events_delivered_total", `sink="archive"`) }
	d.eventually(t, "first pipeline delivering", func() bool { return delivered() >= 20 })

	writeFile(t, dir, "blocker", "a file where the new sink wants a directory")
	writeFile(t, dir, "auditrelay.yaml", config("blocker/second.jsonl"))
	d.reload <- syscall.SIGHUP
	d.eventually(t, "the failed start reported", func() bool {
		return strings.Contains(d.stderr.String(), "could not start; the previous one runs again")
	})
	n := delivered()
	d.eventually(t, "the previous pipeline delivering again", func() bool { return delivered() > n })
	code, st := d.health(t)
	if code != 200 || !strings.Contains(st.ReloadError, "could not start") {
		t.Errorf("/readyz = %d, reload_error %q; want 200 and the failed reload", code, st.ReloadError)
	}
	if got := d.metric(t, "auditrelay_reload_failures_total"); got != 1 {
		t.Errorf("reload_failures_total = %v, want 1", got)
	}

	writeFile(t, dir, "auditrelay.yaml", config("third.jsonl"))
	d.reload <- syscall.SIGHUP
	d.eventually(t, "a good reload clears the report", func() bool {
		_, st := d.health(t)
		data, _ := os.ReadFile(filepath.Join(dir, "third.jsonl"))
		return st.ReloadError == "" && len(data) > 0
	})
	if exit := d.stop(t); exit != exitOK {
		t.Fatalf("exit code %d", exit)
	}
}
