package datadog

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/datadog/ddtest"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

const apiKey = "0123456789abcdef0123456789abcdef"

// events returns n user.deleted events of size bytes, a second apart,
// with characters that the message must escape.
func events(n, size int) []pipeline.Event {
	return httpbatchtest.Events(n, size, "user.deleted", time.Second, `"id":"u\"1\\\n"`)
}

// start serves a fake intake with opts, closed when the test ends, and
// returns it with a started sink that posts to it, its config changed by
// mod.
func start(t testing.TB, opts ddtest.Options, mod func(*Config)) (*ddtest.Server, *Sink) {
	t.Helper()
	srv := ddtest.New(opts)
	t.Cleanup(srv.Close)
	c := defaultConfig()
	c.Endpoint, c.APIKey, c.Hostname, c.Tags = srv.URL(), apiKey, "relay-1", []string{"env:test"}
	if mod != nil {
		mod(c)
	}
	return srv, httpbatchtest.StartSink(t, pipeline.Settings{Name: "dd"}, c, New)
}

func TestDeliver(t *testing.T) {
	for _, comp := range []string{"gzip", "none"} {
		t.Run(comp, func(t *testing.T) {
			srv, s := start(t, ddtest.Options{APIKey: apiKey}, func(c *Config) { c.Compression = comp })
			evs := events(2500, 400)
			if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
				t.Fatal(err)
			}
			logs := srv.Logs()
			if len(logs) != len(evs) {
				t.Fatalf("received %d, want %d", len(logs), len(evs))
			}
			if srv.Requests() != 3 {
				t.Errorf("requests = %d, want 3 (1000 entries each at most)", srv.Requests())
			}
			for i, l := range logs {
				if l.Message != string(evs[i].Raw) {
					t.Fatalf("message %d is not the raw event:\n%s\n%s", i, l.Message, evs[i].Raw)
				}
				// These events name no vendor (no schema).
				if l.Source != "auditrelay" || l.Service != "auditrelay" || l.Hostname != "relay-1" || l.Tags != "env:test,auditrelay_source:acme" ||
					l.Timestamp != evs[i].Time.UnixMilli() {
					t.Fatalf("entry %d = %+v", i, l)
				}
			}
		})
	}
}

// Without ddsource and service set, each entry names its event's vendor,
// so that Datadog's OpenAI pipeline does not parse another vendor's
// events; set ones apply to every entry.
func TestSourceAndServiceByVendor(t *testing.T) {
	evs := events(3, 100)
	evs[0].Schema, evs[1].Schema = "anthropic.compliance_activity", "openai.audit_log"
	for _, tc := range []struct {
		source, service string
		want            [][2]string
	}{
		{"", "", [][2]string{{"anthropic", "anthropic"}, {"openai", "openai"}, {"auditrelay", "auditrelay"}}},
		{"custom", "", [][2]string{{"custom", "anthropic"}, {"custom", "openai"}, {"custom", "auditrelay"}}},
	} {
		srv, s := start(t, ddtest.Options{APIKey: apiKey}, func(c *Config) { c.Source, c.Service = tc.source, tc.service })
		if err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
			t.Fatal(err)
		}
		for i, l := range srv.Logs() {
			if got := [2]string{l.Source, l.Service}; got != tc.want[i] {
				t.Errorf("ddsource %q, service %q: entry %d has %q, want %q", tc.source, tc.service, i, got, tc.want[i])
			}
		}
	}
}

func TestLimits(t *testing.T) {
	t.Run("requests stay under max_bytes", func(t *testing.T) {
		srv, s := start(t, ddtest.Options{APIKey: apiKey}, func(c *Config) { c.MaxBytes = 1_000_000 })
		evs := events(100, 50_000)
		if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Logs()); n != 100 {
			t.Fatalf("received %d", n)
		}
		if srv.Requests() < 5 {
			t.Errorf("requests = %d: the batch was not split by bytes", srv.Requests())
		}
	})
	t.Run("entry over 1 MB is dead-lettered, never truncated", func(t *testing.T) {
		srv, s := start(t, ddtest.Options{APIKey: apiKey}, nil)
		evs := append(events(2, 300), events(1, 1_100_000)...)
		evs[2].ID = "huge"
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})
		httpbatchtest.WantRejected(t, err, "huge")
		if len(srv.Logs()) != 2 || srv.Truncated() != 0 {
			t.Errorf("received %d, truncated %d", len(srv.Logs()), srv.Truncated())
		}
	})
	t.Run("server limit smaller than ours: 413 splits", func(t *testing.T) {
		srv, s := start(t, ddtest.Options{APIKey: apiKey, MaxPayload: 200_000}, nil)
		if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(300, 2000)}); err != nil {
			t.Fatal(err)
		}
		if len(srv.Logs()) != 300 || srv.Statuses()[413] == 0 {
			t.Errorf("received %d, 413s %d", len(srv.Logs()), srv.Statuses()[413])
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		_, s := start(t, ddtest.Options{APIKey: "other"}, nil)
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(1, 100)})
		if httpbatchtest.Outcome(err) != "permanent" || strings.Contains(err.Error(), apiKey) {
			t.Errorf("got %v", err)
		}
	})
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault ddtest.Fault
		want  string
		got   int
	}{
		{ddtest.Fault429, "retry after 1s", 0},
		{ddtest.Fault503, "retry after 1s", 0},
		{ddtest.Fault500, "retry", 0},
		{ddtest.Fault408, "retry", 0},
		{ddtest.FaultReset, "retry", 0},
		{ddtest.Fault400, "permanent", 0},
		{ddtest.Fault403, "permanent", 0},
		{ddtest.Fault413, "ok", 10}, // halved and sent again
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			srv, s := start(t, ddtest.Options{APIKey: apiKey}, nil)
			srv.Inject(tt.fault)
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(10, 200)})
			httpbatchtest.WantOutcome(t, err, tt.want)
			if n := len(srv.Logs()); n != tt.got {
				t.Errorf("received %d, want %d", n, tt.got)
			}
		})
	}
}

// TestRateLimitReset: a 429 or 5xx without Retry-After is retried after
// Datadog's X-RateLimit-Reset; Retry-After, when present, wins.
func TestRateLimitReset(t *testing.T) {
	for _, tt := range []struct {
		status     int
		retryAfter string
		want       string
	}{
		{http.StatusTooManyRequests, "", "retry after 7s"},
		{http.StatusServiceUnavailable, "", "retry after 7s"},
		{http.StatusTooManyRequests, "2", "retry after 2s"},
		{http.StatusBadRequest, "", "permanent"},
	} {
		t.Run(fmt.Sprint(tt.status, "/", tt.retryAfter), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-RateLimit-Reset", "7")
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			}))
			t.Cleanup(srv.Close)
			c := defaultConfig()
			c.Endpoint, c.APIKey = srv.URL, apiKey
			s := httpbatchtest.StartSink(t, pipeline.Settings{Name: "dd"}, c, New)
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(1, 100)})
			httpbatchtest.WantOutcome(t, err, tt.want)
		})
	}
}

// TestNothingLost drives the sink as the runner does (retrying retryable
// errors) through a stream of every retryable fault, from several
// goroutines, and checks that every event was received.
func TestNothingLost(t *testing.T) {
	srv, s := start(t, ddtest.Options{APIKey: apiKey}, func(c *Config) { c.MaxEvents = 30 })
	for range 5 {
		srv.Inject(ddtest.Fault429, "", ddtest.FaultReset, ddtest.Fault500, ddtest.Fault503, "", ddtest.Fault408, ddtest.Fault413)
	}
	evs := events(400, 300)
	httpbatchtest.DeliverAll(t, s, "acme", evs, 4)
	httpbatchtest.AllReceived(t, evs, srv.Logs(), func(l ddtest.Log) string { return l.Message })
}

func TestConfigValidate(t *testing.T) {
	httpbatchtest.ValidateCases(t, defaultConfig, []httpbatchtest.ConfigCase[*Config]{
		{Name: "valid", Mod: func(c *Config) { c.APIKey = "k" }},
		{Name: "missing key", Mod: func(c *Config) {}, Want: []string{"api_key:"}},
		{Name: "wrong", Mod: func(c *Config) {
			c.APIKey, c.Endpoint, c.Site, c.Service, c.Source = "k", "intake", "", "", ""
			c.Compression, c.Timeout, c.MaxEvents, c.MaxBytes = "br", 0, 1001, 6_000_000
			c.TLS.CertFile = "x.pem"
		}, Want: []string{"endpoint:", "compression:", "timeout:", "max_events:", "max_bytes:", "tls.cert_file:"}},
	})
	c := defaultConfig()
	c.Site = "datadoghq.eu"
	if got := c.baseURL(); got != "https://http-intake.logs.datadoghq.eu" {
		t.Errorf("site url %s", got)
	}
}

func BenchmarkConsume(b *testing.B) {
	_, s := start(b, ddtest.Options{APIKey: apiKey}, nil)
	httpbatchtest.BenchConsume(b, s, pipeline.Batch{Source: "acme", Events: events(1000, 600)})
}
