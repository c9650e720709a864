package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
		MaxRetries: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, Timeout: 5 * time.Second})
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
