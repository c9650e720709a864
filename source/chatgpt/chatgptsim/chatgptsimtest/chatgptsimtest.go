// Package chatgptsimtest serves the simulator of package chatgptsim over
// real HTTP for a test, the way net/http/httptest does for a handler.
package chatgptsimtest

import (
	"net"
	"testing"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// Start builds a simulator with opts and serves its API and its download
// host on two free loopback ports (each bound once, at port 0) until the
// test ends. It returns the simulator and the API's base URL, e.g.
// "http://127.0.0.1:41234/v1/compliance".
func Start(t testing.TB, opts chatgptsim.Options) (*chatgptsim.Server, string) {
	t.Helper()
	sim := chatgptsim.New(opts)
	var lns [2]net.Listener
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			if i > 0 {
				lns[0].Close()
			}
			t.Fatal(err)
		}
		lns[i] = ln
	}
	base, err := sim.Serve(lns[0], lns[1])
	if err != nil {
		lns[0].Close()
		lns[1].Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, base
}
