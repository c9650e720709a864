// Package pipenet is a net.Listener whose connections are net.Pipe pairs,
// for the simulators' tests. An http.Server and an http.Client talking
// through it stay inside a synctest bubble: no goroutine waits on a real
// socket, so the bubble's clock moves on as soon as every goroutine waits
// (a latency, a slow fault, a rate limit, a client that gave up), and a
// test's time is exact and costs nothing.
package pipenet

import (
	"context"
	"net"
	"sync"
)

// Listener hands the server the far ends of the pipes Dial makes.
type Listener struct {
	addr      string
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

// Listen returns a listener that answers as addr ("host:port"), the host a
// client's URLs name.
func Listen(addr string) *Listener {
	return &Listener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *Listener) Addr() net.Addr { return addr(l.addr) }

// Dial connects to l whatever the address: an http.Transport's
// DialContext for a client of one host.
func (l *Listener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
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

// Dialer is the DialContext of a client of several hosts: it connects to
// the listener whose address is the one dialled, the first one for any
// other.
func Dialer(ls ...*Listener) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		for _, l := range ls {
			if l.addr == address {
				return l.Dial(ctx, network, address)
			}
		}
		return ls[0].Dial(ctx, network, address)
	}
}

type addr string

func (addr) Network() string  { return "pipe" }
func (a addr) String() string { return string(a) }
