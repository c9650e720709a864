package pipenet

import (
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// TestServeInABubble: a server behind the listener answers a client in a
// synctest bubble, a second's wait takes no real time, and each of two
// hosts reaches its own server.
func TestServeInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Listen("a.invalid:80"), Listen("b.invalid:80")
		for _, l := range []*Listener{a, b} {
			name := l.Addr().String()
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(time.Second)
				io.WriteString(w, name) //nolint:errcheck // the test reads it
			})}
			go srv.Serve(l) //nolint:errcheck // ErrServerClosed at the end
			t.Cleanup(func() { srv.Close() })
		}
		c := &http.Client{Transport: &http.Transport{DialContext: Dialer(a, b)}}
		t.Cleanup(c.CloseIdleConnections)
		for _, host := range []string{"b.invalid:80", "a.invalid:80", "other.invalid:80"} {
			start := time.Now()
			resp, err := c.Get("http://" + host + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := host
			if host == "other.invalid:80" {
				want = "a.invalid:80"
			}
			if string(body) != want || time.Since(start) != time.Second {
				t.Errorf("%s: answered by %s after %s", host, body, time.Since(start))
			}
		}
		if a.Addr().Network() != "pipe" {
			t.Errorf("network %q", a.Addr().Network())
		}
	})
}
