package openaisim

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/pipenet"
)

// serveInBubble serves s over a pipenet.Listener for the rest of the synctest
// bubble t runs in, and returns its base URL and the client that reaches
// it. Both are shut down when t ends, inside the bubble.
func serveInBubble(t *testing.T, s *Server) (string, *http.Client) {
	t.Helper()
	ln := pipenet.Listen("sim.invalid:80")
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DialContext: ln.Dial, MaxIdleConnsPerHost: 16}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving over the pipe listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/v1", client
}
