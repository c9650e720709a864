// Command chaos is the reliability harness behind RELIABILITY.md: it runs
// the built auditrelay binary against the simulator (in this process, so
// that it knows every event the API shows) and real peers in their own
// processes, breaks things, and checks what arrived.
//
//	go run ./test/chaos -events 200000 -kills 20 -outage 30s -write RELIABILITY.md
//
// Scenarios: kill -9 at random points during a backfill into a file
// (at-least-once) and into Kafka (exactly-once, read back read_committed
// with kcat); a Kafka broker, an OpenTelemetry Collector and a Splunk HEC
// endpoint unavailable for -outage in the middle of a run; 10% of API
// requests failing. Every scenario checks that no event is missing.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/auditrelay/auditrelay/sinks/splunkhec/hectest"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

type options struct {
	events, kills int
	outage        time.Duration
	write, only   string
	seed          uint64
}

func main() {
	var o options
	flag.IntVar(&o.events, "events", 200000, "events of the kill -9 backfills")
	flag.IntVar(&o.kills, "kills", 20, "kill -9 per backfill")
	flag.DurationVar(&o.outage, "outage", 30*time.Second, "length of each sink outage")
	flag.StringVar(&o.write, "write", "", "rewrite the generated section of this markdown file")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario names (default all)")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "seed of the kill times")
	flag.Parse()
	if err := run(o, strings.Join(os.Args[1:], " ")); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

type row struct {
	name, setup, checks, result string
	ok                          bool
}

type harness struct {
	o    options
	work string
	bin  map[string]string
	rng  *rand.Rand
}

func run(o options, args string) error {
	work, bin, err := benchkit.Build("auditrelay-chaos-*", map[string]string{"auditrelay": "./cmd/auditrelay", "kfakebroker": "./test/kfakebroker"})
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin["otelcol"] = benchkit.OtelcolBin(".")
	h := &harness{o: o, work: work, bin: bin, rng: rand.New(rand.NewPCG(o.seed, 1))}
	scenarios := []struct {
		name string
		fn   func() row
	}{
		{"kill9-file", h.killFile},
		{"kill9-kafka-eos", h.killKafka},
		{"outage-kafka", h.outageKafka},
		{"outage-otlp", h.outageOTLP},
		{"outage-hec", h.outageHEC},
		{"api-faults", h.apiFaults},
	}
	var rows []row
	failed := false
	for _, s := range scenarios {
		if o.only != "" && !strings.Contains(","+o.only+",", ","+s.name+",") {
			continue
		}
		t0 := time.Now()
		r := s.fn()
		r.name = s.name
		fmt.Fprintf(os.Stderr, "%s: ok=%v in %v: %s\n", s.name, r.ok, time.Since(t0).Round(time.Second), r.result)
		rows = append(rows, r)
		failed = failed || !r.ok
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %d cores (nproc), %s, commit %s; command: `go run ./test/chaos %s` (make chaos); kill seed %d.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), benchkit.CPUModel(), benchkit.Revision(), args, o.seed)
	fmt.Fprintf(&b, "| scenario | setup | checks | result | pass |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		pass := "yes"
		if !r.ok {
			pass = "**NO**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.name, r.setup, r.checks, r.result, pass)
	}
	fmt.Print(b.String())
	if o.write != "" {
		if err := benchkit.RewriteSection(o.write, "chaos", b.String()); err != nil {
			return err
		}
	}
	if failed {
		return errors.New("a scenario failed")
	}
	return nil
}

// sim starts an in-process simulator holding n events with the given
// fault rate and returns it, its base URL and the ids it shows now.
func (h *harness) sim(n int, faults float64) (*openaisim.Server, string, map[string]bool, error) {
	opts := openaisim.Options{Seed: 7, Events: n, Span: 720 * time.Hour, APIKey: "sk-admin-chaos"}
	if faults > 0 {
		opts.Faults = openaisim.Faults{Rate: faults, RetryAfter: 100 * time.Millisecond}
	}
	s := openaisim.New(opts)
	base, err := s.Start()
	if err != nil {
		return nil, "", nil, err
	}
	want := map[string]bool{}
	for _, id := range s.VisibleIDs(time.Now()) {
		want[id] = true
	}
	return s, base, want, nil
}

// config writes an auditrelay config with the given sink and checkpoint
// sections into a new directory and returns its path.
func (h *harness) config(name, base, sink, checkpoint string) (string, error) {
	dir := filepath.Join(h.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	y := fmt.Sprintf(`sources:
  - name: acme
    type: openai_audit_logs
    base_url: %s
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: 730h
    settle: 0s
    max_window_events: %d
    retry_wait_min: 50ms
    retry_wait_max: 1s
sinks:
  - name: out
%s
    retry: {initial_interval: 100ms, max_interval: 2s}
checkpoint:
%s
log:
  level: warn
`, base, maxWindowEvents, sink, checkpoint)
	p := filepath.Join(dir, "auditrelay.yaml")
	return p, os.WriteFile(p, []byte(y), 0o600)
}

func (h *harness) command(cfg string, extra ...string) *exec.Cmd {
	cmd := exec.Command(h.bin["auditrelay"], append([]string{"run", "-c", cfg, "--once"}, extra...)...)
	cmd.Env = append(os.Environ(), "OPENAI_ADMIN_KEY=sk-admin-chaos")
	return cmd
}

// once runs auditrelay --once with the extra flags to completion, its
// stderr into logs.
func (h *harness) once(cfg string, timeout time.Duration, logs *benchkit.Output, extra ...string) error {
	cmd := h.command(cfg, extra...)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("auditrelay: %v\n%s", err, tail(logs.String()))
		}
		return nil
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("auditrelay did not finish within %v\n%s", timeout, tail(logs.String()))
	}
}

func tail(s string) string {
	if len(s) > 1500 {
		return "..." + s[len(s)-1500:]
	}
	return s
}

// killRounds starts auditrelay kills times and kill -9s it at a random
// point of its progress each time: after 0-2 committed windows (read from
// its info log) plus 0-40 ms, so that every kill lands inside the backfill
// however fast the machine is. Then it lets a last run finish. It returns
// the moments of the kills after each start.
func (h *harness) killRounds(cfg string) ([]time.Duration, error) {
	var at []time.Duration
	for range h.o.kills {
		cmd := h.command(cfg, "--log-level", "info")
		windows := h.rng.IntN(3)
		w := &windowWatch{target: windows, reached: make(chan struct{})}
		if windows == 0 {
			close(w.reached)
			w.closed = true
		}
		cmd.Stderr = w
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return at, err
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done: // finished before the kill: the backfill is over
			continue
		case <-w.reached:
		}
		select {
		case <-done:
		case <-time.After(time.Duration(h.rng.IntN(40)) * time.Millisecond):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			at = append(at, time.Since(start))
		}
	}
	return at, h.once(cfg, 5*time.Minute, &benchkit.Output{})
}

// windowWatch is a stderr that closes reached once target "window
// committed" lines were logged.
type windowWatch struct {
	mu      sync.Mutex
	n       int
	target  int
	reached chan struct{}
	closed  bool
}

func (w *windowWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += bytes.Count(p, []byte("window committed"))
	if !w.closed && w.n >= w.target {
		w.closed = true
		close(w.reached)
	}
	return len(p), nil
}

// checkIDs compares the delivered ids with the wanted ones.
func checkIDs(got []string, want map[string]bool) (missing, dups, unknown int) {
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
		if !want[id] {
			unknown++
		}
	}
	for id := range want {
		if seen[id] == 0 {
			missing++
		}
	}
	for _, c := range seen {
		dups += c - 1
	}
	return
}

// fileIDs reads the ids of a JSONL file; any line that is not an event is
// an error.
func fileIDs(path string) ([]string, error) {
	ids, torn, err := fileIDsTorn(path)
	if err == nil && torn > 0 {
		err = fmt.Errorf("%s: %d lines cut short", path, torn)
	}
	return ids, err
}

// fileIDsTorn is fileIDs for a file a kill may have cut: it counts the
// lines that are the start of an event object cut short instead of
// failing. The file sink keeps such a line, ends it, and writes its event
// again whole (it never removes bytes from a file it opens).
func fileIDsTorn(path string) (ids []string, torn int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct{ ID string }
		err := json.Unmarshal(sc.Bytes(), &ev)
		if err != nil && bytes.HasPrefix(sc.Bytes(), []byte(`{"id":"`)) && !json.Valid(sc.Bytes()) {
			torn++
			continue
		}
		if err != nil || ev.ID == "" {
			return nil, 0, fmt.Errorf("%s: a line that is not an event: %v: %.80q", path, err, sc.Text())
		}
		ids = append(ids, ev.ID)
	}
	return ids, torn, sc.Err()
}

const maxWindowEvents = 5000 // set in the config: the duplicates bound of a kill

func (h *harness) killFile() row {
	r := row{setup: fmt.Sprintf("%d events, file sink (at-least-once), file checkpoint, %d x kill -9 after 0-2 committed windows + 0-40 ms", h.o.events, h.o.kills),
		checks: "no event missing; duplicates <= one window (max_window_events) per kill; at most one line cut short per kill, its event written again whole"}
	torn := 0
	t, err := h.kill9("kill-file", "    type: file\n    path: audit.jsonl", "  type: file\n  dir: state",
		func(dir string) (ids []string, err error) {
			ids, torn, err = fileIDsTorn(filepath.Join(dir, "audit.jsonl"))
			return ids, err
		})
	if err != nil {
		return fail(r, err)
	}
	r.ok = h.allKilled(t) && t.missing == 0 && t.unknown == 0 && t.dups <= t.kills*maxWindowEvents && torn <= t.kills
	r.result = fmt.Sprintf("%d kills; %d events, %d missing, %d duplicates (%.0f per kill, bound %d), %d lines cut short (bound: one per kill)",
		t.kills, t.events, t.missing, t.dups, float64(t.dups)/float64(max(t.kills, 1)), maxWindowEvents, torn)
	return r
}

// allKilled reports whether every one of the -kills runs was killed inside
// the back-fill: a run that finished first was not killed, and the
// scenario would claim kills it did not make (raise -events).
func (h *harness) allKilled(t tally) bool { return t.kills == h.o.kills }

// tally is what a kill -9 scenario delivered, against what the API shows.
type tally struct {
	kills                          int
	events, missing, dups, unknown int
}

// kill9 runs the kill -9 rounds of a backfill of -events events into the
// sink and checkpoint sections given, then compares the ids that ids reads
// back (given the directory of the config) with the events the API shows.
func (h *harness) kill9(name, sink, checkpoint string, ids func(dir string) ([]string, error)) (tally, error) {
	sim, base, want, err := h.sim(h.o.events, 0)
	if err != nil {
		return tally{}, err
	}
	defer sim.Close()
	cfg, err := h.config(name, base, sink, checkpoint)
	if err != nil {
		return tally{}, err
	}
	kills, err := h.killRounds(cfg)
	if err != nil {
		return tally{}, err
	}
	got, err := ids(filepath.Dir(cfg))
	if err != nil {
		return tally{}, err
	}
	t := tally{kills: len(kills), events: len(want)}
	t.missing, t.dups, t.unknown = checkIDs(got, want)
	return t, nil
}

// kcatIDs reads topic read_committed with kcat and returns the event ids.
func kcatIDs(addr, topic string) ([]string, error) {
	out, err := exec.Command("kcat", "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q").Output()
	if err != nil {
		return nil, fmt.Errorf("kcat -C %s: %w", topic, err)
	}
	var ids []string
	for l := range bytes.SplitSeq(bytes.TrimSpace(out), []byte{'\n'}) {
		if len(l) == 0 {
			continue
		}
		var ev struct{ ID string }
		if err := json.Unmarshal(l, &ev); err != nil {
			return nil, fmt.Errorf("record is not an event: %v: %.100q", err, l)
		}
		ids = append(ids, ev.ID)
	}
	return ids, nil
}

func (h *harness) killKafka() row {
	r := row{setup: fmt.Sprintf("%d events, Kafka sink exactly_once, cursor in a compacted topic, kfake broker process, %d x kill -9 after 0-2 committed windows + 0-40 ms", h.o.events, h.o.kills),
		checks: "kcat read_committed: no event missing, none twice"}
	b, err := benchkit.StartBroker(h.bin["kfakebroker"], 3, "audit")
	if err != nil {
		return fail(r, err)
	}
	defer b.Stop()
	t, err := h.kill9("kill-kafka", fmt.Sprintf("    type: kafka\n    brokers: [%s]\n    topic: audit\n    exactly_once: true\n    create_topics: true", b.Addr),
		"  type: kafka\n  sink: out\n  topic: auditrelay-checkpoints",
		func(string) ([]string, error) { return kcatIDs(b.Addr, "audit") })
	if err != nil {
		return fail(r, err)
	}
	r.ok = h.allKilled(t) && t.missing == 0 && t.dups == 0 && t.unknown == 0
	r.result = fmt.Sprintf("%d kills; %d events, %d missing, %d duplicates", t.kills, t.events, t.missing, t.dups)
	return r
}

// firstWindow is the JSON log line of a committed window with events.
var firstWindow = regexp.MustCompile(`"msg":"window committed".*"events":[1-9]`)

// outage runs auditrelay --once and, once it has committed a window of
// events (so that the outage starts inside the run however fast the
// machine is), calls down, waits -outage, and calls up; then checks the
// delivered ids. A run that ended before the outage did fails the
// scenario: the outage would have tested nothing.
func (h *harness) outage(r row, name string, n int, sink func(base string) (string, error), down, up func(), ids func() ([]string, error)) row {
	r.checks += "; no API request in the outage after its first seconds"
	sim, base, want, err := h.sim(n, 0)
	if err != nil {
		return fail(r, err)
	}
	defer sim.Close()
	s, err := sink(base)
	if err != nil {
		return fail(r, err)
	}
	cfg, err := h.config(name, base, s, "  type: file\n  dir: state")
	if err != nil {
		return fail(r, err)
	}
	errc := make(chan error, 1)
	logs := &benchkit.Output{}
	t0 := time.Now()
	go func() {
		errc <- h.once(cfg, h.o.outage+5*time.Minute, logs, "--log-level", "info", "--log-format", "json")
	}()
	if _, err := logs.Await(firstWindow, 2*time.Minute); err != nil {
		select {
		case runErr := <-errc:
			return fail(r, fmt.Errorf("the run ended (%v) before it committed a window of events: %w", runErr, err))
		default:
			return fail(r, err)
		}
	}
	down()
	// The source reads on until two windows wait for the sink, then makes
	// no request until the sink takes one: the requests of the outage after
	// its first seconds are none.
	settled := min(5*time.Second, h.o.outage/2)
	// within waits d of the outage, or fails if the run ends first.
	within := func(d time.Duration) error {
		select {
		case err := <-errc:
			up()
			return fmt.Errorf("the run ended %v into the %v outage (%v): the outage fell outside it; raise the events",
				time.Since(t0).Round(time.Millisecond), h.o.outage, err)
		case <-time.After(d):
			return nil
		}
	}
	if err := within(settled); err != nil {
		return fail(r, err)
	}
	atSettled := sim.Stats().Requests
	if err := within(h.o.outage - settled); err != nil {
		return fail(r, err)
	}
	during := sim.Stats().Requests - atSettled
	up()
	if err := <-errc; err != nil {
		return fail(r, err)
	}
	got, err := ids()
	if err != nil {
		return fail(r, err)
	}
	missing, _, unknown := checkIDs(got, want)
	r.ok = missing == 0 && unknown == 0 && during == 0
	r.result = fmt.Sprintf("%d events, %d missing; %d API requests in the outage after its first %v; run took %v",
		len(want), missing, during, settled, time.Since(t0).Round(time.Second))
	return r
}

func (h *harness) outageKafka() row {
	r := row{setup: fmt.Sprintf("broker process frozen (SIGSTOP) for %v from the first committed window", h.o.outage), checks: "no event missing (at-least-once)"}
	b, err := benchkit.StartBroker(h.bin["kfakebroker"], 3, "audit")
	if err != nil {
		return fail(r, err)
	}
	defer b.Stop()
	return h.outage(r, "outage-kafka", 100000,
		func(string) (string, error) {
			return fmt.Sprintf("    type: kafka\n    brokers: [%s]\n    topic: audit", b.Addr), nil
		},
		func() { b.Cmd.Process.Signal(syscall.SIGSTOP) }, func() { b.Cmd.Process.Signal(syscall.SIGCONT) },
		func() ([]string, error) { return kcatIDs(b.Addr, "audit") })
}

func (h *harness) outageOTLP() row {
	r := row{setup: fmt.Sprintf("collector process frozen (SIGSTOP) for %v from the first committed window", h.o.outage), checks: "every event in the collector's file exporter output"}
	if _, err := os.Stat(h.bin["otelcol"]); err != nil {
		return fail(r, fmt.Errorf("no collector at %s: run bash test/e2e/build-collector.sh", h.bin["otelcol"]))
	}
	out := filepath.Join(h.work, "otelcol.jsonl")
	// Port 0: the receiver binds free ports and logs them.
	cmd := exec.Command(h.bin["otelcol"], "--config", "file:"+filepath.Join("deploy", "otelcol", "collector-e2e.yaml"))
	cmd.Env = append(os.Environ(), "OTELCOL_GRPC_PORT=0", "OTELCOL_HTTP_PORT=0", "OTELCOL_OUT="+out)
	stderr := &benchkit.Output{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fail(r, err)
	}
	stop := sync.OnceFunc(func() { cmd.Process.Signal(syscall.SIGCONT); cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	defer stop()
	grpc, _, err := benchkit.CollectorAddrs(stderr, 30*time.Second)
	if err != nil {
		return fail(r, err)
	}
	return h.outage(r, "outage-otlp", 30000,
		func(string) (string, error) {
			return fmt.Sprintf("    type: otlp\n    endpoint: %s\n    protocol: grpc\n    timeout: 2s", grpc), nil
		},
		func() { cmd.Process.Signal(syscall.SIGSTOP) }, func() { cmd.Process.Signal(syscall.SIGCONT) },
		func() ([]string, error) {
			stop() // a collector stopped gracefully has flushed its file exporter
			return otlpIDs(out)
		})
}

// otlpIDs pulls openai.event.id attribute values out of OTLP JSON lines.
func otlpIDs(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ids []string
	const key = `{"key":"openai.event.id","value":{"stringValue":"`
	for {
		i := bytes.Index(data, []byte(key))
		if i < 0 {
			return ids, nil
		}
		data = data[i+len(key):]
		j := bytes.IndexByte(data, '"')
		ids = append(ids, string(data[:j]))
	}
}

func (h *harness) outageHEC() row {
	r := row{setup: fmt.Sprintf("HEC endpoint (contract server with indexer ack) answering 503 for %v from the first committed window", h.o.outage), checks: "every event indexed"}
	srv := hectest.New(hectest.Options{Token: "chaos-hec-token", Ack: true})
	defer srv.Close()
	// auditrelay talks to the server through a front that, during the
	// outage, answers every request (events and ack polls) as an
	// unhealthy HEC does, and passes them on otherwise.
	target, err := url.Parse(srv.URL())
	if err != nil {
		return fail(r, err)
	}
	var down atomic.Bool
	var refused atomic.Int64
	pass := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if down.Load() {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"text":"HEC is unhealthy, queues are full","code":18}`)
			return
		}
		pass.ServeHTTP(w, req)
	}))
	defer front.Close()
	r = h.outage(r, "outage-hec", 20000,
		func(string) (string, error) {
			return fmt.Sprintf("    type: splunk_hec\n    endpoint: %s\n    token: chaos-hec-token\n    ack: {enabled: true}", front.URL), nil
		},
		func() { down.Store(true) },
		func() { down.Store(false) },
		func() ([]string, error) {
			var ids []string
			for _, e := range srv.Events() {
				var ev struct{ ID string }
				if err := json.Unmarshal(e.Event, &ev); err != nil {
					return nil, err
				}
				ids = append(ids, ev.ID)
			}
			return ids, nil
		})
	if r.ok && refused.Load() == 0 {
		r.ok = false
		r.result += "; no request reached the endpoint during the outage"
	}
	return r
}

func (h *harness) apiFaults() row {
	r := row{setup: "50000 events, 10% of API requests fail (429, 500, 503, slow, reset, truncated, garbled, bad envelope), file sink", checks: "no event missing"}
	sim, base, want, err := h.sim(50000, 0.10)
	if err != nil {
		return fail(r, err)
	}
	defer sim.Close()
	cfg, err := h.config("api-faults", base, "    type: file\n    path: audit.jsonl", "  type: file\n  dir: state")
	if err != nil {
		return fail(r, err)
	}
	if err := h.once(cfg, 10*time.Minute, &benchkit.Output{}); err != nil {
		return fail(r, err)
	}
	ids, err := fileIDs(filepath.Join(filepath.Dir(cfg), "audit.jsonl"))
	if err != nil {
		return fail(r, err)
	}
	missing, dups, unknown := checkIDs(ids, want)
	st := sim.Stats()
	r.ok = missing == 0 && unknown == 0
	var faults int64
	for _, c := range st.Faults {
		faults += c
	}
	r.result = fmt.Sprintf("%d events, %d missing, %d duplicates; %d API requests, %d of them failed", len(want), missing, dups, st.Requests, faults)
	return r
}

func fail(r row, err error) row {
	r.ok = false
	r.result = strings.ReplaceAll(strings.ReplaceAll(fmt.Sprintf("error: %v", err), "\n", " "), "|", "/")
	if len(r.result) > 400 {
		r.result = r.result[:400] + "..."
	}
	return r
}
