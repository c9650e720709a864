package httpbatch

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

// destination keeps the body and headers of every request as received,
// and answers with answer (200 when it is nil).
type destination struct {
	mu      sync.Mutex
	bodies  []string
	headers []http.Header
	answer  func(w http.ResponseWriter, body string)
}

func (d *destination) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	d.bodies = append(d.bodies, string(data))
	d.headers = append(d.headers, r.Header.Clone())
	answer := d.answer
	d.mu.Unlock()
	if answer != nil {
		answer(w, string(data))
	}
}

func (d *destination) sent() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.bodies...)
}

// start serves d and returns a started Sender that posts to it, framing
// items as a JSON array.
func start(t *testing.T, d http.Handler, mod func(*Sender)) *Sender {
	t.Helper()
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	s := &Sender{URL: srv.URL + "/intake", Timeout: 5 * time.Second, Open: "[", Sep: ",", Close: "]"}
	if mod != nil {
		mod(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	return s
}

func items(data ...string) []Item {
	out := make([]Item, len(data))
	for i, d := range data {
		out[i] = Item{Event: &pipeline.Event{ID: d}, Data: []byte(d)}
	}
	return out
}

func TestSendCuts(t *testing.T) {
	for _, tt := range []struct {
		name                string
		maxEvents, maxBytes int
		data                []string
		want                []string
	}{
		{"no bound", 0, 0, []string{"1", "2", "3"}, []string{"[1,2,3]"}},
		{"by count", 2, 0, []string{"1", "2", "3", "4", "5"}, []string{"[1,2]", "[3,4]", "[5]"}},
		// "[aa,bb]" is 7 bytes, the bound: the next item would pass it.
		{"by bytes", 0, 7, []string{"aa", "bb", "cc"}, []string{"[aa,bb]", "[cc]"}},
		{"by count then bytes", 2, 7, []string{"a", "b", "ccc", "ddd", "e"}, []string{"[a,b]", "[ccc]", "[ddd,e]"}},
		{"event over the bound goes alone", 0, 7, []string{"aa", "over-the-bound", "bb"}, []string{"[aa]", "[over-the-bound]", "[bb]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &destination{}
			s := start(t, d, func(s *Sender) { s.MaxEvents, s.MaxBytes = tt.maxEvents, tt.maxBytes })
			taken, rejected, err := s.Send(context.Background(), items(tt.data...))
			if err != nil || len(rejected) != 0 {
				t.Fatalf("err %v, rejected %v", err, rejected)
			}
			if got := d.sent(); !slices.Equal(got, tt.want) {
				t.Errorf("bodies %q, want %q", got, tt.want)
			}
			if len(taken) != len(tt.want) {
				t.Errorf("%d answers taken, want %d", len(taken), len(tt.want))
			}
		})
	}
}

func TestSendHalvesOn413(t *testing.T) {
	// The destination refuses more than three events, and "big" always.
	d := &destination{answer: func(w http.ResponseWriter, body string) {
		if strings.Contains(body, "big") || strings.Count(body, ",") > 2 {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		}
	}}
	s := start(t, d, nil)
	_, rejected, err := s.Send(context.Background(), items("0", "1", "2", "3", "4", "big", "6", "7", "8"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 1 || rejected[0].Event.ID != "big" || !strings.Contains(rejected[0].Reason, "413") ||
		!strings.Contains(rejected[0].Reason, "payload too large") {
		t.Fatalf("rejected %+v, want big alone with the reason", rejected)
	}
	var taken []string
	for _, b := range d.sent() {
		if !strings.Contains(b, "big") && strings.Count(b, ",") <= 2 {
			taken = append(taken, b)
		}
	}
	// Halved to 4, then 2, then 1 for the request with big; later requests
	// stay at 1.
	want := []string{"[0,1]", "[2,3]", "[4]", "[6]", "[7]", "[8]"}
	if !slices.Equal(taken, want) {
		t.Errorf("taken %q, want %q (all sent %q)", taken, want, d.sent())
	}
}

func TestSendRefusedEvent(t *testing.T) {
	for _, tt := range []struct {
		name  string
		taken bool
		want  []string
	}{
		{"the events before it were taken", true, []string{"[a,b,c]", "[c]"}},
		{"the events before it are sent again", false, []string{"[a,b,c]", "[a,c]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &destination{}
			d.answer = func(w http.ResponseWriter, _ string) {
				if len(d.sent()) == 1 {
					http.Error(w, `{"invalid":1}`, http.StatusBadRequest)
				}
			}
			s := start(t, d, func(s *Sender) {
				s.Check = func(r *Response, err error) error {
					if r.Status == http.StatusBadRequest {
						return pipeline.Permanent(&RefusedError{Index: 1, Reason: "malformed", Taken: tt.taken})
					}
					return err
				}
			})
			_, rejected, err := s.Send(context.Background(), items("a", "b", "c"))
			if err != nil || len(rejected) != 1 || rejected[0].Event.ID != "b" || rejected[0].Reason != "malformed" {
				t.Fatalf("err %v, rejected %+v", err, rejected)
			}
			if got := d.sent(); !slices.Equal(got, tt.want) {
				t.Errorf("bodies %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tt := range []struct {
		status     int
		header     map[string]string
		body, want string
	}{
		{200, nil, "", "ok"},
		{202, nil, "{}", "ok"},
		{204, nil, "", "ok"},
		{400, nil, "field x is wrong", "permanent"},
		{401, nil, "", "permanent"},
		{404, nil, long, "permanent"},
		{413, nil, "", "permanent"}, // alone, Post has nothing to halve
		{408, nil, "", "retry"},
		{500, nil, "", "retry"},
		{502, map[string]string{"Retry-After": "soon"}, "", "retry"},
		{429, map[string]string{"Retry-After": "7"}, "", "retry after 7s"},
		{503, map[string]string{"Retry-After": "0.5"}, "", "retry after 500ms"},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			s := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}), nil)
			r, err := s.Post(context.Background(), []byte("[]"))
			if got := httpbatchtest.Outcome(err); got != tt.want {
				t.Fatalf("%v: %s, want %s", err, got, tt.want)
			}
			if r == nil || r.Status != tt.status {
				t.Fatalf("response %+v", r)
			}
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d", tt.status)) || !strings.Contains(err.Error(), tt.body[:min(len(tt.body), 100)]) {
				t.Errorf("%q does not name the status and the body", err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("the error holds the whole body: %d bytes", len(err.Error()))
			}
		})
	}
}

// TestRetryAfterDate runs in a bubble, whose clock stands still while the
// request is in flight (goroutines in network I/O are not durably
// blocked), so that the delay of an HTTP date is exact.
func TestRetryAfterDate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}), nil)
		_, err := s.Post(t.Context(), []byte("[]"))
		if got := httpbatchtest.Outcome(err); got != "retry after 1m30s" {
			t.Fatalf("%v: %s", err, got)
		}
	})
}

func TestRedirectRefused(t *testing.T) {
	elsewhere := &destination{}
	other := httptest.NewServer(elsewhere)
	defer other.Close()
	s := start(t, http.RedirectHandler(other.URL+"/steal", http.StatusTemporaryRedirect), func(s *Sender) {
		s.Header = http.Header{"Dd-Api-Key": {"secret-key"}}
	})
	_, err := s.Post(context.Background(), []byte("[]"))
	if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("got %v, want a permanent error naming the redirect", err)
	}
	if n := len(elsewhere.sent()); n != 0 {
		t.Fatalf("the redirect was followed: %d requests elsewhere", n)
	}
}

func TestGzipAndHeaders(t *testing.T) {
	d := &destination{}
	var signed []byte
	s := start(t, d, func(s *Sender) {
		s.Gzip = true
		s.Header = http.Header{"Authorization": {"Splunk t"}}
		s.Sign = func(h http.Header, body []byte) {
			signed = body
			h.Set("X-Signature", fmt.Sprint(len(body)))
		}
	})
	data := strings.Repeat(`{"event":"user.deleted"},`, 200)
	if _, _, err := s.Send(context.Background(), items(data, data)); err != nil {
		t.Fatal(err)
	}
	want := "[" + data + "," + data + "]"
	got := d.sent()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	zr, err := gzip.NewReader(strings.NewReader(got[0]))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := io.ReadAll(zr); err != nil || string(plain) != want {
		t.Fatalf("decompressed %d bytes (%v), want the %d bytes sent", len(plain), err, len(want))
	}
	d.mu.Lock()
	h := d.headers[0]
	d.mu.Unlock()
	if h.Get("Content-Encoding") != "gzip" || h.Get("Content-Type") != "application/json" ||
		h.Get("User-Agent") != "auditrelay" || h.Get("Authorization") != "Splunk t" {
		t.Errorf("headers %v", h)
	}
	// The signature is of the bytes on the wire, compressed.
	if h.Get("X-Signature") != fmt.Sprint(len(signed)) || len(signed) != len(got[0]) {
		t.Errorf("signed %d bytes, header %s, body %d bytes", len(signed), h.Get("X-Signature"), len(want))
	}
}

func TestTransportFailures(t *testing.T) {
	t.Run("retryable, without the URL", func(t *testing.T) {
		reset := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = c.Close()
			}
		})
		s := start(t, reset, func(s *Sender) { s.URL += "/hook/s3cret-token" })
		_, err := s.Post(context.Background(), []byte("[]"))
		if httpbatchtest.Outcome(err) != "retry" || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ctx done", func(t *testing.T) {
		s := start(t, &destination{}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := s.Send(ctx, items("a")); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("not started", func(t *testing.T) {
		s := &Sender{URL: "http://127.0.0.1:1"}
		if _, err := s.Post(context.Background(), nil); !pipeline.IsPermanent(err) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	httpbatchtest.NamesKeys(t, errors.Join(ConfigErrors("gzip", &tlsconfig.Config{}, time.Second)...), nil)
	httpbatchtest.NamesKeys(t, errors.Join(ConfigErrors("lz4", &tlsconfig.Config{MinVersion: "1.0"}, 0)...), []string{"compression:", "tls.min_version:", "timeout:"})
	for raw, ok := range map[string]bool{"https://h:8088": true, "http://h/x": true, "h:8088": false, "ftp://h": false, "https://": false} {
		if err := URLError("url", raw); (err == nil) != ok {
			t.Errorf("URLError(%q) = %v", raw, err)
		}
	}
	if err := URLError("url", "hooks.example/s3cret"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error quotes the URL: %v", err)
	}
}
