// Package chatgptsimtest serves the simulator of package chatgptsim over
// real HTTP for a test, the way net/http/httptest does for a handler.
package chatgptsimtest

import (
	"net"
	"testing"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/internal/simkit/simkittest"
)

// Start builds a simulator with opts and serves its API and its download
// host on two free loopback ports (each bound once, at port 0) until the
// test ends. It returns the simulator and the API's base URL, e.g.
// "http://127.0.0.1:41234/v1/compliance".
func Start(t testing.TB, opts chatgptsim.Options) (*chatgptsim.Server, string) {
	t.Helper()
	sim := chatgptsim.New(opts)
	serve := func(lns ...net.Listener) (string, error) { return sim.Serve(lns[0], lns[1]) }
	return sim, simkittest.Serve(t, 2, serve, sim.Close)
}
