// Package anthropicsimtest serves the simulator of package anthropicsim
// over real HTTP for a test, the way net/http/httptest does for a handler.
package anthropicsimtest

import (
	"net"
	"testing"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/internal/simkit/simkittest"
)

// Start builds a simulator with opts and serves it on a free loopback port
// (bound once, at port 0) until the test ends. It returns the simulator and
// its base URL, e.g. "http://127.0.0.1:41234", to which a client appends
// /v1/compliance/activities.
func Start(t testing.TB, opts anthropicsim.Options) (*anthropicsim.Server, string) {
	t.Helper()
	sim := anthropicsim.New(opts)
	serve := func(lns ...net.Listener) (string, error) { return sim.Serve(lns[0]) }
	return sim, simkittest.Serve(t, 1, serve, sim.Close)
}
