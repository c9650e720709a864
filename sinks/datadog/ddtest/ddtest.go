// Package ddtest is an in-process Datadog logs intake (HTTP API v2) for
// tests and benchmarks. It enforces the documented contract instead of
// accepting anything: POST /api/v2/logs, the DD-API-KEY header (403),
// Content-Type application/json, gzip bodies, a JSON array of log objects
// (or one object), at most MaxEntries entries (400) and MaxPayload bytes
// uncompressed (413) per request, and it truncates an entry larger than
// MaxEntry as Datadog does (counted by Truncated, so a test can prove a
// sink never lets that happen). It answers 202 with "{}". Faults can be
// injected per request.
//
// It is not a Datadog search API: it keeps the entries in memory.
package ddtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Limits of the Datadog logs intake.
const (
	MaxPayload = 5 << 20 // bytes per request, uncompressed
	MaxEntries = 1000    // entries per request
	MaxEntry   = 1 << 20 // bytes per entry; larger ones are truncated
)

// Options configure a Server.
type Options struct {
	// APIKey is the one accepted DD-API-KEY (required).
	APIKey string
	// MaxPayload, MaxEntries and MaxEntry default to Datadog's limits.
	MaxPayload, MaxEntries, MaxEntry int
}

// Fault is one kind of injected failure.
type Fault string

// The faults a Server can inject. Each affects one request.
const (
	Fault429   Fault = "429"   // rate limited, Retry-After: 1
	Fault500   Fault = "500"   // internal error
	Fault503   Fault = "503"   // unavailable
	Fault408   Fault = "408"   // request timeout
	Fault400   Fault = "400"   // bad request
	Fault403   Fault = "403"   // forbidden
	Fault413   Fault = "413"   // payload too large
	FaultReset Fault = "reset" // connection closed without a reply
)

// Log is one entry the server accepted.
type Log struct {
	Source   string `json:"ddsource"`
	Tags     string `json:"ddtags"`
	Hostname string `json:"hostname"`
	Service  string `json:"service"`
	Message  string `json:"message"`
	// Timestamp is in milliseconds since the epoch (0: absent).
	Timestamp int64 `json:"timestamp"`
}

// Server is a running intake. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu        sync.Mutex
	faults    []Fault
	logs      []Log
	requests  int
	truncated int
	codes     map[int]int
}

// New starts a server on a loopback port.
func New(opts Options) *Server {
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = MaxPayload
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = MaxEntries
	}
	if opts.MaxEntry <= 0 {
		opts.MaxEntry = MaxEntry
	}
	s := &Server{opts: opts, codes: map[int]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v2/logs", s.handle)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the server's base URL (http://127.0.0.1:PORT).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Inject queues faults; each is applied to one coming request, in order.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Logs returns the entries accepted so far.
func (s *Server) Logs() []Log {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Log(nil), s.logs...)
}

// Requests returns the number of requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Truncated returns how many entries were over MaxEntry and truncated.
func (s *Server) Truncated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.truncated
}

// Statuses returns how many requests got each HTTP status.
func (s *Server) Statuses() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int, len(s.codes))
	for k, v := range s.codes {
		out[k] = v
	}
	return out
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	s.mu.Lock()
	s.codes[status]++
	s.mu.Unlock()
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"status": http.StatusText(status), "detail": msg}}})
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	switch fault {
	case FaultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
	case Fault429:
		s.fail(w, http.StatusTooManyRequests, "rate limited")
		return
	case Fault500:
		s.fail(w, http.StatusInternalServerError, "internal error")
		return
	case Fault503:
		s.fail(w, http.StatusServiceUnavailable, "unavailable")
		return
	case Fault408:
		s.fail(w, http.StatusRequestTimeout, "timeout")
		return
	case Fault400:
		s.fail(w, http.StatusBadRequest, "bad request")
		return
	case Fault403:
		s.fail(w, http.StatusForbidden, "Forbidden")
		return
	case Fault413:
		s.fail(w, http.StatusRequestEntityTooLarge, "payload too large")
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, http.StatusMethodNotAllowed, "POST only")
		return
	}
	if r.Header.Get("DD-API-KEY") != s.opts.APIKey {
		s.fail(w, http.StatusForbidden, "Forbidden")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
		s.fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	var body io.Reader = r.Body
	switch r.Header.Get("Content-Encoding") {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			s.fail(w, http.StatusBadRequest, "bad gzip")
			return
		}
		body = zr
	default:
		s.fail(w, http.StatusBadRequest, "unsupported Content-Encoding")
		return
	}
	data, err := io.ReadAll(io.LimitReader(body, int64(s.opts.MaxPayload)+1))
	if err != nil {
		s.fail(w, http.StatusBadRequest, "unreadable body")
		return
	}
	if len(data) > s.opts.MaxPayload {
		s.fail(w, http.StatusRequestEntityTooLarge, "payload too large")
		return
	}
	var raws []json.RawMessage
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		raws = []json.RawMessage{data}
	} else if err := json.Unmarshal(data, &raws); err != nil {
		s.fail(w, http.StatusBadRequest, "body must be a JSON array of log objects")
		return
	}
	if len(raws) > s.opts.MaxEntries {
		s.fail(w, http.StatusBadRequest, "too many entries")
		return
	}
	logs := make([]Log, 0, len(raws))
	trunc := 0
	for _, raw := range raws {
		var l Log
		if err := json.Unmarshal(raw, &l); err != nil {
			s.fail(w, http.StatusBadRequest, "entries must be objects with a string message")
			return
		}
		if len(raw) > s.opts.MaxEntry {
			trunc++
			if len(l.Message) > s.opts.MaxEntry {
				l.Message = l.Message[:s.opts.MaxEntry]
			}
		}
		logs = append(logs, l)
	}
	s.mu.Lock()
	s.logs = append(s.logs, logs...)
	s.truncated += trunc
	s.codes[http.StatusAccepted]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("{}"))
}
