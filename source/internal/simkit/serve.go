package simkit

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Listener is a listener and the handler that answers on it.
type Listener struct {
	net.Listener
	Handler http.Handler
}

// Servers runs a simulator's HTTP servers in the background, one per
// listener, until Close. The zero value serves nothing yet; it is safe for
// concurrent use.
type Servers struct {
	mu   sync.Mutex
	srvs []*http.Server
}

// Start serves each of ls on its listener in the background; false, and
// nothing started, when it is already serving. The caller binds the
// listeners (a test at 127.0.0.1:0) and hands them over.
func (s *Servers) Start(ls ...Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srvs != nil {
		return false
	}
	for _, l := range ls {
		srv := &http.Server{Handler: l.Handler, ReadHeaderTimeout: 10 * time.Second}
		s.srvs = append(s.srvs, srv)
		go srv.Serve(l.Listener) //nolint:errcheck // Serve returns ErrServerClosed after Close
	}
	return true
}

// Serving reports whether Start has run since the last Close.
func (s *Servers) Serving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srvs != nil
}

// Close stops the servers and closes their listeners and connections; Start
// may run again after it. It is safe without Start and safe twice.
func (s *Servers) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, srv := range s.srvs {
		if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.srvs = nil
	return errors.Join(errs...)
}

// StatusClientGone is the status a simulator counts for a request whose
// client went away before it was answered (nginx's 499).
const StatusClientGone = 499

// StatusWriter tells a simulator's counters the status of an answer when
// the handler writes it: before the client can read the answer, so that a
// client that looks at the counters next finds its answer counted. Each
// request's status is noted once.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the status noted; 0 until one is.
	Status int
	count  func(status int)
}

// NewStatusWriter wraps w; count is called once, with the request's status.
func NewStatusWriter(w http.ResponseWriter, count func(status int)) *StatusWriter {
	return &StatusWriter{ResponseWriter: w, count: count}
}

// Note notes code unless a status is noted already.
func (w *StatusWriter) Note(code int) {
	if w.Status == 0 {
		w.Status = code
		w.count(code)
	}
}

// Done notes the status of a request whose handler wrote none:
// StatusClientGone when its client went away, else 200 (what net/http
// sends for a handler that writes nothing). A simulator defers it.
func (w *StatusWriter) Done(r *http.Request) {
	if r.Context().Err() != nil {
		w.Note(StatusClientGone)
	}
	w.Note(http.StatusOK)
}

func (w *StatusWriter) WriteHeader(code int) {
	w.Note(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(p []byte) (int, error) {
	w.Note(http.StatusOK)
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (to flush a
// truncated answer before dropping it).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteBody answers status with body, whole, of the given Content-Type.
func WriteBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away
}

// WriteGatewayPage answers status with the HTML page an nginx edge proxy
// sends for a gateway error, titled like "502 Bad Gateway": a client that
// expects the API's JSON error meets HTML.
func WriteGatewayPage(w http.ResponseWriter, status int, title string) {
	WriteBody(w, status, "text/html", []byte("<html>\r\n<head><title>"+title+"</title></head>\r\n<body>\r\n<center><h1>"+title+"</h1></center>\r\n</body>\r\n</html>\r\n"))
}
