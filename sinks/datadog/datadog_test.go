package datadog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/datadog/ddtest"
)

const apiKey = "0123456789abcdef0123456789abcdef"

func events(n, size int) []pipeline.Event {
	evs := make([]pipeline.Event, n)
	pad := strings.Repeat("x", max(size-130, 0))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range evs {
		id := fmt.Sprintf("audit_log-%06d", i)
		evs[i] = pipeline.Event{ID: id, Type: "user.deleted", Time: t0.Add(time.Duration(i) * time.Second), Source: "acme",
			Raw: fmt.Appendf(nil, `{"id":%q,"type":"user.deleted","effective_at":%d,"user.deleted":{"id":"u\"1\\\n","pad":%q}}`, id, t0.Unix()+int64(i), pad)}
	}
	return evs
}

func newSink(t testing.TB, srv *ddtest.Server, mod func(*Config)) *Sink {
	t.Helper()
	c := defaultConfig()
	c.Endpoint, c.APIKey, c.Hostname, c.Tags = srv.URL(), apiKey, "relay-1", []string{"env:test"}
	if mod != nil {
		mod(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New(pipeline.Settings{Name: "dd"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func outcome(err error) string {
	var rej *pipeline.RejectedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &rej):
		return fmt.Sprintf("rejected %d", len(rej.Rejected))
	case pipeline.IsPermanent(err):
		return "permanent"
	}
	if d, ok := pipeline.RetryDelay(err); ok {
		return "retry after " + d.String()
	}
	return "retry"
}

func TestDeliver(t *testing.T) {
	for _, comp := range []string{"gzip", "none"} {
		t.Run(comp, func(t *testing.T) {
			srv := ddtest.New(ddtest.Options{APIKey: apiKey})
			defer srv.Close()
			s := newSink(t, srv, func(c *Config) { c.Compression = comp })
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
				if l.Source != "openai" || l.Service != "openai" || l.Hostname != "relay-1" || l.Tags != "env:test,auditrelay_source:acme" ||
					l.Timestamp != evs[i].Time.UnixMilli() {
					t.Fatalf("entry %d = %+v", i, l)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Run("requests stay under max_bytes", func(t *testing.T) {
		srv := ddtest.New(ddtest.Options{APIKey: apiKey})
		defer srv.Close()
		s := newSink(t, srv, func(c *Config) { c.MaxBytes = 1_000_000 })
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
		srv := ddtest.New(ddtest.Options{APIKey: apiKey})
		defer srv.Close()
		s := newSink(t, srv, nil)
		evs := append(events(2, 300), events(1, 1_100_000)...)
		evs[2].ID = "huge"
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})
		var rej *pipeline.RejectedError
		if !errors.As(err, &rej) || len(rej.Rejected) != 1 || rej.Rejected[0].Event.ID != "huge" {
			t.Fatalf("got %v", err)
		}
		if len(srv.Logs()) != 2 || srv.Truncated() != 0 {
			t.Errorf("received %d, truncated %d", len(srv.Logs()), srv.Truncated())
		}
	})
	t.Run("server limit smaller than ours: 413 splits", func(t *testing.T) {
		srv := ddtest.New(ddtest.Options{APIKey: apiKey, MaxPayload: 200_000})
		defer srv.Close()
		s := newSink(t, srv, nil)
		if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(300, 2000)}); err != nil {
			t.Fatal(err)
		}
		if len(srv.Logs()) != 300 || srv.Statuses()[413] == 0 {
			t.Errorf("received %d, 413s %d", len(srv.Logs()), srv.Statuses()[413])
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		srv := ddtest.New(ddtest.Options{APIKey: "other"})
		defer srv.Close()
		s := newSink(t, srv, nil)
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(1, 100)})
		if outcome(err) != "permanent" || strings.Contains(err.Error(), apiKey) {
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
			srv := ddtest.New(ddtest.Options{APIKey: apiKey})
			defer srv.Close()
			srv.Inject(tt.fault)
			s := newSink(t, srv, nil)
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(10, 200)})
			if got := outcome(err); got != tt.want {
				t.Errorf("outcome %q (%v), want %q", got, err, tt.want)
			}
			if n := len(srv.Logs()); n != tt.got {
				t.Errorf("received %d, want %d", n, tt.got)
			}
		})
	}
}

func TestNothingLost(t *testing.T) {
	srv := ddtest.New(ddtest.Options{APIKey: apiKey})
	defer srv.Close()
	for range 5 {
		srv.Inject(ddtest.Fault429, "", ddtest.FaultReset, ddtest.Fault500, ddtest.Fault503, "", ddtest.Fault408, ddtest.Fault413)
	}
	s := newSink(t, srv, func(c *Config) { c.MaxEvents = 30 })
	evs := events(400, 300)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			b := pipeline.Batch{Source: "acme", Events: evs[w*100 : (w+1)*100]}
			for attempt := 0; ; attempt++ {
				err := s.Consume(context.Background(), b)
				if err == nil {
					return
				}
				if pipeline.IsPermanent(err) || attempt > 50 {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range srv.Logs() {
		seen[l.Message] = true
	}
	for _, ev := range evs {
		if !seen[string(ev.Raw)] {
			t.Fatalf("event %s lost", ev.ID)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"valid", func(c *Config) { c.APIKey = "k" }, nil},
		{"missing key", func(c *Config) {}, []string{"api_key:"}},
		{"wrong", func(c *Config) {
			c.APIKey, c.Endpoint, c.Site, c.Service, c.Source = "k", "intake", "", "", ""
			c.Compression, c.Timeout, c.MaxEvents, c.MaxBytes = "br", 0, 1001, 6_000_000
			c.TLS.CertFile = "x.pem"
		}, []string{"endpoint:", "service:", "ddsource:", "compression:", "timeout:", "max_events:", "max_bytes:", "tls.cert_file:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			tt.mod(c)
			err := c.Validate()
			if len(tt.want) == 0 && err != nil {
				t.Fatal(err)
			}
			if len(tt.want) > 0 && err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %q", err, w)
				}
			}
		})
	}
	c := defaultConfig()
	c.Site = "datadoghq.eu"
	if got := c.baseURL(); got != "https://http-intake.logs.datadoghq.eu" {
		t.Errorf("site url %s", got)
	}
}

func BenchmarkConsume(b *testing.B) {
	srv := ddtest.New(ddtest.Options{APIKey: apiKey})
	defer srv.Close()
	s := newSink(b, srv, nil)
	batch := pipeline.Batch{Source: "acme", Events: events(1000, 600)}
	b.SetBytes(int64(batch.Bytes()))
	for b.Loop() {
		if err := s.Consume(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Events))/b.Elapsed().Seconds(), "events/s")
}
