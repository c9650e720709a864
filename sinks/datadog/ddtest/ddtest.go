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
	"encoding/json"
	"net/http"
	"sync"

	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
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
	// Evt and Usr are the standard attributes evt.name, usr.id and
	// usr.email.
	Evt struct {
		Name string `json:"name"`
	} `json:"evt"`
	Usr struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"usr"`
}

// Server is a running intake. Its methods (URL, Close, Inject, Requests
// and Statuses among them, of the embedded Intake) are safe for concurrent
// use.
type Server struct {
	httpbatchtest.Intake[Fault]
	opts Options

	mu        sync.Mutex
	logs      []Log
	truncated int
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
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v2/logs", s.Counted(s.handle))
	s.Serve(mux)
	return s
}

// Logs returns the entries accepted so far.
func (s *Server) Logs() []Log {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Log(nil), s.logs...)
}

// Truncated returns how many entries were over MaxEntry and truncated.
func (s *Server) Truncated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.truncated
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"status": http.StatusText(status), "detail": msg}}})
}

// faultReplies are the answers of the faults but FaultReset.
var faultReplies = map[Fault]struct {
	status int
	msg    string
}{
	Fault429: {http.StatusTooManyRequests, "rate limited"},
	Fault500: {http.StatusInternalServerError, "internal error"},
	Fault503: {http.StatusServiceUnavailable, "unavailable"},
	Fault408: {http.StatusRequestTimeout, "timeout"},
	Fault400: {http.StatusBadRequest, "bad request"},
	Fault403: {http.StatusForbidden, "Forbidden"},
	Fault413: {http.StatusRequestEntityTooLarge, "payload too large"},
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, fault Fault) {
	if fault == FaultReset && httpbatchtest.Reset(w) {
		return
	}
	if f, ok := faultReplies[fault]; ok {
		s.fail(w, f.status, f.msg)
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
	if ce := r.Header.Get("Content-Encoding"); ce != "" && ce != "gzip" {
		s.fail(w, http.StatusBadRequest, "unsupported Content-Encoding")
		return
	}
	data, tooLarge, err := httpbatchtest.ReadBody(r, s.opts.MaxPayload)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "bad gzip or unreadable body")
		return
	}
	if tooLarge {
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
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("{}"))
}
