package telemetry

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(t *testing.T) (*Telemetry, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tel := New(Options{Version: "v9.9.9", StuckAfter: 10 * time.Minute, SinkFailingAfter: time.Minute, Now: c.now})
	return tel, c
}

// value returns the value of the metric name whose labels include want.
func value(t *testing.T, tel *Telemetry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := tel.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			return metricValue(m), true
		}
	}
	return 0, false
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestMetrics(t *testing.T) {
	tel, c := newTest(t)
	tel.Begin([]string{"acme"}, []string{"archive"})
	tel.Running()
	tel.PageFetched("acme", 200, 20*time.Millisecond)
	tel.PageFetched("acme", 200, 20*time.Millisecond)
	tel.PageFetched("acme", 503, 5*time.Millisecond)
	tel.PageFetched("acme", 0, time.Millisecond)
	tel.Retried("acme", "5xx", 1500*time.Millisecond)
	tel.Retried("acme", "5xx", 500*time.Millisecond)
	tel.EventsFiltered("drop-reads", 3)
	tel.SinkBatch("archive", 10, 1000, 3*time.Millisecond, nil)
	tel.SinkBatch("archive", 5, 400, 3*time.Millisecond, errors.New("disk full"))
	tel.SinkBatch("archive", 5, 400, 3*time.Millisecond, nil)
	tel.DeadLettered("archive", 2)
	tel.InFlight(1)
	tel.InFlight(1)
	tel.InFlight(-1)
	tel.WindowCommitted("acme", 15, 2*time.Second, c.now().Add(-90*time.Second))
	c.add(10 * time.Second)

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"auditrelay_events_fetched_total", map[string]string{"source": "acme"}, 15},
		{"auditrelay_events_filtered_total", map[string]string{"transform": "drop-reads"}, 3},
		{"auditrelay_events_delivered_total", map[string]string{"sink": "archive"}, 15},
		{"auditrelay_events_dead_lettered_total", map[string]string{"sink": "archive"}, 2},
		{"auditrelay_pages_fetched_total", map[string]string{"source": "acme"}, 2},
		{"auditrelay_http_requests_total", map[string]string{"source": "acme", "status": "200"}, 2},
		{"auditrelay_http_requests_total", map[string]string{"source": "acme", "status": "503"}, 1},
		{"auditrelay_http_requests_total", map[string]string{"source": "acme", "status": "0"}, 1},
		{"auditrelay_http_request_duration_seconds", map[string]string{"source": "acme"}, 4},
		{"auditrelay_retries_total", map[string]string{"component": "acme", "reason": "5xx"}, 2},
		{"auditrelay_retry_wait_seconds_total", map[string]string{"component": "acme", "reason": "5xx"}, 2},
		{"auditrelay_windows_committed_total", map[string]string{"source": "acme"}, 1},
		{"auditrelay_window_duration_seconds", map[string]string{"source": "acme"}, 1},
		{"auditrelay_sink_batch_duration_seconds", map[string]string{"sink": "archive"}, 3},
		{"auditrelay_sink_batches_total", map[string]string{"sink": "archive", "outcome": "error"}, 1},
		{"auditrelay_sink_bytes_total", map[string]string{"sink": "archive"}, 1400},
		{"auditrelay_in_flight_batches", nil, 1},
		{"auditrelay_checkpoint_lag_seconds", map[string]string{"source": "acme"}, 100},
		{"auditrelay_build_info", map[string]string{"version": "v9.9.9"}, 1},
		{"auditrelay_source_healthy", map[string]string{"source": "acme"}, 1},
		{"auditrelay_sink_healthy", map[string]string{"sink": "archive"}, 1},
		{"auditrelay_ready", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(t, tel, tt.name, tt.labels)
			if !ok {
				t.Fatalf("%s%v not exported", tt.name, tt.labels)
			}
			if got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	// sinkFailing: the sink fails a batch with msg, and again d later.
	sinkFailing := func(d time.Duration, msg string) func(tel *Telemetry, c *clock) {
		return func(tel *Telemetry, c *clock) {
			tel.Running()
			tel.SinkBatch("archive", 1, 1, 0, errors.New(msg))
			c.add(d)
			tel.SinkBatch("archive", 1, 1, 0, errors.New(msg))
		}
	}
	tests := []struct {
		name      string
		steps     func(tel *Telemetry, c *clock)
		wantReady bool
		wantIn    string // a problem must contain this
	}{
		{"not running before Running", func(tel *Telemetry, c *clock) {}, false, "not running"},
		{"fresh pipeline is ready", func(tel *Telemetry, c *clock) { tel.Running() }, true, ""},
		{"source without commit past stuck_after", func(tel *Telemetry, c *clock) {
			tel.Running()
			c.add(11 * time.Minute)
		}, false, `source "acme" has not committed a window`},
		{"source committing regularly", func(tel *Telemetry, c *clock) {
			tel.Running()
			for range 5 {
				c.add(5 * time.Minute)
				tel.WindowCommitted("acme", 0, time.Second, c.now())
			}
		}, true, ""},
		{"failed source is unready at once", func(tel *Telemetry, c *clock) {
			tel.Running()
			tel.SourceFailed("acme", errors.New("the admin key was refused"), time.Second)
		}, false, "the admin key was refused"},
		{"failed source recovers on commit", func(tel *Telemetry, c *clock) {
			tel.Running()
			tel.SourceFailed("acme", errors.New("refused"), time.Second)
			tel.WindowCommitted("acme", 1, time.Second, c.now())
		}, true, ""},
		{"sink failing shorter than threshold", sinkFailing(30*time.Second, "down"), true, ""},
		{"sink failing past threshold", sinkFailing(61*time.Second, "connection refused"), false, `sink "archive" has failed every batch`},
		{"sink recovered", func(tel *Telemetry, c *clock) {
			tel.Running()
			tel.SinkBatch("archive", 1, 1, 0, errors.New("down"))
			c.add(5 * time.Minute)
			tel.SinkBatch("archive", 1, 1, 0, nil)
		}, true, ""},
		{"stopped", func(tel *Telemetry, c *clock) { tel.Running(); tel.Stopped() }, false, "not running"},
		{"reload forgets removed source", func(tel *Telemetry, c *clock) {
			tel.Running()
			tel.SourceFailed("acme", errors.New("refused"), time.Second)
			tel.Begin([]string{"globex"}, []string{"archive"})
			tel.Running()
		}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel, c := newTest(t)
			tel.Begin([]string{"acme"}, []string{"archive"})
			tt.steps(tel, c)
			st := tel.Health()
			if st.Ready != tt.wantReady {
				t.Fatalf("Ready = %v, want %v (problems %q)", st.Ready, tt.wantReady, st.Problems)
			}
			if tt.wantIn != "" && !strings.Contains(strings.Join(st.Problems, "\n"), tt.wantIn) {
				t.Errorf("problems %q do not mention %q", st.Problems, tt.wantIn)
			}
			if tt.wantReady && len(st.Problems) != 0 {
				t.Errorf("ready with problems %q", st.Problems)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	tel, _ := newTest(t)
	tel.Begin([]string{"acme"}, []string{"archive"})
	srv := httptest.NewServer(tel.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, path string
		before     func()
		wantCode   int
		wantBody   string
	}{
		{"healthz while not ready", "/healthz", nil, 200, "ok"},
		{"readyz before start", "/readyz", nil, 503, "not running"},
		{"readyz running", "/readyz", tel.Running, 200, `"ready": true`},
		{"metrics", "/metrics", func() { tel.WindowCommitted("acme", 7, time.Second, time.Now()) }, 200, `auditrelay_events_fetched_total{source="acme"} 7`},
		{"readyz failed source", "/readyz", func() { tel.SourceFailed("acme", errors.New("key refused"), time.Second) }, 503, "key refused"},
		{"post refused", "/unknown", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			code, body := get(tt.path)
			if code != tt.wantCode {
				t.Fatalf("GET %s = %d, want %d: %s", tt.path, code, tt.wantCode, body)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s body does not contain %q:\n%s", tt.path, tt.wantBody, body)
			}
			if tt.path == "/readyz" {
				var st Status
				if err := json.Unmarshal([]byte(body), &st); err != nil {
					t.Errorf("readyz body is not a Status: %v", err)
				}
			}
		})
	}
}

// BenchmarkSinkBatch measures the cost the hooks add to the hot path.
func BenchmarkSinkBatch(b *testing.B) {
	tel := New(Options{})
	tel.Begin([]string{"acme"}, []string{"archive"})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tel.InFlight(1)
			tel.SinkBatch("archive", 100, 50000, time.Millisecond, nil)
			tel.InFlight(-1)
		}
	})
}

// TestDegradedTransform: a degraded transform shows in the /readyz body
// and its gauge, without making the process unready, until it recovers.
func TestDegradedTransform(t *testing.T) {
	tel := New(Options{})
	tel.Begin([]string{"acme"}, []string{"out"})
	tel.Running()
	tel.TransformDegraded("enrich", errors.New("directory load failed: 403"))
	st := tel.Health()
	if !st.Ready || !strings.Contains(st.Degraded["enrich"], "403") {
		t.Fatalf("health %+v; want ready with enrich degraded", st)
	}
	gauge := func() float64 {
		v, _ := value(t, tel, "auditrelay_transform_degraded", map[string]string{"transform": "enrich"})
		return v
	}
	if v := gauge(); v != 1 {
		t.Fatalf("transform_degraded = %v, want 1", v)
	}
	tel.TransformDegraded("enrich", nil)
	if st := tel.Health(); len(st.Degraded) != 0 || gauge() != 0 {
		t.Fatalf("after recovery: %+v", st)
	}
}
