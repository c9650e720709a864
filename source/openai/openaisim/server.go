package openaisim

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// Server is a simulated OpenAI organization. All methods are safe for
// concurrent use.
type Server struct {
	opts    Options
	now     func() time.Time
	key     uint64 // mixed seed
	dir     *directory
	audit   simkit.Timeline
	logs    simkit.Timeline
	auditID simkit.Feistel
	logID   simkit.Feistel
	lateCut uint64 // an index is late iff its late draw < lateCut
	lateNs  int64
	handler http.Handler

	faults   atomic.Pointer[Faults]
	faultSeq atomic.Uint64
	reqSeq   atomic.Uint64
	latSeq   atomic.Uint64 // latency draws
	rlSeq    atomic.Uint64 // rate-limited answers, for their Retry-After draw

	limit *limiter // nil: no rate limit

	mux       *http.ServeMux
	routeIdx  map[string]int // route path pattern -> index in routeNames
	routeName []string       // route path patterns, "other" last

	// streamDone, when set (by tests, before serving), learns how an
	// oversize answer ended.
	streamDone func(streamResult)

	stats struct {
		requests, pages, events, logs, unauthorized, badRequests, notFound atomic.Int64
		rateLimited, cancelled                                             atomic.Int64
		faults                                                             []atomic.Int64 // by index in AllFaultKinds
		paths                                                              []atomic.Int64 // by index in routeName
	}

	mu      sync.Mutex // Start and Close
	servers simkit.Servers
	ln      net.Listener // the last one Start bound
}

// Stats are counters since New. Events and Logs count records served in
// responses that were not corrupted by a fault (a loop page is a lie about
// has_more, so it counts as corrupted). The JSON form is what GET
// /_sim/stats serves, for a harness in another process.
type Stats struct {
	Requests     int64               `json:"requests"`     // every API request received (not /_sim/stats)
	Faults       map[FaultKind]int64 `json:"faults"`       // injected faults, by kind
	RateLimited  int64               `json:"rate_limited"` // 429s of the rate limit (not the injected 429 faults)
	Pages        int64               `json:"pages"`        // list pages served successfully (all list endpoints)
	Events       int64               `json:"events"`       // audit events served
	Logs         int64               `json:"logs"`         // request-log records served
	Unauthorized int64               `json:"unauthorized"` // 401s
	BadRequests  int64               `json:"bad_requests"` // 400s
	NotFound     int64               `json:"not_found"`    // 404s
	Cancelled    int64               `json:"cancelled"`    // requests whose client gave up during the latency
	Paths        map[string]int64    `json:"paths"`        // requests by route, e.g. "/v1/organization/audit_logs"; unknown paths under "other"
}

// FaultCount is the total of injected faults of every kind.
func (s Stats) FaultCount() int64 {
	var n int64
	for _, v := range s.Faults {
		n += v
	}
	return n
}

// New builds a simulator. It panics if opts.Validate fails: call Validate
// first when the options come from a user.
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Users == 0 {
		opts.Users = 25
	}
	if opts.Projects == 0 {
		opts.Projects = 8
	}
	if opts.Start.IsZero() {
		opts.Start = opts.Now().Add(-opts.Span)
	}
	s := &Server{opts: opts, now: opts.Now, key: simkit.Mix(uint64(opts.Seed) ^ 0x6f70656e6169)}
	startNs := opts.Start.UnixNano()
	s.dir = newDirectory(s.key, opts.Users, opts.Projects, opts.Start.Unix())
	s.audit = newTimeline(s.key^1, int64(opts.Events), startNs, int64(opts.Span), opts.Rate)
	s.logs = newTimeline(s.key^2, int64(opts.OrgLogEvents), startNs, int64(opts.Span), opts.OrgLogRate)
	s.auditID = newFeistel(s.key ^ 3)
	s.logID = newFeistel(s.key ^ 4)
	s.lateNs = int64(opts.LateDelay)
	switch {
	case opts.LateFraction >= 1:
		s.lateCut = ^uint64(0)
	case opts.LateFraction > 0:
		s.lateCut = uint64(opts.LateFraction * (1 << 63) * 2)
	}
	f := opts.Faults.withDefaults()
	s.faults.Store(&f)
	s.stats.faults = make([]atomic.Int64, len(AllFaultKinds))
	if l := newLimiter(opts.RateLimit, opts.RateSchedule, time.Now()); l.enabled() {
		s.limit = l
	}
	s.handler = s.routes()
	return s
}

// SetFaults replaces the fault settings; it is safe while serving. It panics
// if f.Validate fails.
func (s *Server) SetFaults(f Faults) {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	f = f.withDefaults()
	s.faults.Store(&f)
}

// Options returns the effective options (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests:     s.stats.requests.Load(),
		RateLimited:  s.stats.rateLimited.Load(),
		Pages:        s.stats.pages.Load(),
		Events:       s.stats.events.Load(),
		Logs:         s.stats.logs.Load(),
		Unauthorized: s.stats.unauthorized.Load(),
		BadRequests:  s.stats.badRequests.Load(),
		NotFound:     s.stats.notFound.Load(),
		Cancelled:    s.stats.cancelled.Load(),
		Faults:       map[FaultKind]int64{},
		Paths:        map[string]int64{},
	}
	for i := range s.stats.faults {
		if n := s.stats.faults[i].Load(); n > 0 {
			st.Faults[AllFaultKinds[i]] = n
		}
	}
	for i := range s.stats.paths {
		if n := s.stats.paths[i].Load(); n > 0 {
			st.Paths[s.routeName[i]] = n
		}
	}
	return st
}

func (s *Server) countFault(k FaultKind) {
	if i := k.index(); i >= 0 && i < len(s.stats.faults) {
		s.stats.faults[i].Add(1)
	}
}

// Handler serves the simulated API under /v1/, and its counters (Stats as
// JSON, without authentication) at GET /_sim/stats.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on 127.0.0.1 on a free port and serves in the background. It
// returns the base URL, e.g. "http://127.0.0.1:41234/v1".
func (s *Server) Start() (baseURL string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servers.Serving() {
		return "http://" + s.ln.Addr().String() + "/v1", nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	if s.limit != nil && s.ln == nil { // the rate schedule counts from the first Start
		s.limit.epoch.Store(time.Now().UnixNano())
	}
	s.ln = ln
	s.servers.Start(simkit.Listener{Listener: ln, Handler: s.handler})
	return "http://" + ln.Addr().String() + "/v1", nil
}

// Close stops the listener started by Start and closes its connections. It
// is safe without Start and safe twice.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.servers.Close()
}

// statsPath serves Stats. It is outside /v1 so that no client of the API
// reaches it by accident, and it bypasses authentication, latency, rate
// limits and faults: a harness reads it to learn what the client saw.
const statsPath = "/_sim/stats"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.routeIdx = map[string]int{}
	handle := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, h)
		_, path, _ := strings.Cut(pattern, " ")
		s.routeIdx[pattern] = len(s.routeName)
		s.routeName = append(s.routeName, path)
	}
	handle("GET /v1/organization/audit_logs", s.serveAuditLogs)
	handle("GET /v1/organization/users", s.serveUsers)
	handle("GET /v1/organization/projects", s.serveProjects)
	handle("GET /v1/organization/projects/{project_id}/api_keys", s.serveAPIKeys)
	handle("GET /v1/organization/projects/{project_id}/service_accounts", s.serveServiceAccounts)
	handle("GET /v1/organization_logs", s.serveOrgLogs)
	handle("GET /v1/organization_logs/{log_id}", s.serveOrgLog)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Invalid URL ("+r.Method+" "+r.URL.Path+")", "invalid_request_error", "", "")
	})
	s.routeName = append(s.routeName, "other")
	s.stats.paths = make([]atomic.Int64, len(s.routeName))
	s.mux = mux
	return http.HandlerFunc(s.serve)
}

// countPath counts r under its route (unknown paths and methods under
// "other"), so that the set of counters is fixed however many distinct
// URLs clients send.
func (s *Server) countPath(r *http.Request) {
	i := len(s.routeName) - 1
	if _, pattern := s.mux.Handler(r); pattern != "" {
		if j, ok := s.routeIdx[pattern]; ok {
			i = j
		}
	}
	s.stats.paths[i].Add(1)
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	s.stampDate(h)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" not allowed on "+statsPath+".", "invalid_request_error", "", "")
		return
	}
	b, err := json.Marshal(s.Stats())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "server_error", "", "")
		return
	}
	h.Set("Cache-Control", "no-store")
	simkit.WriteBody(w, http.StatusOK, "application/json", append(b, '\n'))
}

// stampDate sets the Date header from the simulated clock: clients read
// the API's clock from it (to compute "now" for a time window, or to parse
// a Retry-After date), so it must agree with the effective_at of the
// events, not with the machine's clock. net/http keeps a Date the handler
// set.
func (s *Server) stampDate(h http.Header) {
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
}

// buffered collects a response so that faults can rewrite it and so that
// every response carries a Content-Length.
type buffered struct {
	h      http.Header
	status int
	body   []byte
	events int64 // audit events in the body
	logs   int64 // request logs in the body
	page   bool  // a list page

	// The faults a list handler carries out itself, and what it did.
	fault    FaultKind           // FaultLoop or FaultOversize, else ""
	out      http.ResponseWriter // the real writer, for an oversize stream
	begin    time.Time           // when the request came in
	looped   bool                // the handler answered a loop page
	streamed bool                // the handler streamed an oversize answer to out
}

func (b *buffered) Header() http.Header { return b.h }
func (b *buffered) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *buffered) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

var bufPool = sync.Pool{New: func() any { return &buffered{body: make([]byte, 0, 64<<10)} }}

// serve answers every request. The order is that of a loaded API: a reset
// fault drops the connection at once; every other answer first waits out a
// latency draw (refusals are slow too); then come authentication (a 401
// spends no quota), the rate limit and the injected faults.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == statsPath {
		s.serveStats(w, r)
		return
	}
	begin := time.Now()
	n := s.reqSeq.Add(1)
	s.stats.requests.Add(1)
	s.countPath(r)
	h := w.Header()
	h.Set("x-request-id", "req_"+string(simkit.AppendHex64(simkit.AppendHex64(nil, simkit.Mix(s.key^n)), simkit.Mix(n^s.key<<1))))
	h.Set("openai-version", "2020-10-01")
	h.Set("openai-organization", s.dir.orgID)

	authorized := s.opts.APIKey == "" || s.authorized(r)
	f := s.faults.Load()
	var kind FaultKind
	var draw uint64
	if authorized {
		kind, draw = s.drawFault(f)
	}
	if kind == FaultReset {
		s.countFault(kind)
		simkit.ResetConn(w)
		return
	}
	if !s.delay(r) {
		return
	}
	s.stampDate(h)

	if !authorized {
		s.stats.unauthorized.Add(1)
		h.Set("openai-processing-ms", "1")
		auth := r.Header.Get("Authorization")
		if auth == "" {
			writeError(w, http.StatusUnauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.", "invalid_request_error", "", "")
		} else {
			writeError(w, http.StatusUnauthorized, "Incorrect API key provided: "+redactKey(auth)+". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "", "invalid_api_key")
		}
		return
	}
	if s.rateLimited(w, r) {
		return
	}

	switch kind {
	case "", FaultLoop, FaultOversize: // counted when the handler carries them out
	default:
		s.countFault(kind)
	}
	switch kind {
	case Fault429:
		h.Set("openai-processing-ms", "2")
		h.Set("x-should-retry", "true")
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		switch draw % 3 {
		case 0:
			h.Set("Retry-After", strconv.FormatInt(secs, 10))
		case 1:
			h.Set("Retry-After", s.now().Add(time.Duration(secs+1)*time.Second).UTC().Format(http.TimeFormat))
		default:
			h.Set("Retry-After", strconv.FormatInt(secs, 10))
			h.Set("Retry-After-Ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
		}
		writeError(w, http.StatusTooManyRequests, "Rate limit reached for requests on this organization. Please try again later.", "requests", "", "rate_limit_exceeded")
		return
	case Fault500:
		h.Set("openai-processing-ms", "3")
		writeError(w, http.StatusInternalServerError, "The server had an error while processing your request. Sorry about that!", "server_error", "", "")
		return
	case Fault503:
		h.Set("openai-processing-ms", "3")
		writeError(w, http.StatusServiceUnavailable, "The server is overloaded or not ready yet.", "server_error", "", "")
		return
	case FaultSlow:
		if !simkit.Sleep(r, f.SlowDelay) {
			return
		}
	}

	b := bufPool.Get().(*buffered)
	b.h, b.status, b.body, b.events, b.logs, b.page = h, 0, b.body[:0], 0, 0, false
	b.fault, b.out, b.begin, b.looped, b.streamed = "", w, begin, false, false
	if kind == FaultLoop || kind == FaultOversize {
		b.fault = kind
	}
	defer func() {
		b.h, b.out = nil, nil
		if cap(b.body) <= 1<<20 {
			bufPool.Put(b)
		}
	}()
	next := http.Handler(s.mux)
	next.ServeHTTP(b, r)
	if b.streamed { // counted when the stream began
		return
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	body := b.body
	corrupt := false
	if b.looped && b.status == http.StatusOK {
		s.countFault(FaultLoop)
		corrupt = true
	}
	if b.status == http.StatusOK {
		switch kind {
		case FaultTruncated:
			body, corrupt = body[:len(body)/2], true
		case FaultGarbled:
			body, corrupt = garble(draw, len(body)), true
		case FaultEnvelope:
			body, corrupt = breakEnvelope(body, draw), true
		}
	}
	switch b.status {
	case http.StatusOK:
		if !corrupt {
			if b.page {
				s.stats.pages.Add(1)
			}
			s.stats.events.Add(b.events)
			s.stats.logs.Add(b.logs)
		}
	case http.StatusBadRequest:
		s.stats.badRequests.Add(1)
	case http.StatusNotFound:
		s.stats.notFound.Add(1)
	}
	h.Set("openai-processing-ms", strconv.FormatInt(time.Since(begin).Milliseconds()+1, 10))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	s.stampDate(h)
	w.WriteHeader(b.status)
	w.Write(body) //nolint:errcheck // the client went away
}

func (s *Server) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	const p = "Bearer "
	return len(auth) > len(p) && auth[:len(p)] == p && auth[len(p):] == s.opts.APIKey
}

func redactKey(auth string) string {
	k := auth
	if len(k) > 7 && k[:7] == "Bearer " {
		k = k[7:]
	}
	if len(k) <= 8 {
		return "****"
	}
	return k[:5] + "***" + k[len(k)-4:]
}

// drawFault decides, from the seeded sequence, whether this request is
// faulted. draw is a further deterministic number for the fault's variant.
func (s *Server) drawFault(f *Faults) (FaultKind, uint64) {
	if f.Rate <= 0 {
		return "", 0
	}
	n := s.faultSeq.Add(1)
	kind, draw, _ := simkit.DrawFault(newRNG(s.key^0x6661756c74^n*0x9e3779b97f4a7c15), f.Rate, f.Kinds)
	return kind, draw
}

func garble(draw uint64, n int) []byte {
	if n < 64 {
		n = 64
	}
	if n > 4096 {
		n = 4096
	}
	r := newRNG(draw)
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(r.Next())
	}
	out[0] = 0xff // never a valid JSON start
	return out
}

// breakEnvelope returns valid JSON whose envelope is wrong.
func breakEnvelope(body []byte, draw uint64) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return []byte(`{"object":"list","data":"unavailable"}`)
	}
	if _, isList := m["data"]; isList {
		switch draw % 4 {
		case 0: // data is an object, not an array
			m["data"] = append(append([]byte(`{"items":`), m["data"]...), '}')
		case 1: // has_more missing
			delete(m, "has_more")
		case 2: // data null
			m["data"] = json.RawMessage("null")
		default: // has_more of the wrong type, object renamed
			m["has_more"] = json.RawMessage(`"maybe"`)
			m["object"] = json.RawMessage(`"page"`)
		}
	} else {
		delete(m, "id")
		m["object"] = json.RawMessage(`"list"`)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return []byte(`{}`)
	}
	return out
}

// writeError writes OpenAI's error body.
func writeError(w http.ResponseWriter, status int, msg, typ, param, code string) {
	var b jw
	b.Raw(`{"error":{`)
	b.KStr("message", msg)
	b.KStr("type", typ)
	b.Key("param")
	if param == "" {
		b.Null()
	} else {
		b.Str(param)
	}
	b.Key("code")
	if code == "" {
		b.Null()
	} else {
		b.Str(code)
	}
	b.Raw("}}\n")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.B) //nolint:errcheck // the client went away
}

func badRequest(w http.ResponseWriter, msg, param, code string) {
	writeError(w, http.StatusBadRequest, msg, "invalid_request_error", param, code)
}

// parseLimit validates limit (1..100, default 20) like OpenAI.
func parseLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 20, true
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		badRequest(w, "Invalid 'limit': expected an integer, but got '"+v+"' instead.", "limit", "invalid_type")
		return 0, false
	case n < 1:
		badRequest(w, "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got "+v+" instead.", "limit", "integer_below_min_value")
		return 0, false
	case n > 100:
		badRequest(w, "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got "+v+" instead.", "limit", "integer_above_max_value")
		return 0, false
	}
	return n, true
}

// writeList writes the list envelope around items rendered by each.
func writeList(w http.ResponseWriter, n int, firstID, lastID string, hasMore bool, each func(w *jw, i int), extra func(w *jw)) {
	b := jw{simkit.JSON{B: make([]byte, 0, 256+n*512)}}
	if bw, ok := w.(*buffered); ok {
		b.B = bw.body[:0]
		bw.page = true
	}
	b.Raw(`{"object":"list","data":[`)
	for i := 0; i < n; i++ {
		each(&b, i)
	}
	b.Raw(`],"first_id":`)
	if n == 0 {
		b.Null()
	} else {
		b.Str(firstID)
	}
	b.Raw(`,"last_id":`)
	if n == 0 {
		b.Null()
	} else {
		b.Str(lastID)
	}
	b.Raw(`,"has_more":`)
	b.Bool(hasMore)
	if extra != nil {
		extra(&b)
	}
	b.Raw("}\n")
	w.Header().Set("Content-Type", "application/json")
	if bw, ok := w.(*buffered); ok {
		bw.status = http.StatusOK
		bw.body = b.B
		return
	}
	w.Write(b.B) //nolint:errcheck // the client went away
}
