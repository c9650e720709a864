//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// TestTelemetryToCollector runs a back-fill with auditrelay's own
// telemetry (traces and metrics over OTLP/gRPC) pointed at a real
// collector, and checks what the collector wrote: exactly one window span
// per committed window (the trace ids of the log's "window committed"
// lines), every page request a child of a window span, and the pushed
// delivered-events counter equal to what the sink holds.
func TestTelemetryToCollector(t *testing.T) {
	const n = 3000
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 7, Events: n, Span: 48 * time.Hour, APIKey: "sk-admin-e2e-test"})
	dir := t.TempDir()
	tracesOut, metricsOut := filepath.Join(dir, "traces.jsonl"), filepath.Join(dir, "metrics.jsonl")
	col := startCollectorWith(t, "collector-telemetry-e2e.yaml", 0, 0, "OTELCOL_TRACES_OUT="+tracesOut, "OTELCOL_METRICS_OUT="+metricsOut)
	archive := filepath.Join(dir, "archive.jsonl")
	cfg := writeConfig(t, backfillConfig(base, fmt.Sprintf("  - name: archive\n    type: file\n    path: %s\n", archive), fileCheckpoint)+
		fmt.Sprintf(`
telemetry:
  otlp:
    endpoint: http://127.0.0.1:%d
    protocol: grpc
    interval: 1s
  traces:
    enabled: true
`, col.grpcPort))
	_, stderr, exit := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once", "--log-format", "json")
	if exit != 0 {
		t.Fatalf("auditrelay exited %d:\n%s", exit, stderr)
	}
	// The last push and the spans still queued went at exit; stopping the
	// collector flushes its files.
	col.stop(t)

	// The windows the log says were committed, by trace id.
	committed := map[string]int{}
	windows := 0
	for line := range strings.Lines(stderr) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "window committed" {
			continue
		}
		windows++
		id, _ := m["trace_id"].(string)
		if id == "" {
			t.Fatalf("a window committed line without trace_id: %s", line)
		}
		committed[id]++
	}
	if windows < 2 {
		t.Fatalf("only %d windows committed: the back-fill should take several", windows)
	}

	type spanInfo struct{ name, trace, id, parent string }
	var spans []spanInfo
	for _, line := range jsonLines(t, tracesOut) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			t.Fatalf("collector traces: %v", err)
		}
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			if v, _ := rss.At(i).Resource().Attributes().Get("service.name"); v.Str() != "auditrelay" {
				t.Errorf("resource service.name = %q", v.Str())
			}
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				ss := sss.At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					s := ss.At(k)
					spans = append(spans, spanInfo{s.Name(), s.TraceID().String(), s.SpanID().String(), s.ParentSpanID().String()})
				}
			}
		}
	}
	windowSpans := map[string]spanInfo{} // by span id
	perTrace := map[string]int{}
	for _, s := range spans {
		if s.name == "window" {
			windowSpans[s.id] = s
			perTrace[s.trace]++
		}
	}
	if len(windowSpans) != windows {
		t.Errorf("the collector holds %d window spans, the log %d committed windows", len(windowSpans), windows)
	}
	for id, c := range committed {
		if c != 1 || perTrace[id] != 1 {
			t.Errorf("trace %s: %d committed windows in the log, %d window spans", id, c, perTrace[id])
		}
	}
	pagesUnder := map[string]int{}
	pages := 0
	for _, s := range spans {
		if s.name != "GET" {
			continue
		}
		pages++
		w, ok := windowSpans[s.parent]
		if !ok || w.trace != s.trace {
			t.Errorf("page span %s is not a child of a window span (parent %q)", s.id, s.parent)
			continue
		}
		pagesUnder[s.parent]++
	}
	for id := range windowSpans {
		if pagesUnder[id] == 0 {
			t.Errorf("window span %s has no page span under it", id)
		}
	}
	if pages == 0 {
		t.Fatal("no page spans")
	}

	// The last (cumulative) value pushed of the delivered-events counter.
	delivered := -1.0
	for _, line := range jsonLines(t, metricsOut) {
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line)
		if err != nil {
			t.Fatalf("collector metrics: %v", err)
		}
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			sms := rms.At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					m := ms.At(k)
					if m.Name() != "auditrelay_events_delivered_total" {
						continue
					}
					dps := m.Sum().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						if v, _ := dps.At(d).Attributes().Get("sink"); v.Str() == "archive" {
							delivered = float64(dps.At(d).IntValue())
						}
					}
				}
			}
		}
	}
	held := len(jsonLines(t, archive))
	want := len(visibleEvents(t, sim, n))
	if held != want {
		t.Errorf("the sink holds %d events, the simulator shows %d", held, want)
	}
	if delivered != float64(held) {
		t.Errorf("auditrelay_events_delivered_total{sink=archive} pushed last = %v, the sink holds %d", delivered, held)
	}
	t.Logf("%d windows, %d spans (%d page requests), %d events delivered", windows, len(spans), pages, held)
}

// jsonLines returns the complete non-empty lines of the file at path.
func jsonLines(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
	}
	return out
}
