package anthropicsim

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// Server is a simulated parent organization answering the Compliance API's
// activity feed. Build it with New, serve it with Serve (or Handler); it
// is safe for concurrent use.
type Server struct {
	opts    Options
	key     uint64
	now     func() time.Time
	tl      simkit.Timeline
	dir     directory
	maxLate int64
	// idOffset is added to an index in its id (see appendID).
	idOffset uint64
	keys     map[string]Key
	budget   *budget // nil: no limit

	faults   atomic.Pointer[Faults]
	faultSeq atomic.Uint64
	reqSeq   atomic.Uint64
	delays   *simkit.Delays

	statsMu sync.Mutex
	stats   Stats

	handler http.Handler
	servers simkit.Servers
}

// New builds a simulated parent organization. It panics on invalid
// Options (see Options.Validate): a simulator is built by tests, which want
// to fail loudly and at once.
func New(o Options) *Server {
	if err := o.Validate(); err != nil {
		panic(err)
	}
	s := &Server{opts: o, key: simkit.Mix(uint64(o.Seed) ^ 0xa27c), now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if o.Organizations == 0 {
		o.Organizations = 3
	}
	if o.Users == 0 {
		o.Users = 20
	}
	start := o.Start
	if start.IsZero() {
		start = s.now().Add(-o.Span)
	}
	s.tl = newTimeline(simkit.Hash(s.key, 0x71), int64(o.Activities), start.UnixNano(), int64(o.Span), o.Rate)
	s.dir = newDirectory(s.key, o.Organizations, o.Users)
	s.idOffset = simkit.Hash(s.key, 0x1f) % (check62 / 2)
	s.maxLate = int64(o.MaxLate)
	if s.maxLate == 0 {
		s.maxLate = int64(time.Minute)
	}
	s.keys = map[string]Key{}
	for _, k := range o.Keys {
		s.keys[k.Secret] = k
	}
	switch {
	case o.RequestsPerMinute == 0:
		s.budget = newBudget(DefaultRequestsPerMinute)
	case o.RequestsPerMinute > 0:
		s.budget = newBudget(o.RequestsPerMinute)
	}
	s.delays = simkit.NewDelays(o.Latency, simkit.Hash(s.key, 0x1a7))
	f := o.Faults.withDefaults()
	s.faults.Store(&f)
	s.stats = newStats()
	s.handler = http.HandlerFunc(s.serve)
	return s
}

// SetFaults replaces the faults injected from now on.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("anthropicsim: %w", err)
	}
	f = f.withDefaults()
	s.faults.Store(&f)
	return nil
}

// Serve serves the API on ln, in the background, until Close. The caller
// binds the listener (a test at 127.0.0.1:0) and hands it over; Serve
// returns the base URL, e.g. "http://127.0.0.1:41234", to which a client
// appends /v1/compliance/activities as it does to https://api.anthropic.com.
func (s *Server) Serve(ln net.Listener) (baseURL string, err error) {
	if !s.servers.Start(simkit.Listener{Listener: ln, Handler: s.handler}) {
		return "", errors.New("anthropicsim: already serving")
	}
	return "http://" + ln.Addr().String(), nil
}

// Close stops the server and closes its listener and connections. It is
// safe without Serve and safe twice.
func (s *Server) Close() error { return s.servers.Close() }

// Handler serves the API, for a caller that runs its own http.Server.
func (s *Server) Handler() http.Handler { return s.handler }

// StatusClientGone is the status Stats counts for a request whose client
// went away before it was answered (nginx's 499).
const StatusClientGone = simkit.StatusClientGone

// Stats are the simulator's counters.
type Stats struct {
	// Requests counts every request received.
	Requests int64
	// Statuses counts answers by status (StatusClientGone for a client that
	// gave up waiting). A reset connection has no status and is counted in
	// Faults only.
	Statuses map[int]int64
	// Faults counts injected faults by kind.
	Faults map[FaultKind]int64
	// BudgetSpent counts the requests that took from the parent
	// organization's budget (every authenticated request while it lasts);
	// RateLimited the requests it refused with 429.
	BudgetSpent, RateLimited int64
	// Pages and Activities count the activity pages served whole and
	// unaltered (a repeat fault alters a page but not its completeness, so
	// it counts), and the activities in them.
	Pages, Activities int64
}

func newStats() Stats {
	return Stats{Statuses: map[int]int64{}, Faults: map[FaultKind]int64{}}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := s.stats
	out.Statuses = maps.Clone(s.stats.Statuses)
	out.Faults = maps.Clone(s.stats.Faults)
	return out
}

func (s *Server) count(fn func(st *Stats)) {
	s.statsMu.Lock()
	fn(&s.stats)
	s.statsMu.Unlock()
}

// recorder counts the status a handler writes in Stats.Statuses, when it
// writes it (see simkit.StatusWriter). A reset connection has no status.
type recorder struct {
	*simkit.StatusWriter
	reset bool
}

// activitiesPath is the one endpoint the simulator serves. Every other
// path under /v1/compliance/ is authenticated and spends the budget (the
// budget is shared by every Compliance API endpoint), then answers 404.
const activitiesPath = "/v1/compliance/activities"

// serve answers every request, in the order of the real API as far as
// the notes tell it: the answer waits out a latency draw (refusals are
// slow too); then authentication (a 401 spends no budget), the budget (429
// beyond it; the rate-limit headers on every authenticated answer), the
// route, the key's scope (403), the anthropic-version header (400), the
// injected fault, and the listing.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.reqSeq.Add(1)
	rec := &recorder{StatusWriter: simkit.NewStatusWriter(w, func(code int) {
		s.count(func(st *Stats) { st.Statuses[code]++ })
	})}
	s.count(func(st *Stats) { st.Requests++ })
	defer func() {
		if !rec.reset {
			rec.Done(r)
		}
	}()
	h := w.Header()
	rid := simkit.NewRNG(simkit.Hash(s.key, 0x4e9, n))
	h.Set("request-id", "req_01"+string(rid.AppendFrom(nil, base62, 22)))
	if !s.delays.Wait(r) {
		return
	}
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))

	key, ok := s.authenticate(r)
	if !ok {
		writeError(rec, http.StatusUnauthorized, "authentication_error", "The API key provided is invalid or has been revoked.")
		return
	}
	if !s.spend(rec) {
		return
	}
	if r.URL.Path != activitiesPath {
		writeError(rec, http.StatusNotFound, "not_found_error", "Not found: "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(rec, http.StatusMethodNotAllowed, "invalid_request_error", "Method "+r.Method+" is not allowed on "+activitiesPath+".")
		return
	}
	if scopes := key.scopes(); !contains(scopes, ScopeActivities) {
		writeError(rec, http.StatusForbidden, "permission_error", "Missing required scopes. Got: "+pyList(scopes)+" Needed: "+pyList([]string{ScopeActivities}))
		return
	}
	switch v := r.Header.Get("anthropic-version"); v {
	case Version:
	case "":
		badRequest(rec, "anthropic-version: header is required")
		return
	default:
		badRequest(rec, "anthropic-version: "+strconv.Quote(v)+" is not a supported version; use "+Version+".")
		return
	}
	f, kind, _ := s.drawFault()
	if s.fault(rec, r, f, kind) {
		return
	}
	s.serveActivities(rec, r, kind)
}

// authenticate finds the key of x-api-key; false when there is none or it
// is not one of the organization's.
func (s *Server) authenticate(r *http.Request) (Key, bool) {
	v := r.Header.Get("x-api-key")
	if v == "" {
		return Key{}, false
	}
	if len(s.opts.Keys) == 0 {
		return Key{Secret: v}, true
	}
	k, ok := s.keys[v]
	return k, ok
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// pyList writes scopes the way the API's message does: ['a', 'b'].
func pyList(xs []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + x + "'")
	}
	b.WriteByte(']')
	return b.String()
}

// drawFault decides, from the seeded sequence, whether this request is
// faulted and how; draw is a further number for the fault's variant.
func (s *Server) drawFault() (f *Faults, kind FaultKind, draw uint64) {
	f = s.faults.Load()
	kind, draw = simkit.NextFault(&s.faultSeq, s.key, f.Rate, f.Kinds)
	return f, kind, draw
}

// fault carries out the faults that replace or delay the answer; true when
// it answered (the request is done). truncated and repeat are the
// listing's to carry out.
func (s *Server) fault(w *recorder, r *http.Request, f *Faults, kind FaultKind) bool {
	h := w.Header()
	switch kind {
	case Fault500:
		h.Set("x-should-retry", "false")
		writeError(w, http.StatusInternalServerError, "api_error", "Internal server error")
	case Fault502:
		h.Set("x-should-retry", "true")
		simkit.WriteGatewayPage(w, http.StatusBadGateway, "502 Bad Gateway")
	case Fault503:
		h.Set("x-should-retry", "true")
		writeError(w, http.StatusServiceUnavailable, "api_error", "Service unavailable")
	case Fault504:
		if !simkit.Sleep(r, f.SlowDelay) {
			s.count(func(c *Stats) { c.Faults[kind]++ })
			return true
		}
		h.Set("x-should-retry", "true")
		simkit.WriteGatewayPage(w, http.StatusGatewayTimeout, "504 Gateway Time-out")
	case Fault529:
		h.Set("x-should-retry", "true")
		writeError(w, 529, "overloaded_error", "Overloaded")
	case FaultSlow:
		s.count(func(c *Stats) { c.Faults[kind]++ })
		return !simkit.Sleep(r, f.SlowDelay)
	case FaultReset:
		s.count(func(c *Stats) { c.Faults[kind]++ })
		w.reset = true
		simkit.ResetConn(w.StatusWriter.ResponseWriter)
		return true
	default:
		return false
	}
	s.count(func(c *Stats) { c.Faults[kind]++ })
	return true
}

// writeError writes Anthropic's error body: {"type":"error","error":
// {"type":..., "message":...}}.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	var b simkit.JSON
	b.Open()
	b.KStr("type", "error")
	b.Key("error")
	b.Open()
	b.KStr("type", typ)
	b.KStr("message", msg)
	b.Close()
	b.Close()
	b.B = append(b.B, '\n')
	simkit.WriteBody(w, status, "application/json", b.B)
}

// budget is the parent organization's request budget: a token bucket
// holding a minute's worth of requests, refilled continuously.
type budget struct {
	perMinute int
	mu        sync.Mutex
	lim       *rate.Limiter
}

func newBudget(perMinute int) *budget {
	return &budget{perMinute: perMinute, lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), perMinute)}
}

// take spends one request at now (the wall clock). It returns whether the
// request may go on, the whole requests left, the time until the bucket
// is full again and, when refused, the time until one request would be
// allowed.
func (b *budget) take(now time.Time) (ok bool, remaining int, full, next time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok = b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	perSec := float64(b.perMinute) / 60
	full = time.Duration((float64(b.perMinute) - tokens) / perSec * 1e9)
	if !ok {
		next = time.Duration((1 - tokens) / perSec * 1e9)
	}
	return ok, max(int(math.Floor(tokens)), 0), full, next
}

// spend takes the request from the budget and sets the rate-limit
// headers; when the budget is spent it answers 429 with retry-after (whole
// seconds, rounded up) and returns false.
func (s *Server) spend(w http.ResponseWriter) bool {
	if s.budget == nil {
		return true
	}
	ok, remaining, full, next := s.budget.take(time.Now())
	h := w.Header()
	h.Set("anthropic-ratelimit-requests-limit", strconv.Itoa(s.budget.perMinute))
	h.Set("anthropic-ratelimit-requests-remaining", strconv.Itoa(remaining))
	h.Set("anthropic-ratelimit-requests-reset", ceilTime(s.now().Add(full)).UTC().Format(time.RFC3339))
	if ok {
		s.count(func(st *Stats) { st.BudgetSpent++ })
		return true
	}
	s.count(func(st *Stats) { st.RateLimited++ })
	h.Set("retry-after", strconv.FormatInt(int64(max(math.Ceil(next.Seconds()), 1)), 10))
	writeError(w, http.StatusTooManyRequests, "rate_limit_error", "Compliance API rate limit of "+strconv.Itoa(s.budget.perMinute)+
		" requests per minute per parent organization has been exceeded. Please retry after the time given in the retry-after header.")
	return false
}

// ceilTime rounds t up to a whole second: a client that waits until the
// reset it was told finds the budget full.
func ceilTime(t time.Time) time.Time {
	if t.Nanosecond() == 0 {
		return t
	}
	return t.Truncate(time.Second).Add(time.Second)
}
