package splunkhec

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
	"github.com/auditrelay/auditrelay/sinks/splunkhec/hectest"
)

const token = "00000000-1111-2222-3333-444444444444"

// events returns n login.failed events of size bytes, 1.5s apart (HEC's
// times have milliseconds).
func events(n, size int) []pipeline.Event {
	evs := httpbatchtest.Events(n, size, "login.failed", 1500*time.Millisecond, `"error_code":"x"`)
	for i := range evs {
		evs[i].Schema = "openai.audit_log"
	}
	return evs
}

// start serves a fake HEC with opts, closed when the test ends, and
// returns it with a started sink that posts to it, its config changed by
// mod.
func start(t testing.TB, opts hectest.Options, mod func(*Config)) (*hectest.Server, *Sink) {
	t.Helper()
	srv := hectest.New(opts)
	t.Cleanup(srv.Close)
	c := defaultConfig()
	c.Endpoint, c.Token, c.Host, c.Index = srv.URL(), token, "relay-1", "audit"
	c.Fields = map[string]string{"env": "test"}
	c.Ack.PollInterval = 10 * time.Millisecond
	c.Ack.Timeout = 300 * time.Millisecond
	if mod != nil {
		mod(c)
	}
	return srv, httpbatchtest.StartSink(t, pipeline.Settings{Name: "splunk"}, c, New)
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
			srv, s := start(t, hectest.Options{Token: token, Ack: tt.ack, AckAfterPolls: 2, Indexes: []string{"audit"}},
				func(c *Config) { c.Ack.Enabled, c.Compression, c.MaxEvents = tt.ack, tt.comp, 40 })
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
					e.Fields["env"] != "test" || e.Fields["auditrelay_source"] != "acme" || e.Fields["auditrelay_vendor"] != "openai" {
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
			srv, s := start(t, hectest.Options{Token: token, Ack: tt.ack}, func(c *Config) { c.Ack.Enabled = tt.ack })
			srv.Inject(tt.fault)
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(10, 200)})
			httpbatchtest.WantOutcome(t, err, tt.want)
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
		_, s := start(t, hectest.Options{Token: "other"}, nil)
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(1, 100)})
		if httpbatchtest.Outcome(err) != "permanent" || !strings.Contains(err.Error(), "token was refused") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unknown index is permanent", func(t *testing.T) {
		_, s := start(t, hectest.Options{Token: token, Indexes: []string{"main"}}, nil)
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: events(1, 100)})
		httpbatchtest.WantOutcome(t, err, "permanent")
	})
	t.Run("max_content_length splits requests", func(t *testing.T) {
		srv, s := start(t, hectest.Options{Token: token, MaxContentLength: 8 << 10}, func(c *Config) { c.Compression = "none" })
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
		srv, s := start(t, hectest.Options{Token: token, MaxContentLength: 4 << 10}, func(c *Config) { c.Compression = "none" })
		evs := append(events(3, 200), events(1, 8000)...)
		evs[3].ID = "big"
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})
		httpbatchtest.WantRejected(t, err, "big")
		if n := len(srv.Events()); n != 3 {
			t.Errorf("indexed %d, want 3", n)
		}
	})
	t.Run("invalid JSON never reaches HEC", func(t *testing.T) {
		srv, s := start(t, hectest.Options{Token: token}, nil)
		evs := events(3, 100)
		evs[1].Raw = []byte(`{"id":"broken"`)
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})
		httpbatchtest.WantOutcome(t, err, "rejected 1")
		if n := len(srv.Events()); n != 2 {
			t.Errorf("indexed %d, want 2", n)
		}
	})
	t.Run("batch is not modified", func(t *testing.T) {
		srv, s := start(t, hectest.Options{Token: token}, func(c *Config) { c.Ack.Enabled = false })
		srv.Inject(hectest.FaultBadRequest)
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
			srv, s := start(t, hectest.Options{Token: token, Ack: ack}, func(c *Config) { c.Ack.Enabled, c.MaxEvents = ack, 25 })
			for range 5 {
				srv.Inject(hectest.FaultBusy, "", hectest.FaultReset, hectest.FaultInternal, "", hectest.FaultUnhealthy, hectest.FaultTooLarge)
			}
			evs := events(400, 300)
			httpbatchtest.DeliverAll(t, s, "acme", evs, 4)
			httpbatchtest.AllReceived(t, evs, srv.Events(), func(e hectest.Event) string { return string(e.Event) })
		})
	}
}

func TestConfigValidate(t *testing.T) {
	httpbatchtest.ValidateCases(t, defaultConfig, []httpbatchtest.ConfigCase[*Config]{
		{Name: "valid", Mod: func(c *Config) { c.Endpoint, c.Token = "https://splunk:8088", token }},
		{Name: "missing", Mod: func(c *Config) {}, Want: []string{"endpoint:", "token:"}},
		{Name: "wrong", Mod: func(c *Config) {
			c.Endpoint, c.Token, c.Compression, c.Timeout, c.MaxEvents, c.MaxBytes = "splunk:8088", token, "lz4", 0, 0, 0
			c.Ack = AckConfig{Enabled: true, PollInterval: 0, Timeout: -1}
			c.TLS.MinVersion = "1.0"
		}, Want: []string{"endpoint:", "compression:", "timeout:", "max_events:", "max_bytes:", "ack.poll_interval:", "ack.timeout:", "tls.min_version:"}},
		{Name: "raw endpoint", Mod: func(c *Config) { c.Endpoint, c.Token = "https://splunk:8088/services/collector/raw", token },
			Want: []string{"endpoint: the raw endpoint is not supported"}},
		{Name: "query", Mod: func(c *Config) { c.Endpoint, c.Token = "https://splunk:8088/?token=x", token },
			Want: []string{"endpoint: must have no query"}},
	}, token)
}

// A user may give the base URL or the event endpoint's full URL, as other
// HEC clients take it; both post to the same place.
func TestEndpointForms(t *testing.T) {
	for _, tt := range []struct{ endpoint, base string }{
		{"https://splunk:8088", "https://splunk:8088"},
		{"https://splunk:8088/", "https://splunk:8088"},
		{"https://splunk:8088/services/collector", "https://splunk:8088"},
		{"https://splunk:8088/services/collector/event", "https://splunk:8088"},
		{"https://splunk:8088/services/collector/event/1.0/", "https://splunk:8088"},
		{"https://proxy.example/splunk/services/collector/event", "https://proxy.example/splunk"},
		{"https://proxy.example/splunk", "https://proxy.example/splunk"},
	} {
		if got, err := baseURL(tt.endpoint); err != nil || got != tt.base {
			t.Errorf("baseURL(%q) = %q, %v; want %q", tt.endpoint, got, err, tt.base)
		}
	}
	for _, suffix := range []string{"", "/services/collector", "/services/collector/event"} {
		t.Run("suffix "+suffix, func(t *testing.T) {
			srv, s := start(t, hectest.Options{Token: token}, func(c *Config) { c.Endpoint += suffix })
			evs := events(3, 100)
			httpbatchtest.DeliverAll(t, s, "acme", evs, 1)
			httpbatchtest.AllReceived(t, evs, srv.Events(), func(e hectest.Event) string { return string(e.Event) })
		})
	}
}

// A wrong path answers 404: the error says where the sink posted, without
// what a URL may carry besides the place.
func TestNotFoundNamesTheURL(t *testing.T) {
	srv, s := start(t, hectest.Options{Token: token}, func(c *Config) {
		u, _ := url.Parse(c.Endpoint)
		c.Endpoint = "http://user:pw@" + u.Host + "/splunk"
	})
	err := httpbatchtest.Deliver(t.Context(), s, pipeline.Batch{Source: "acme", Events: events(1, 100)})
	want := "HTTP 404"
	if err == nil || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "POST http://"+strings.TrimPrefix(srv.URL(), "http://")+"/splunk/services/collector/event: check endpoint") {
		t.Fatalf("error %v: want the 404 and the URL posted to", err)
	}
	if strings.Contains(err.Error(), "pw") {
		t.Fatalf("error %v shows the URL's user info", err)
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
	_, s := start(b, hectest.Options{Token: token, MaxContentLength: 8 << 20}, nil)
	httpbatchtest.BenchConsume(b, s, pipeline.Batch{Source: "acme", Events: events(1000, 600)})
}
