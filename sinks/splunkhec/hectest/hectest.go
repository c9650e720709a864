// Package hectest is an in-process Splunk HTTP Event Collector for tests and
// benchmarks. It enforces the documented HEC contract instead of accepting
// anything: the /services/collector/event path, "Authorization: Splunk
// <token>", newline-separated (or concatenated) JSON event objects with a
// non-empty "event", numeric "time", string-valued "fields", an allowed
// "index", gzip bodies, max_content_length (413), HEC's status codes and
// JSON replies, and indexer acknowledgement (channel header, ackId, the
// /services/collector/ack endpoint). Faults can be injected per request.
//
// It is not a Splunk indexer: it keeps the events it accepted in memory.
package hectest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

// Options configure a Server.
type Options struct {
	// Token is the one valid HEC token (required).
	Token string
	// MaxContentLength is the largest request body accepted, after gzip
	// decoding (default 1 MiB, a common HEC setting); larger bodies get 413.
	MaxContentLength int
	// Ack turns indexer acknowledgement on: requests must carry a channel
	// (X-Splunk-Request-Channel header or ?channel=), replies carry an
	// ackId, and events count as indexed only once an ack poll saw them.
	Ack bool
	// AckAfterPolls is how many polls an ackId stays false before it turns
	// true (default 1: the first poll already reports it).
	AckAfterPolls int
	// Indexes lists the allowed indexes; empty allows any.
	Indexes []string
}

// Fault is one kind of injected failure.
type Fault string

// The faults a Server can inject. Each affects one request.
const (
	FaultBusy       Fault = "busy"        // 503, code 9 "Server is busy", Retry-After: 1
	FaultInternal   Fault = "internal"    // 500, code 8
	FaultUnhealthy  Fault = "unhealthy"   // 503, code 18 "queues are full"
	FaultBadToken   Fault = "bad_token"   // 403, code 4 "Invalid token"
	FaultReset      Fault = "reset"       // the connection is closed without a reply
	FaultAckLost    Fault = "ack_lost"    // 200 with an ackId that never turns true
	FaultTooLarge   Fault = "too_large"   // 413
	FaultBadRequest Fault = "bad_request" // 400, code 6, invalid-event-number 0
)

// Event is one event the server accepted.
type Event struct {
	Time       float64           `json:"time"`
	Host       string            `json:"host"`
	Source     string            `json:"source"`
	Sourcetype string            `json:"sourcetype"`
	Index      string            `json:"index"`
	Fields     map[string]string `json:"fields"`
	Event      json.RawMessage   `json:"event"`
}

// Server is a running HEC. Its methods (URL, Close, Inject, Requests and
// Statuses among them, of the embedded Intake, which count the event
// requests) are safe for concurrent use.
type Server struct {
	httpbatchtest.Intake[Fault]
	opts Options

	mu      sync.Mutex
	indexed []Event
	pending map[int][]Event // ackId -> events
	polls   map[int]int
	lost    map[int]bool
	nextAck int
}

// New starts a server on a loopback port.
func New(opts Options) *Server {
	if opts.MaxContentLength <= 0 {
		opts.MaxContentLength = 1 << 20
	}
	if opts.AckAfterPolls <= 0 {
		opts.AckAfterPolls = 1
	}
	s := &Server{opts: opts, pending: map[int][]Event{}, polls: map[int]int{}, lost: map[int]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/services/collector/event", s.Counted(s.event))
	mux.HandleFunc("/services/collector/event/1.0", s.Counted(s.event))
	mux.HandleFunc("/services/collector/ack", s.ack)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.reply(w, http.StatusNotFound, 404, "The requested URL was not found on this server.", nil)
	})
	s.Serve(mux)
	return s
}

// Events returns the events indexed so far (acknowledged when Ack is on).
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.indexed...)
}

func (s *Server) reply(w http.ResponseWriter, status, code int, text string, extra map[string]any) {
	body := map[string]any{"text": text, "code": code}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		s.reply(w, http.StatusUnauthorized, 2, "Token is required", nil)
		return false
	}
	tok, ok := strings.CutPrefix(h, "Splunk ")
	if !ok {
		s.reply(w, http.StatusUnauthorized, 3, "Invalid authorization", nil)
		return false
	}
	if tok != s.opts.Token {
		s.reply(w, http.StatusForbidden, 4, "Invalid token", nil)
		return false
	}
	return true
}

func channel(r *http.Request) string {
	if c := r.Header.Get("X-Splunk-Request-Channel"); c != "" {
		return c
	}
	return r.URL.Query().Get("channel")
}

// faultReplies are the answers of the faults that fail a request.
var faultReplies = map[Fault]struct {
	status, code int
	text         string
	extra        map[string]any
}{
	FaultBusy:       {http.StatusServiceUnavailable, 9, "Server is busy", nil},
	FaultUnhealthy:  {http.StatusServiceUnavailable, 18, "HEC is unhealthy, queues are full", nil},
	FaultInternal:   {http.StatusInternalServerError, 8, "Internal server error", nil},
	FaultBadToken:   {http.StatusForbidden, 4, "Invalid token", nil},
	FaultTooLarge:   {http.StatusRequestEntityTooLarge, 413, "Content too large", nil},
	FaultBadRequest: {http.StatusBadRequest, 6, "Invalid data format", map[string]any{"invalid-event-number": 0}},
}

func (s *Server) event(w http.ResponseWriter, r *http.Request, fault Fault) {
	if r.Method != http.MethodPost {
		s.reply(w, http.StatusMethodNotAllowed, 404, "Method not allowed", nil)
		return
	}
	if fault == FaultReset && httpbatchtest.Reset(w) {
		return
	}
	if f, ok := faultReplies[fault]; ok {
		s.reply(w, f.status, f.code, f.text, f.extra)
		return
	}
	if !s.auth(w, r) {
		return
	}
	ch := channel(r)
	if s.opts.Ack && ch == "" {
		s.reply(w, http.StatusBadRequest, 10, "Data channel is missing", nil)
		return
	}
	data, tooLarge, err := httpbatchtest.ReadBody(r, s.opts.MaxContentLength)
	if err != nil {
		s.reply(w, http.StatusBadRequest, 6, "Invalid data format", nil)
		return
	}
	if tooLarge {
		s.reply(w, http.StatusRequestEntityTooLarge, 413, "Content too large", nil)
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		s.reply(w, http.StatusBadRequest, 5, "No data", nil)
		return
	}
	evs, bad, code, text := s.parse(data)
	if code != 0 {
		// HEC indexes the events before the first invalid one.
		s.accept(evs[:bad])
		s.reply(w, http.StatusBadRequest, code, text, map[string]any{"invalid-event-number": bad})
		return
	}
	if !s.opts.Ack {
		s.accept(evs)
		s.reply(w, http.StatusOK, 0, "Success", nil)
		return
	}
	s.mu.Lock()
	id := s.nextAck
	s.nextAck++
	s.pending[id] = evs
	if fault == FaultAckLost {
		s.lost[id] = true
	}
	s.mu.Unlock()
	s.reply(w, http.StatusOK, 0, "Success", map[string]any{"ackId": id})
}

func (s *Server) accept(evs []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexed = append(s.indexed, evs...)
}

// parse decodes the events of a request; on the first invalid one it
// returns the events before it, its number and HEC's code and text.
func (s *Server) parse(data []byte) (evs []Event, bad, code int, text string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for i := 0; ; i++ {
		var m map[string]json.RawMessage
		if err := dec.Decode(&m); err == io.EOF {
			return evs, 0, 0, ""
		} else if err != nil || m == nil {
			return evs, i, 6, "Invalid data format"
		}
		ev, c, t := s.check(m)
		if c != 0 {
			return evs, i, c, t
		}
		evs = append(evs, ev)
	}
}

func (s *Server) check(m map[string]json.RawMessage) (Event, int, string) {
	var ev Event
	raw, ok := m["event"]
	if !ok {
		return ev, 12, "Event field is required"
	}
	if t := string(bytes.TrimSpace(raw)); t == "null" || t == `""` || t == "" {
		return ev, 13, "Event field cannot be blank"
	}
	ev.Event = append(json.RawMessage(nil), raw...)
	if t, ok := m["time"]; ok {
		ts := strings.Trim(string(t), `"`)
		f, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			return ev, 6, "Invalid data format"
		}
		ev.Time = f
	}
	for k, dst := range map[string]*string{"host": &ev.Host, "source": &ev.Source, "sourcetype": &ev.Sourcetype, "index": &ev.Index} {
		if v, ok := m[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return ev, 6, "Invalid data format"
			}
		}
	}
	if ev.Index != "" && len(s.opts.Indexes) > 0 {
		found := false
		for _, ix := range s.opts.Indexes {
			found = found || ix == ev.Index
		}
		if !found {
			return ev, 7, "Incorrect index"
		}
	}
	if f, ok := m["fields"]; ok {
		if err := json.Unmarshal(f, &ev.Fields); err != nil {
			return ev, 15, "Error in handling indexed fields"
		}
	}
	for k := range m {
		switch k {
		case "event", "time", "host", "source", "sourcetype", "index", "fields":
		default:
			return ev, 6, fmt.Sprintf("Invalid data format: unknown key %q", k)
		}
	}
	return ev, 0, ""
}

func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.reply(w, http.StatusMethodNotAllowed, 404, "Method not allowed", nil)
		return
	}
	if !s.auth(w, r) {
		return
	}
	if !s.opts.Ack {
		s.reply(w, http.StatusBadRequest, 14, "ACK is disabled", nil)
		return
	}
	if channel(r) == "" {
		s.reply(w, http.StatusBadRequest, 10, "Data channel is missing", nil)
		return
	}
	var req struct {
		Acks []int `json:"acks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.reply(w, http.StatusBadRequest, 6, "Invalid data format", nil)
		return
	}
	out := map[string]bool{}
	// Index acknowledged requests in the order they were sent, so that
	// tests see a deterministic order (Splunk itself promises none).
	sort.Ints(req.Acks)
	s.mu.Lock()
	for _, id := range req.Acks {
		evs, ok := s.pending[id]
		if !ok {
			out[strconv.Itoa(id)] = false
			continue
		}
		s.polls[id]++
		if s.lost[id] || s.polls[id] < s.opts.AckAfterPolls {
			out[strconv.Itoa(id)] = false
			continue
		}
		s.indexed = append(s.indexed, evs...)
		delete(s.pending, id)
		out[strconv.Itoa(id)] = true
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"acks": out})
}
