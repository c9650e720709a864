// Package openaisimtest starts the simulator of package openaisim over real
// HTTP for a test, the way net/http/httptest does for a handler.
package openaisimtest

import (
	"testing"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// Start builds a simulator with opts and serves it on a free loopback port
// (bound once, at port 0) until the test ends. It returns the simulator and
// its base URL, e.g. "http://127.0.0.1:41234/v1".
func Start(t testing.TB, opts openaisim.Options) (*openaisim.Server, string) {
	t.Helper()
	sim := openaisim.New(opts)
	base, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, base
}
