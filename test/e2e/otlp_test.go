//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

// otelcolBin returns the collector built by test/e2e/build-collector.sh
// (or the one named by AUDITRELAY_OTELCOL). A missing collector fails the
// test: OTLP must never pass by being skipped.
func otelcolBin(t testing.TB) string {
	t.Helper()
	p := benchkit.OtelcolBin(repoRoot())
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no OpenTelemetry Collector at %s: run `bash test/e2e/build-collector.sh` (make e2e does) or set AUDITRELAY_OTELCOL", p)
	}
	return p
}

// otelCollector is a running OpenTelemetry Collector writing the logs it
// receives as OTLP JSON lines to out.
type otelCollector struct {
	grpcPort, httpPort int // where its OTLP receiver listens
	out                string
	cmd                *exec.Cmd
	stderr             *benchkit.Output
}

// startCollector starts a collector whose OTLP receiver listens on the
// given loopback ports; 0 lets it bind free ones, which it logs and
// startCollector reads back. It returns once both servers listen.
func startCollector(t testing.TB, grpcPort, httpPort int, out string) *otelCollector {
	t.Helper()
	c := startCollectorWith(t, "collector-e2e.yaml", grpcPort, httpPort, "OTELCOL_OUT="+out)
	c.out = out
	return c
}

// startCollectorWith is startCollector with the config of deploy/otelcol
// named config and the environment it reads besides the ports.
func startCollectorWith(t testing.TB, config string, grpcPort, httpPort int, env ...string) *otelCollector {
	t.Helper()
	c := &otelCollector{stderr: &benchkit.Output{}}
	c.cmd = exec.Command(otelcolBin(t), "--config", "file:"+filepath.Join(repoRoot(), "deploy", "otelcol", config))
	c.cmd.Env = append(append(os.Environ(), fmt.Sprintf("OTELCOL_GRPC_PORT=%d", grpcPort), fmt.Sprintf("OTELCOL_HTTP_PORT=%d", httpPort)), env...)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stop(t) })
	grpcAddr, httpAddr, err := benchkit.CollectorAddrs(c.stderr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.grpcPort, c.httpPort = port(t, grpcAddr), port(t, httpAddr)
	if grpcPort != 0 && c.grpcPort != grpcPort || httpPort != 0 && c.httpPort != httpPort {
		t.Fatalf("collector listens on %d and %d, want %d and %d", c.grpcPort, c.httpPort, grpcPort, httpPort)
	}
	return c
}

func port(t testing.TB, hostPort string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		t.Fatalf("address %q: %v %v", hostPort, err, perr)
	}
	return n
}

// stop shuts the collector down gracefully (the file exporter flushes).
func (c *otelCollector) stop(t testing.TB) {
	if c.cmd.Process == nil || c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
		t.Errorf("collector did not stop on SIGTERM")
	}
}

// otelRecord is what the tests check of one received log record.
type otelRecord struct {
	id, name, protocol string
	sevNum             int32
	sevText            string
	ts                 time.Time
	attrs              map[string]any
	body               map[string]any
}

// readOTLPRecords parses the collector's output files.
func readOTLPRecords(t testing.TB, files ...string) []otelRecord {
	t.Helper()
	var out []otelRecord
	for _, f := range files {
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		// The collector may be writing (or have been stopped while
		// writing) the last line: read only complete lines.
		data = data[:bytes.LastIndexByte(data, '\n')+1]
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(sc.Bytes())
			if err != nil {
				t.Fatalf("collector output: %v", err)
			}
			rls := ld.ResourceLogs()
			for i := 0; i < rls.Len(); i++ {
				proto, _ := rls.At(i).Resource().Attributes().Get("test.protocol")
				sls := rls.At(i).ScopeLogs()
				for j := 0; j < sls.Len(); j++ {
					lrs := sls.At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						lr := lrs.At(k)
						r := otelRecord{name: lr.EventName(), protocol: proto.Str(), sevNum: int32(lr.SeverityNumber()), sevText: lr.SeverityText(),
							ts: lr.Timestamp().AsTime(), attrs: lr.Attributes().AsRaw()}
						r.id, _ = r.attrs["openai.event.id"].(string)
						if lr.Body().Type().String() == "Map" {
							r.body = lr.Body().Map().AsRaw()
						}
						out = append(out, r)
					}
				}
			}
		}
	}
	return out
}

// visibleSimEvents returns the simulator's visible events by id, decoded.
func visibleSimEvents(t testing.TB, sim *openaisim.Server, n int) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, raw := range visibleEvents(t, sim, n) {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out[id] = m
	}
	return out
}

// otlpSeverity is the OTLP sink's scale, restated: the level of an event
// type comes from the one severity table (schema/openai).
var otlpSeverity = map[openai.Level]int32{openai.Info: 9, openai.Low: 10, openai.Medium: 13, openai.High: 14, openai.Critical: 17}

func otlpSink(name, protocol, endpoint string) string {
	return fmt.Sprintf(`  - name: %s
    type: otlp
    protocol: %s
    endpoint: %s
    resource_attributes:
      test.protocol: %s
    retry:
      initial_interval: 100ms
      max_interval: 500ms
`, name, protocol, endpoint, protocol)
}

// TestOTLPCollector sends the simulator's events through auditrelay to a
// real collector over gRPC, HTTP/protobuf and HTTP/JSON at once and checks
// every otelRecord the collector wrote.
func TestOTLPCollector(t *testing.T) {
	const n = 3000
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 4, Events: n, Span: 48 * time.Hour, APIKey: "sk-admin-e2e-test"})
	out := filepath.Join(t.TempDir(), "otlp.jsonl")
	col := startCollector(t, 0, 0, out)
	sinks := otlpSink("otel_grpc", "grpc", fmt.Sprintf("127.0.0.1:%d", col.grpcPort)) +
		otlpSink("otel_http", "http/protobuf", fmt.Sprintf("http://127.0.0.1:%d", col.httpPort)) +
		otlpSink("otel_json", "http/json", fmt.Sprintf("http://127.0.0.1:%d", col.httpPort))
	cfg := writeConfig(t, backfillConfig(base, sinks, fileCheckpoint))
	_, stderr, exit := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once")
	if exit != 0 {
		t.Fatalf("auditrelay exited %d:\n%s", exit, stderr)
	}
	want := visibleSimEvents(t, sim, n)
	// auditrelay exited 0: the collector took every record. Stopping it
	// flushes its file exporter; then the file is complete.
	col.stop(t)
	recs := readOTLPRecords(t, out)
	byProto := map[string]map[string]otelRecord{}
	for _, r := range recs {
		if byProto[r.protocol] == nil {
			byProto[r.protocol] = map[string]otelRecord{}
		}
		byProto[r.protocol][r.id] = r
	}
	for _, proto := range []string{"grpc", "http/protobuf", "http/json"} {
		t.Run(proto, func(t *testing.T) {
			got := byProto[proto]
			if len(got) != len(want) {
				t.Errorf("collector holds %d distinct events over %s, want %d", len(got), proto, len(want))
			}
			bad := 0
			for id, ev := range want {
				r, ok := got[id]
				if !ok {
					t.Errorf("event %s missing", id)
					if bad++; bad > 5 {
						t.FailNow()
					}
					continue
				}
				typ := ev["type"].(string)
				eff, _ := ev["effective_at"].(json.Number).Int64()
				problems := []string{}
				if !r.ts.Equal(time.Unix(eff, 0)) {
					problems = append(problems, fmt.Sprintf("timestamp %v, want %v", r.ts, time.Unix(eff, 0).UTC()))
				}
				if r.name != typ || r.attrs["event.name"] != typ {
					problems = append(problems, fmt.Sprintf("event name %q/%v, want %q", r.name, r.attrs["event.name"], typ))
				}
				if l := openai.Severity(nil, typ, false); r.sevNum != otlpSeverity[l] || r.sevText != string(l) {
					problems = append(problems, fmt.Sprintf("severity %d %s for %s", r.sevNum, r.sevText, typ))
				}
				if actor, ok := ev["actor"].(map[string]any); ok && actor["type"] != r.attrs["openai.actor.type"] {
					problems = append(problems, fmt.Sprintf("openai.actor.type %v, want %v", r.attrs["openai.actor.type"], actor["type"]))
				}
				if p, ok := ev["project"].(map[string]any); ok && p["id"] != r.attrs["openai.project.id"] {
					problems = append(problems, fmt.Sprintf("openai.project.id %v, want %v", r.attrs["openai.project.id"], p["id"]))
				}
				if r.body == nil || r.body["id"] != id || r.body["type"] != typ {
					problems = append(problems, "body is not the event object")
				}
				if len(problems) > 0 {
					t.Errorf("%s (%s): %s", id, typ, strings.Join(problems, "; "))
					if bad++; bad > 5 {
						t.FailNow()
					}
				}
			}
		})
	}
}

// TestOTLPCollectorOutage stops the collector during a run, until an OTLP
// sink has failed against it and is retrying, then restarts it on the same
// ports: every event still arrives at both sinks, some of them only after
// the outage.
func TestOTLPCollectorOutage(t *testing.T) {
	const n = 6000
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 5, Events: n, Span: 72 * time.Hour, APIKey: "sk-admin-e2e-test",
		// Slow pages stretch the run so that the outage falls inside it.
		Faults: openaisim.Faults{Rate: 0.5, Kinds: []openaisim.FaultKind{openaisim.FaultSlow}, SlowDelay: 100 * time.Millisecond}})
	dir := t.TempDir()
	out1, out2 := filepath.Join(dir, "before.jsonl"), filepath.Join(dir, "after.jsonl")
	col := startCollector(t, 0, 0, out1)
	sinks := otlpSink("otel_grpc", "grpc", fmt.Sprintf("127.0.0.1:%d", col.grpcPort)) +
		otlpSink("otel_http", "http/protobuf", fmt.Sprintf("http://127.0.0.1:%d", col.httpPort))
	cfg := writeConfig(t, backfillConfig(base, sinks, fileCheckpoint))

	type result struct {
		stderr string
		exit   int
	}
	done := make(chan result, 1)
	stderr := &benchkit.Output{}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, auditrelayBin(t), "run", "-c", cfg, "--once", "--log-format", "json")
		cmd.Env = append(os.Environ(), "OPENAI_ADMIN_KEY=sk-admin-e2e-test")
		cmd.Stderr = stderr
		err := cmd.Run()
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
		}
		done <- result{stderr.String(), code}
	}()
	// Let a window of events through to both sinks (the first windows of
	// the 720h back-fill are empty), then take the collector away.
	if _, err := stderr.Await(regexp.MustCompile(`"msg":"window committed".*"events":[1-9]`), 60*time.Second); err != nil {
		t.Fatalf("no window reached the collector before the outage: %v", err)
	}
	col.stop(t)
	// The outage lasts until a sink has failed against it and is retrying:
	// the run must still be delivering when the collector goes. Not both:
	// the engine hands a window to every sink and the next one only when
	// all took it, so a sink that took the window in flight before the
	// stop has nothing to send until the other one gets through.
	retrying := make(chan error, 1)
	go func() {
		re := regexp.MustCompile(`"msg":"sink failed, retrying it alone".*"sink":"otel_(grpc|http)"`)
		_, err := stderr.Await(re, 60*time.Second)
		retrying <- err
	}()
	select {
	case err := <-retrying:
		if err != nil {
			t.Fatalf("the sinks did not retry while the collector was down: %v", err)
		}
	case r := <-done:
		t.Fatalf("the run ended (exit %d) before a sink failed against the stopped collector: the outage fell outside the run; make it longer:\n%s", r.exit, r.stderr)
	}
	col2 := startCollector(t, col.grpcPort, col.httpPort, out2)
	r := <-done
	if r.exit != 0 {
		t.Fatalf("auditrelay exited %d:\n%s", r.exit, r.stderr)
	}
	want := visibleSimEvents(t, sim, n)
	// auditrelay exited 0: the collector took every record; stopping it
	// flushes its file exporter.
	col2.stop(t)
	before, after := readOTLPRecords(t, out1), readOTLPRecords(t, out2)
	seen := map[string]map[string]bool{"grpc": {}, "http/protobuf": {}}
	beforeOutage := map[string]map[string]bool{"grpc": {}, "http/protobuf": {}}
	for _, r := range before {
		seen[r.protocol][r.id] = true
		beforeOutage[r.protocol][r.id] = true
	}
	onlyAfter := map[string]int{}
	for _, r := range after {
		if !seen[r.protocol][r.id] {
			onlyAfter[r.protocol]++
		}
		seen[r.protocol][r.id] = true
	}
	for proto, ids := range seen {
		missing := 0
		for id := range want {
			if !ids[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%s: %d of %d events lost across the outage", proto, missing, len(want))
		}
		// Both collectors took part: the first before the outage, the
		// second with events nobody had received before it.
		if len(beforeOutage[proto]) == 0 || onlyAfter[proto] == 0 {
			t.Errorf("%s: %d events reached the collector before the outage and %d new ones after it; want both > 0", proto, len(beforeOutage[proto]), onlyAfter[proto])
		}
	}
	t.Logf("%d events, %d records before the outage and %d after (duplicates from retried batches are allowed)", len(want), len(before), len(after))
}

// BenchmarkOTLPSink runs the whole pipeline (simulator -> auditrelay ->
// sink) once per iteration into the file sink, then into a real collector
// over gRPC and over HTTP, and reports events/s of each; the OTLP sink
// should not be the bottleneck (>= 0.8x the file sink's rate). Run:
//
//	go test -tags e2e -run '^$' -bench OTLPSink -benchtime 3x ./test/e2e/
func BenchmarkOTLPSink(b *testing.B) {
	const n = 30000
	_, base := openaisimtest.Start(b, openaisim.Options{Seed: 6, Events: n, Span: 96 * time.Hour, APIKey: "sk-admin-e2e-test"})
	col := startCollector(b, 0, 0, filepath.Join(b.TempDir(), "bench.jsonl"))
	grpcPort, httpPort := col.grpcPort, col.httpPort
	sinks := map[string]string{
		"file": "  - name: archive\n    type: file\n    path: audit.jsonl\n",
		// A collector on loopback is deployed like an agent: no compression.
		"otlp_grpc":      otlpSink("otel", "grpc", fmt.Sprintf("127.0.0.1:%d", grpcPort)) + "    compression: none\n",
		"otlp_http":      otlpSink("otel", "http/protobuf", fmt.Sprintf("http://127.0.0.1:%d", httpPort)) + "    compression: none\n",
		"otlp_grpc_gzip": otlpSink("otel", "grpc", fmt.Sprintf("127.0.0.1:%d", grpcPort)),
		"otlp_http_gzip": otlpSink("otel", "http/protobuf", fmt.Sprintf("http://127.0.0.1:%d", httpPort)),
	}
	rates := map[string]float64{}
	for _, name := range []string{"file", "otlp_grpc", "otlp_http", "otlp_grpc_gzip", "otlp_http_gzip"} {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				cfg := writeConfig(b, backfillConfig(base, sinks[name], fileCheckpoint))
				start := time.Now()
				_, stderr, exit := runAuditrelay(b, 3*time.Minute, "run", "-c", cfg, "--once")
				total += time.Since(start)
				if exit != 0 {
					b.Fatalf("exit %d:\n%s", exit, stderr)
				}
			}
			rates[name] = float64(b.N*n) / total.Seconds()
			b.ReportMetric(rates[name], "events/s")
			if f := rates["file"]; name != "file" && f > 0 {
				b.ReportMetric(rates[name]/f, "x_file_sink")
			}
		})
	}
}
