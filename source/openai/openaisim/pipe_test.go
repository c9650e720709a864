package openaisim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// pipeListener is a net.Listener whose connections are net.Pipe pairs. An
// http.Server and an http.Client talking through it stay inside a synctest
// bubble: no goroutine waits on a real socket, so the bubble's clock moves
// on as soon as the server waits out a latency, a rate limit or a client
// that gave up.
type pipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial is the client's http.Transport.DialContext.
func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "sim.invalid:80" }

// serveInBubble serves s over a pipeListener for the rest of the synctest
// bubble t runs in, and returns its base URL and the client that reaches
// it. Both are shut down when t ends, inside the bubble.
func serveInBubble(t *testing.T, s *Server) (string, *http.Client) {
	t.Helper()
	ln := newPipeListener()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DialContext: ln.dial, MaxIdleConnsPerHost: 16}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving over the pipe listener: %v", err)
		}
	})
	return "http://" + pipeAddr{}.String() + "/v1", client
}
