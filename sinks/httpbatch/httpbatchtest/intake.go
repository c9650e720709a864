package httpbatchtest

import (
	"compress/gzip"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Intake is the part of a fake intake that does not depend on the vendor:
// a loopback server, a queue of injected faults of type F, each applied to
// one coming request, and the count of those requests and of the statuses
// they were answered. A fake embeds it, serves its routes with Serve, and
// wraps the handlers of the requests that count with Counted. Its methods
// are safe for concurrent use.
type Intake[F ~string] struct {
	srv *httptest.Server

	mu       sync.Mutex
	faults   []F
	requests int
	codes    map[int]int // HTTP status -> count
}

// Serve starts serving h on a loopback port.
func (in *Intake[F]) Serve(h http.Handler) { in.srv = httptest.NewServer(h) }

// URL is the server's base URL (http://127.0.0.1:PORT).
func (in *Intake[F]) URL() string { return in.srv.URL }

// Close stops the server.
func (in *Intake[F]) Close() { in.srv.Close() }

// Inject queues faults; each is applied to one coming request, in order
// (the zero F to none).
func (in *Intake[F]) Inject(f ...F) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.faults = append(in.faults, f...)
}

// Requests returns the number of requests received (of the handlers
// wrapped by Counted).
func (in *Intake[F]) Requests() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.requests
}

// Statuses returns how many requests got each HTTP status (of the handlers
// wrapped by Counted; a connection closed without a reply counts for none).
func (in *Intake[F]) Statuses() map[int]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return maps.Clone(in.codes)
}

// Counted returns a handler that counts each request, and the status of
// its answer as it is written, and has h answer it with the next injected
// fault (the zero F when none is left).
func (in *Intake[F]) Counted(h func(w http.ResponseWriter, r *http.Request, fault F)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.requests++
		var fault F
		if len(in.faults) > 0 {
			fault, in.faults = in.faults[0], in.faults[1:]
		}
		in.mu.Unlock()
		h(&counter{ResponseWriter: w, count: in.count}, r, fault)
	}
}

func (in *Intake[F]) count(status int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.codes == nil {
		in.codes = map[int]int{}
	}
	in.codes[status]++
}

// counter counts the status of an answer before it goes out, so that a
// client that got the answer finds it in Statuses.
type counter struct {
	http.ResponseWriter
	count func(status int)
	wrote bool
}

func (c *counter) WriteHeader(status int) {
	if !c.wrote {
		c.wrote = true
		c.count(status)
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *counter) Write(p []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController (Reset) reach the connection.
func (c *counter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Reset closes the connection of the request w answers, without a reply,
// and reports whether it could.
func Reset(w http.ResponseWriter) bool {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// ReadBody reads the body of r, gunzipped when its Content-Encoding is
// gzip, up to limit bytes; tooLarge reports a longer body.
func ReadBody(r *http.Request, limit int) (data []byte, tooLarge bool, err error) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, false, err
		}
		body = zr
	}
	data, err = io.ReadAll(io.LimitReader(body, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	return data, len(data) > limit, nil
}
