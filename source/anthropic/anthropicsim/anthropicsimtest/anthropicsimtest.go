// Package anthropicsimtest serves the simulator of package anthropicsim
// over real HTTP for a test, the way net/http/httptest does for a handler.
package anthropicsimtest

import (
	"net"
	"testing"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// Start builds a simulator with opts and serves it on a free loopback port
// (bound once, at port 0) until the test ends. It returns the simulator and
// its base URL, e.g. "http://127.0.0.1:41234", to which a client appends
// /v1/compliance/activities.
func Start(t testing.TB, opts anthropicsim.Options) (*anthropicsim.Server, string) {
	t.Helper()
	sim := anthropicsim.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base, err := sim.Serve(ln)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, base
}
