package splunkhec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/splunkhec/hectest"
)

const token = "00000000-1111-2222-3333-444444444444"

func events(n, size int) []pipeline.Event {
	evs := make([]pipeline.Event, n)
	pad := strings.Repeat("x", max(size-120, 0))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range evs {
		id := fmt.Sprintf("audit_log-%06d", i)
		evs[i] = pipeline.Event{ID: id, Type: "login.failed", Time: t0.Add(time.Duration(i) * 1500 * time.Millisecond), Source: "acme",
			Raw: fmt.Appendf(nil, `{"id":%q,"type":"login.failed","effective_at":%d,"login.failed":{"error_code":"x","pad":%q}}`, id, t0.Unix()+int64(i), pad)}
	}
	return evs
}

func newSink(t testing.TB, srv *hectest.Server, mod func(*Config)) *Sink {
	t.Helper()
	c := defaultConfig()
	c.Endpoint, c.Token, c.Host, c.Index = srv.URL(), token, "relay-1", "audit"
	c.Fields = map[string]string{"env": "test"}
	c.Ack.PollInterval = 10 * time.Millisecond
	c.Ack.Timeout = 300 * time.Millisecond
	if mod != nil {
		mod(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New(pipeline.Settings{Name: "splunk"}, c)
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

func receivedIDs(t *testing.T, got []hectest.Event) []string {
	var ids []string
	for _, e := range got {
		var o struct{ ID string }
		if err := json.Unmarshal(e.Event, &o); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	return ids
}

func TestDeliver(t *testing.T) {
	for _, tt := range []struct {
		name string
		ack  bool
		comp string
	}{{"gzip", false, "gzip"}, {"plain", false, "none"}, {"ack", true, "gzip"}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := hectest.New(hectest.Options{Token: token, Ack: tt.ack, AckAfterPolls: 2, Indexes: []string{"audit"}})
			defer srv.Close()
			s := newSink(t, srv, func(c *Config) { c.Ack.Enabled, c.Compression, c.MaxEvents = tt.ack, tt.comp, 40 })
			evs := events(100, 300)
			if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
				t.Fatal(err)
			}
			got := srv.Events()
			if len(got) != len(evs) {
				t.Fatalf("indexed %d events, want %d", len(got), len(evs))
			}
			if srv.Requests() != 3 {
				t.Errorf("requests = %d, want 3 (max_events 40)", srv.Requests())
			}
			for i, e := range got {
				if string(e.Event) != string(evs[i].Raw) {
					t.Fatalf("event %d is not the raw event:\n%s\n%s", i, e.Event, evs[i].Raw)
				}
				if want := float64(evs[i].Time.UnixMilli()) / 1000; e.Time != want {
					t.Errorf("time = %v, want %v", e.Time, want)
				}
				if e.Host != "relay-1" || e.Source != "auditrelay:acme" || e.Sourcetype != "openai:audit" || e.Index != "audit" ||
					e.Fields["env"] != "test" || e.Fields["auditrelay_source"] != "acme" {
					t.Fatalf("metadata = %+v", e)
				}
			}
		})
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault   hectest.Fault
		ack     bool
		want    string
		indexed int // events indexed after the one Consume
	}{
		{hectest.FaultBusy, false, "retry after 1s", 0},
		{hectest.FaultUnhealthy, false, "retry after 1s", 0},
		{hectest.FaultInternal, false, "retry", 0},
		{hectest.FaultReset, false, "retry", 0},
		{hectest.FaultBadToken, false, "permanent", 0},
		{hectest.FaultBadRequest, false, "rejected 1", 9},
		{hectest.FaultBadRequest, true, "rejected 1", 9},
		{hectest.FaultTooLarge, false, "ok", 10}, // split in halves and sent again
		{hectest.FaultAckLost, true, "retry", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/ack=%v", tt.fault, tt.ack), func(t *testing.T) {
			srv := hectest.New(hectest.Options{Token: token, Ack: tt.ack})
			defer srv.Close()
			srv.Inject(tt.fault)
			s := newSink(t, srv, func(c *Config) { c.Ack.Enabled = tt.ack })
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(10, 200)})
			if got := outcome(err); got != tt.want {
				t.Errorf("outcome = %q (%v), want %q", got, err, tt.want)
			}
			if n := len(srv.Events()); n != tt.indexed {
				t.Errorf("indexed %d, want %d", n, tt.indexed)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestContract(t *testing.T) {
	t.Run("wrong token is permanent", func(t *testing.T) {
		srv := hectest.New(hectest.Options{Token: "other"})
		defer srv.Close()
		s := newSink(t, srv, nil)
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(1, 100)})
		if outcome(err) != "permanent" || !strings.Contains(err.Error(), "token was refused") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unknown index is permanent", func(t *testing.T) {
		srv := hectest.New(hectest.Options{Token: token, Indexes: []string{"main"}})
		defer srv.Close()
		s := newSink(t, srv, nil)
		if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(1, 100)}); outcome(err) != "permanent" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("max_content_length splits requests", func(t *testing.T) {
		srv := hectest.New(hectest.Options{Token: token, MaxContentLength: 8 << 10})
		defer srv.Close()
		s := newSink(t, srv, func(c *Config) { c.Compression = "none" })
		evs := events(60, 1000)
		if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
			t.Fatal(err)
		}
		if got := receivedIDs(t, srv.Events()); len(got) != 60 || got[59] != evs[59].ID {
			t.Errorf("indexed %d events", len(got))
		}
		if srv.Statuses()[413] == 0 {
			t.Errorf("the server never said 413: the test did not exercise splitting")
		}
	})
	t.Run("event larger than max_content_length is rejected alone", func(t *testing.T) {
		srv := hectest.New(hectest.Options{Token: token, MaxContentLength: 4 << 10})
		defer srv.Close()
		s := newSink(t, srv, func(c *Config) { c.Compression = "none" })
		evs := append(events(3, 200), events(1, 8000)...)
		evs[3].ID = "big"
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})
		var rej *pipeline.RejectedError
		if !errors.As(err, &rej) || len(rej.Rejected) != 1 || rej.Rejected[0].Event.ID != "big" {
			t.Fatalf("got %v", err)
		}
		if n := len(srv.Events()); n != 3 {
			t.Errorf("indexed %d, want 3", n)
		}
	})
	t.Run("invalid JSON never reaches HEC", func(t *testing.T) {
		srv := hectest.New(hectest.Options{Token: token})
		defer srv.Close()
		s := newSink(t, srv, nil)
		evs := events(3, 100)
		evs[1].Raw = []byte(`{"id":"broken"`)
		if got := outcome(s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})); got != "rejected 1" {
			t.Errorf("outcome %s", got)
		}
		if n := len(srv.Events()); n != 2 {
			t.Errorf("indexed %d, want 2", n)
		}
	})
	t.Run("batch is not modified", func(t *testing.T) {
		srv := hectest.New(hectest.Options{Token: token})
		defer srv.Close()
		srv.Inject(hectest.FaultBadRequest)
		s := newSink(t, srv, func(c *Config) { c.Ack.Enabled = false })
		evs := events(5, 100)
		before := fmt.Sprint(evs)
		_ = s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})
		if fmt.Sprint(evs) != before {
			t.Errorf("Consume modified the batch")
		}
	})
}

// TestNothingLost drives the sink as the runner does (retrying retryable
// errors) through a stream of every retryable fault, from several
// goroutines, and checks that every event was indexed.
func TestNothingLost(t *testing.T) {
	for _, ack := range []bool{false, true} {
		t.Run(fmt.Sprint("ack=", ack), func(t *testing.T) {
			srv := hectest.New(hectest.Options{Token: token, Ack: ack})
			defer srv.Close()
			for range 5 {
				srv.Inject(hectest.FaultBusy, "", hectest.FaultReset, hectest.FaultInternal, "", hectest.FaultUnhealthy, hectest.FaultTooLarge)
			}
			s := newSink(t, srv, func(c *Config) { c.Ack.Enabled, c.MaxEvents = ack, 25 })
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
			for _, id := range receivedIDs(t, srv.Events()) {
				seen[id] = true
			}
			for _, ev := range evs {
				if !seen[ev.ID] {
					t.Fatalf("event %s lost", ev.ID)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"valid", func(c *Config) { c.Endpoint, c.Token = "https://splunk:8088", "t" }, nil},
		{"missing", func(c *Config) {}, []string{"endpoint:", "token:"}},
		{"wrong", func(c *Config) {
			c.Endpoint, c.Token, c.Compression, c.Timeout, c.MaxEvents, c.MaxBytes = "splunk:8088", "t", "lz4", 0, 0, 0
			c.Ack = AckConfig{Enabled: true, PollInterval: 0, Timeout: -1}
			c.TLS.MinVersion = "1.0"
		}, []string{"endpoint:", "compression:", "timeout:", "max_events:", "max_bytes:", "ack.poll_interval:", "ack.timeout:", "tls.min_version:"}},
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
			if err != nil && strings.Contains(fmt.Sprintf("%v %+v", err, c), "t\"") {
				t.Errorf("config print leaks the token")
			}
		})
	}
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type() != "splunk_hec" {
		t.Fatal(f.Type())
	}
	c := f.DefaultConfig().(*Config)
	c.Endpoint, c.Token = "http://127.0.0.1:1", "t"
	s, err := f.CreateSink(pipeline.Settings{Name: "s"}, c)
	if err != nil || s.(*Sink).cfg.Host == "" {
		t.Fatalf("sink %v, err %v: host not defaulted", s, err)
	}
}

func BenchmarkConsume(b *testing.B) {
	srv := hectest.New(hectest.Options{Token: token, MaxContentLength: 8 << 20})
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
