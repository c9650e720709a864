package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// TestRunPushesTelemetryOverOTLP: with telemetry.otlp set, a run pushes
// its metrics to the receiver (the last push at exit), to the configured
// endpoint even with OTEL_* variables saying otherwise.
func TestRunPushesTelemetryOverOTLP(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://bogus.invalid:1")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://bogus.invalid:1")
	var mu sync.Mutex
	delivered := int64(-1)
	var auth string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rms := req.Metrics().ResourceMetrics()
		mu.Lock()
		defer mu.Unlock()
		auth = r.Header.Get("Authorization")
		for i := range rms.Len() {
			sms := rms.At(i).ScopeMetrics()
			for j := range sms.Len() {
				ms := sms.At(j).Metrics()
				for k := range ms.Len() {
					m := ms.At(k)
					if m.Name() == "auditrelay_events_delivered_total" && m.Type() == pmetric.MetricTypeSum {
						delivered = m.Sum().DataPoints().At(0).IntValue()
					}
				}
			}
		}
		b, _ := pmetricotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	defer rcv.Close()

	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 45, Events: 300, Span: 24 * time.Hour})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", crashConfig(base, 1000)+`telemetry:
  otlp:
    endpoint: `+rcv.URL+`
    protocol: http
    interval: 1h
    headers:
      Authorization: ${env:OTLP_TOKEN}
`)
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Environ: []string{"OPENAI_ADMIN_KEY=sk-admin-otlp", "OTLP_TOKEN=Bearer otlp-tok"}}
	if code := m.Run(context.Background(), []string{"run", "-c", cfg, "--once"}); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	want := int64(len(readIDs(t, filepath.Join(dir, "out", "audit.jsonl"))))
	if want == 0 || want != int64(len(sim.VisibleIDs(time.Now()))) {
		t.Fatalf("%d events written", want)
	}
	mu.Lock()
	defer mu.Unlock()
	if delivered != want {
		t.Errorf("pushed auditrelay_events_delivered_total = %d, want %d", delivered, want)
	}
	if auth != "Bearer otlp-tok" {
		t.Errorf("Authorization = %q, want the configured header", auth)
	}
	if strings.Contains(errb.String(), "otlp-tok") {
		t.Error("the header's secret is in the logs")
	}
}
