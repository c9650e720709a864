package telemetry

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/auditrelay/auditrelay/pipeline"
)

// receiver collects what OTLP pushes delivered, with their headers.
type receiver struct {
	pmetricotlp.UnimplementedGRPCServer
	mu      sync.Mutex
	got     []pmetric.Metrics
	headers []map[string]string
}

func (r *receiver) add(m pmetric.Metrics, h map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
	r.headers = append(r.headers, h)
}

func (r *receiver) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	h := map[string]string{}
	for k, v := range md {
		h[k] = v[0]
	}
	r.add(req.Metrics(), h)
	return pmetricotlp.NewExportResponse(), nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || req.URL.Path != metricsPath {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	er := pmetricotlp.NewExportRequest()
	if err := er.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h := map[string]string{}
	for k := range req.Header {
		h[http.CanonicalHeaderKey(k)] = req.Header.Get(k)
	}
	r.add(er.Metrics(), h)
	b, _ := pmetricotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// sum returns the value of the sum metric name at the data point whose
// attribute key is value, from the last push.
func (r *receiver) sum(name, key, value string) (int64, pmetric.ResourceMetrics, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return 0, pmetric.ResourceMetrics{}, false
	}
	last := r.got[len(r.got)-1]
	for i := range last.ResourceMetrics().Len() {
		rm := last.ResourceMetrics().At(i)
		for j := range rm.ScopeMetrics().Len() {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				if m.Name() != name || m.Type() != pmetric.MetricTypeSum {
					continue
				}
				dps := m.Sum().DataPoints()
				for d := range dps.Len() {
					if v, ok := dps.At(d).Attributes().Get(key); ok && v.Str() == value {
						return dps.At(d).IntValue(), rm, true
					}
				}
			}
		}
	}
	return 0, pmetric.ResourceMetrics{}, false
}

// poisonEnv sets the OpenTelemetry SDK's variables to values that would
// send the push elsewhere, or change what it carries, were they read.
func poisonEnv(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://bogus.invalid:1")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://bogus.invalid:1")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-from-env=leak")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "from.env=leak")
	t.Setenv("OTEL_SERVICE_NAME", "not-auditrelay")
	// A valid certificate: read, it would turn a plain-text push into TLS.
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	cert := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(cert, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", cert)
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", cert)
}

func TestTelemetryOTLPPush(t *testing.T) {
	for _, protocol := range []string{"http", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			poisonEnv(t)
			rcv := &receiver{}
			var endpoint string
			switch protocol {
			case "http":
				srv := httptest.NewServer(rcv)
				defer srv.Close()
				endpoint = srv.URL
			case "grpc":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				s := grpc.NewServer()
				pmetricotlp.RegisterGRPCServer(s, rcv)
				go func() { _ = s.Serve(ln) }()
				defer s.Stop()
				endpoint = "http://" + ln.Addr().String()
			}
			tel, err := Open(Options{Version: "v9.9.9", OTLP: &OTLP{
				Endpoint: endpoint,
				Protocol: protocol,
				Headers:  map[string]pipeline.Secret{"Authorization": "Bearer tok"},
				// Pushes come from ForceFlush only: the periodic one is
				// never due during the test.
				Interval: time.Hour,
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tel.Shutdown(context.Background()) }()
			tel.SinkBatch("archive", 5, 500, time.Millisecond, nil)
			tel.SinkBatch("archive", 2, 200, time.Millisecond, nil)
			if err := tel.provider.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			n, rm, ok := rcv.sum("auditrelay_events_delivered_total", "sink", "archive")
			if !ok || n != 7 {
				t.Fatalf("pushed auditrelay_events_delivered_total{sink=archive} = %d (found %v), want 7", n, ok)
			}
			// The totals are cumulative whatever the environment prefers.
			tel.SinkBatch("archive", 1, 100, time.Millisecond, nil)
			if err := tel.provider.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n, _, _ := rcv.sum("auditrelay_events_delivered_total", "sink", "archive"); n != 8 {
				t.Errorf("second push has %d delivered events, want the cumulative 8", n)
			}
			attrs := rm.Resource().Attributes()
			if v, _ := attrs.Get("service.name"); v.Str() != "auditrelay" {
				t.Errorf("service.name = %q, want auditrelay", v.Str())
			}
			if _, ok := attrs.Get("from.env"); ok {
				t.Error("the resource took OTEL_RESOURCE_ATTRIBUTES")
			}
			rcv.mu.Lock()
			h := rcv.headers[0]
			rcv.mu.Unlock()
			auth, leak := h["Authorization"], h["X-From-Env"]
			if protocol == "grpc" {
				auth, leak = h["authorization"], h["x-from-env"]
			}
			if auth != "Bearer tok" {
				t.Errorf("Authorization header = %q, want the configured one", auth)
			}
			if leak != "" {
				t.Error("the push sent OTEL_EXPORTER_OTLP_HEADERS")
			}
		})
	}
}

// TestTelemetryOTLPStalledReceiver: a receiver that never answers must
// not hold up the pipeline's measurements, and its failed push is
// counted and logged without the header's secret.
func TestTelemetryOTLPStalledReceiver(t *testing.T) {
	poisonEnv(t)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	var logs bytes.Buffer
	tel, err := Open(Options{OTLP: &OTLP{
		Endpoint: srv.URL,
		Protocol: "http",
		Headers:  map[string]pipeline.Secret{"Authorization": "Bearer s3cr3t"},
		Interval: time.Hour,
		Log:      slog.New(slog.NewTextHandler(&logs, nil)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		_ = tel.provider.ForceFlush(context.Background())
	}()
	<-entered // a push is in flight and will not be answered

	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for range 1000 {
			tel.SinkBatch("archive", 1, 10, time.Millisecond, nil)
			tel.WindowCommitted("acme", 1, time.Millisecond, time.Now())
		}
	}()
	// A guard, not a wait: the measurements finish at once, unless they
	// wait on the push, which lasts until release.
	guard := time.NewTimer(30 * time.Second)
	defer guard.Stop()
	select {
	case <-delivered:
	case <-guard.C:
		t.Fatal("measurements waited on the stalled OTLP push")
	}
	if v, _ := value(t, tel, "auditrelay_events_delivered_total", map[string]string{"sink": "archive"}); v != 1000 {
		t.Errorf("delivered = %v, want 1000", v)
	}

	close(release) // the receiver fails the push
	<-flushed
	if v, ok := value(t, tel, "auditrelay_telemetry_export_failures_total", nil); !ok || v != 1 {
		t.Errorf("auditrelay_telemetry_export_failures_total = %v (found %v), want 1", v, ok)
	}
	if !bytes.Contains(logs.Bytes(), []byte("pushing metrics over OTLP failed")) {
		t.Errorf("the failed push was not logged: %s", logs.String())
	}
	if bytes.Contains(logs.Bytes(), []byte("s3cr3t")) {
		t.Errorf("the log shows the header's secret: %s", logs.String())
	}
	sctx, scancel := context.WithCancel(context.Background())
	scancel() // shutting down must not wait on the receiver either
	_ = tel.Shutdown(sctx)
}

func TestTelemetryOTLPOptionsRefused(t *testing.T) {
	for _, o := range []OTLP{
		{Endpoint: "collector:4317", Protocol: "grpc", Interval: time.Minute},
		{Endpoint: "ftp://collector", Protocol: "grpc", Interval: time.Minute},
		{Endpoint: "http://collector:4318", Protocol: "http/json", Interval: time.Minute},
		{Endpoint: "http://collector:4318", Protocol: "http"},
	} {
		if _, err := Open(Options{OTLP: &o}); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

// TestTelemetryOTLPRedirectNotFollowed: a receiver answering 3xx gets a
// failed push, not the headers sent to where it points.
func TestTelemetryOTLPRedirectNotFollowed(t *testing.T) {
	poisonEnv(t)
	var mu sync.Mutex
	var leaked bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = leaked || r.Header.Get("Authorization") != ""
		mu.Unlock()
	}))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+metricsPath, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	tel, err := Open(Options{OTLP: &OTLP{
		Endpoint: srv.URL, Protocol: "http", Interval: time.Hour,
		Headers: map[string]pipeline.Secret{"Authorization": "Bearer s3cr3t"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	tel.SinkBatch("archive", 1, 10, time.Millisecond, nil)
	_ = tel.provider.ForceFlush(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if leaked {
		t.Error("the push followed the redirect with its headers")
	}
	if n := tel.exportFailures.Load(); n != 1 {
		t.Errorf("%d failed pushes, want 1", n)
	}
}
