// Package simkittest is the test support the simulators share: serving a
// simulator on loopback ports for the length of a test, and reading an
// answer whole. Each simulator's own *simtest package builds on it.
package simkittest

import (
	"io"
	"net"
	"net/http"
	"testing"
)

// Serve binds n free loopback ports (each once, at port 0), hands their
// listeners to serve, and calls stop when the test ends. It returns what
// serve returns, the simulator's base URL. It fails the test at once, the
// listeners closed, when a port cannot be bound or serve refuses them.
func Serve(t testing.TB, n int, serve func(lns ...net.Listener) (string, error), stop func() error) string {
	t.Helper()
	lns := make([]net.Listener, 0, n)
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeAll()
			t.Fatal(err)
		}
		lns = append(lns, ln)
	}
	base, err := serve(lns...)
	if err != nil {
		closeAll()
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	return base
}

// Do sends req with c and reads the answer whole: its status, headers and
// body. It fails the test at once when either fails.
func Do(t testing.TB, c *http.Client, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, resp.Header, b
}
