package httpapi

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// TestRedirectNotFollowed: a redirect, even to another port of the same
// host (where Go would forward the Authorization header), is not followed;
// the error says where it pointed and what to do.
func TestRedirectNotFollowed(t *testing.T) {
	var stolen atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			stolen.Add(1)
		}
		w.Write([]byte(`{}`))
	}))
	defer other.Close()
	api := httptest.NewServer(http.RedirectHandler(other.URL+"/v1/list", http.StatusTemporaryRedirect))
	defer api.Close()
	c := NewClient(Config{BaseURL: api.URL, Header: http.Header{"Authorization": {"Bearer sk-admin-canary"}},
		Retry: Retry{MaxRetries: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, Timeout: 5 * time.Second}})
	err := c.Get(t.Context(), "/list", nil, func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), other.URL) {
		t.Fatalf("err = %v; want the 307 and where it pointed", err)
	}
	if strings.Contains(err.Error(), "canary") {
		t.Fatalf("the key is in the error: %v", err)
	}
	if n := stolen.Load(); n != 0 {
		t.Fatalf("the key reached the redirect's target %d times", n)
	}
}

// TestStream: a body is handed over unread, a failed read is asked again
// and a permanent one is not, a redirect is handed over without being
// followed, and no error shows a URL's query (a signature).
func TestStream(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			hits.Add(1)
			w.Write([]byte("line 1\nline 2\n"))
		case "/moved":
			http.Redirect(w, r, "https://downloads.example/f?sig=s3cr3t", http.StatusTemporaryRedirect)
		case "/cut":
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("half"))
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	c := NewClient(Config{Retry: Retry{MaxRetries: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, Timeout: 5 * time.Second}})

	reads := 0
	err := c.Stream(t.Context(), srv.URL+"/file?sig=s3cr3t", func(resp *http.Response) error {
		reads++
		b, _ := io.ReadAll(resp.Body)
		if reads < 2 {
			return errors.New("digest mismatch")
		}
		if string(b) != "line 1\nline 2\n" {
			t.Errorf("body %q", b)
		}
		return nil
	})
	if err != nil || reads != 2 || hits.Load() != 2 {
		t.Fatalf("err %v after %d reads, %d requests; want a retried read", err, reads, hits.Load())
	}

	reads = 0
	err = c.Stream(t.Context(), srv.URL+"/file", func(*http.Response) error { reads++; return pipeline.Permanent(errors.New("no")) })
	if err == nil || !pipeline.IsPermanent(err) || reads != 1 {
		t.Fatalf("err %v after %d reads; want one read and a permanent error", err, reads)
	}

	var loc string
	err = c.Stream(t.Context(), srv.URL+"/moved", func(resp *http.Response) error { loc = resp.Header.Get("Location"); return nil })
	if err != nil || loc != "https://downloads.example/f?sig=s3cr3t" {
		t.Fatalf("err %v, location %q", err, loc)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // a transport error names the URL
	for _, u := range []string{srv.URL + "/cut?sig=s3cr3t", srv.URL + "/denied?sig=s3cr3t", dead.URL + "/f?sig=s3cr3t"} {
		err = c.Stream(t.Context(), u, func(resp *http.Response) error { _, err := io.ReadAll(resp.Body); return err })
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "timeout") {
			t.Fatalf("%s: err = %v; want an error without the signature (and no timeout, which none was)", u, err)
		}
	}
}

// TestUserAgent: every request names auditrelay, or the agent its caller
// gives (the CLI adds its version).
func TestUserAgent(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.UserAgent()
	}))
	defer srv.Close()
	for _, tc := range []struct{ set, want string }{{"", "auditrelay"}, {"auditrelay/v1.2.3", "auditrelay/v1.2.3"}} {
		c := NewClient(Config{UserAgent: tc.set, Retry: Retry{Timeout: 5 * time.Second}})
		if err := c.Stream(t.Context(), srv.URL+"/f", func(*http.Response) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if ua := <-got; ua != tc.want {
			t.Errorf("UserAgent %q: sent %q, want %q", tc.set, ua, tc.want)
		}
	}
}
