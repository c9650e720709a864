package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

const secret = "whsec-test-secret"

// receiver verifies every signature and fails the requests fail says to.
type receiver struct {
	mu       sync.Mutex
	ids      map[string]int
	requests int
	bodies   []string
	fail     func(n int) int // status for request n (1-based); 0 = 200
	badSig   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err := Verify([]byte(secret), req.Header.Get(SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		r.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if st := r.fail(r.requests); st != 0 {
		if st == 429 || st == 503 {
			w.Header().Set("Retry-After", "0")
		}
		http.Error(w, "try later", st)
		return
	}
	r.bodies = append(r.bodies, string(body))
	var env struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &env); err == nil {
		for _, e := range env.Events {
			r.ids[e.ID]++
		}
	}
}

func events(n int) pipeline.Batch {
	b := pipeline.Batch{Source: "acme"}
	types := []string{"organization.user.deleted", "chat.completions.create", "login.failed", "organization.user.created"}
	for i := range n {
		id := fmt.Sprintf("log_%03d", i)
		typ := types[i%len(types)]
		b.Events = append(b.Events, pipeline.Event{ID: id, Type: typ, Time: time.Unix(1700000000+int64(i), 0), Source: "acme",
			ActorID: fmt.Sprintf("user_%d", i%3), ActorEmail: fmt.Sprintf("u%d@example.com", i%3), ProjectID: fmt.Sprintf("proj_%d", i%2),
			Raw: []byte(`{"id":"` + id + `","event":"` + typ + `","note":"a\nb"}`)})
	}
	return b
}

func newSink(t *testing.T, url string, mut func(*Config)) *Sink {
	t.Helper()
	c := defaultConfig()
	c.URL, c.Secret, c.MaxEvents = url, secret, 7
	if mut != nil {
		mut(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New(pipeline.Settings{Name: "alerts"}, *c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFailingReceiverRetriedWithoutLoss(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      func(int) int
		permanent bool
		max       int
	}{
		{"healthy", func(int) int { return 0 }, false, 7},
		{"two of three requests 503 or 429", func(n int) int { return map[int]int{0: 503, 1: 0, 2: 429}[n%3] }, false, 100},
		{"first five fail, several requests per batch", func(n int) int { return map[bool]int{true: 500}[n <= 5] }, false, 7},
		{"400 is permanent", func(int) int { return 400 }, true, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &receiver{ids: map[string]int{}, fail: tc.fail}
			srv := httptest.NewServer(r)
			defer srv.Close()
			s := newSink(t, srv.URL, func(c *Config) {
				c.Filter.EventTypes, c.MaxEvents = []string{"organization.user.*", "login.failed"}, tc.max
			})
			b := events(60)
			err := httpbatchtest.Deliver(context.Background(), s, b)
			if tc.permanent {
				if !pipeline.IsPermanent(err) {
					t.Fatalf("err %v, want permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.badSig != 0 {
				t.Fatalf("%d requests with a bad signature", r.badSig)
			}
			want := 0
			for _, ev := range b.Events {
				if ev.Type == "chat.completions.create" {
					if r.ids[ev.ID] != 0 {
						t.Fatalf("%s does not match the filter but was sent", ev.ID)
					}
					continue
				}
				want++
				if r.ids[ev.ID] == 0 {
					t.Fatalf("%s lost", ev.ID)
				}
			}
			if len(r.ids) != want {
				t.Fatalf("received %d distinct events, want %d", len(r.ids), want)
			}
			if !strings.Contains(r.bodies[0], `"note":"a\nb"`) {
				t.Fatalf("raw event re-encoded: %s", r.bodies[0])
			}
		})
	}
}

func TestSignatureRejectsTampering(t *testing.T) {
	now := time.Now()
	body := []byte(`{"events":[]}`)
	h := Sign([]byte(secret), now, body)
	for _, tc := range []struct {
		name   string
		secret string
		header string
		body   string
		at     time.Time
		ok     bool
	}{
		{"valid", secret, h, string(body), now, true},
		{"body changed", secret, h, `{"events":[1]}`, now, false},
		{"wrong secret", "other", h, string(body), now, false},
		{"replayed later", secret, h, string(body), now.Add(time.Hour), false},
		{"malformed", secret, "v1=abc", string(body), now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify([]byte(tc.secret), tc.header, []byte(tc.body), tc.at, 5*time.Minute)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestFilterSlackAndEmptyBatch(t *testing.T) {
	r := &receiver{ids: map[string]int{}, fail: func(int) int { return 0 }}
	srv := httptest.NewServer(r)
	defer srv.Close()
	for _, tc := range []struct {
		name     string
		filter   FilterConfig
		requests int
	}{
		{"actor email", FilterConfig{Actors: []string{"u1@example.com"}}, 1},
		{"project and type", FilterConfig{ProjectIDs: []string{"proj_0"}, EventTypes: []string{"organization.user.deleted"}}, 1},
		{"nothing matches: delivered without a request", FilterConfig{EventTypes: []string{"tenant.*"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.requests
			s := newSink(t, srv.URL, func(c *Config) { c.Format, c.Filter, c.MaxEvents = "slack", tc.filter, 100 })
			if err := s.Consume(context.Background(), events(12)); err != nil {
				t.Fatal(err)
			}
			if got := r.requests - before; got != tc.requests {
				t.Fatalf("%d requests, want %d", got, tc.requests)
			}
			if tc.requests > 0 {
				var msg struct{ Text string }
				if err := json.Unmarshal([]byte(r.bodies[len(r.bodies)-1]), &msg); err != nil || !strings.HasPrefix(msg.Text, "auditrelay:") {
					t.Fatalf("slack body %q: %v", r.bodies[len(r.bodies)-1], err)
				}
			}
		})
	}
	s := newSink(t, srv.URL, nil)
	if err := s.Consume(context.Background(), pipeline.Batch{}); err != nil {
		t.Fatal("empty batch:", err)
	}
}

func TestConfigValidateNamesKeys(t *testing.T) {
	c := defaultConfig()
	c.Format, c.Timeout = "teams", 0
	c.Filter.EventTypes = []string{"[bad"}
	c.TLS.CAFile = "/nonexistent/ca.pem"
	httpbatchtest.NamesKeys(t, c.Validate(), []string{"url:", "format:", "timeout:", "filter.event_types[0]:", "tls.ca_file:"})
	c = defaultConfig()
	c.URL, c.Secret = "https://hooks.example.com/x", "s3cret"
	c.Headers = map[string]pipeline.Secret{"Authorization": "Bearer tok"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", c, c), "s3cret") || strings.Contains(fmt.Sprintf("%+v", c), "Bearer tok") {
		t.Fatal("secret printed")
	}
}
