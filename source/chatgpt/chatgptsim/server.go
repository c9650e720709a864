package chatgptsim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// Server is a simulated ChatGPT Enterprise workspace exporting compliance
// logs. Build it with New, serve it with Serve; it is safe for concurrent
// use.
type Server struct {
	opts     Options
	key      uint64
	now      func() time.Time
	types    []string
	typeIdx  map[string]int
	startNs  int64
	interval time.Duration
	phases   []int64
	lastSlot int64 // the last slot whose end_time is a valid instant
	big      map[fileRef]int
	ids      simkit.Feistel
	dir      directory
	signKey  [32]byte

	workspaceID, orgID string

	sumMu sync.Mutex
	sums  map[fileRef]fileSum

	faults   atomic.Pointer[Faults]
	faultSeq atomic.Uint64
	delays   *simkit.Delays

	statsMu sync.Mutex
	stats   Stats

	api, download http.Handler
	servers       simkit.Servers

	baseMu       sync.Mutex
	downloadBase string // scheme and host of the signed URLs
}

// New builds a simulated workspace. It panics on invalid Options (see
// Options.Validate): a simulator is built by tests, which want to fail
// loudly and at once.
func New(o Options) *Server {
	if err := o.Validate(); err != nil {
		panic(err)
	}
	s := &Server{opts: o, key: simkit.Mix(uint64(o.Seed) ^ 0xc4a7), now: o.Now, sums: map[fileRef]fileSum{}, big: map[fileRef]int{}}
	if s.now == nil {
		s.now = time.Now
	}
	s.types = o.Types
	if len(s.types) == 0 {
		s.types = KnownTypes
	}
	s.types = append([]string(nil), s.types...)
	s.typeIdx = map[string]int{}
	for i, t := range s.types {
		s.typeIdx[t] = i
	}
	s.interval = o.Interval
	if s.interval == 0 {
		s.interval = 10 * time.Minute
	}
	start := o.Start
	if start.IsZero() {
		start = s.now().Add(-24 * time.Hour).Truncate(s.interval)
	}
	s.startNs = start.Truncate(time.Second).UnixNano()
	for t := range s.types {
		s.phases = append(s.phases, s.phase(t))
	}
	s.lastSlot = min(maxSlot, (math.MaxInt64-s.startNs)/int64(s.interval)-2)
	s.ids = newFeistel(simkit.Hash(s.key, 0x1d))
	s.dir = newDirectory(s.key)
	s.signKey = sha256.Sum256(strconv.AppendUint([]byte("sign"), s.key, 16))
	r := simkit.NewRNG(simkit.Hash(s.key, 0x3c))
	s.workspaceID = o.WorkspaceID
	if s.workspaceID == "" {
		s.workspaceID = string(simkit.AppendUUID(nil, r.Next(), r.Next()))
	}
	s.orgID = o.OrgID
	if s.orgID == "" {
		s.orgID = "org-" + string(r.AppendFrom(nil, alnum, 24))
	}
	for _, b := range o.BigFiles {
		if t, ok := s.typeIdx[b.Type]; ok {
			s.big[s.nthFile(t, b.Index)] = b.Lines
		}
	}
	s.delays = simkit.NewDelays(o.Latency, simkit.Hash(s.key, 0x1a7))
	f := o.Faults.withDefaults()
	s.faults.Store(&f)
	s.stats = newStats()
	s.api = s.apiRoutes()
	s.download = s.downloadRoutes()
	return s
}

// nthFile is the file at index n of type t's listing order.
func (s *Server) nthFile(t, n int) fileRef {
	for slot := int64(0); ; slot++ {
		k := s.filesIn(t, slot)
		if n < k {
			return fileRef{t, slot, n}
		}
		n -= k
	}
}

// WorkspaceID is the workspace's id (a UUID), the principal of every
// record.
func (s *Server) WorkspaceID() string { return s.workspaceID }

// OrgID is the organization's id ("org-...").
func (s *Server) OrgID() string { return s.orgID }

// SetFaults replaces the faults injected from now on.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("chatgptsim: %w", err)
	}
	f = f.withDefaults()
	s.faults.Store(&f)
	return nil
}

// Serve serves the API on api and the signed downloads on download, in the
// background, until Close. The caller binds both listeners (a test at
// 127.0.0.1:0) and hands them over; Serve returns the API's base URL, e.g.
// "http://127.0.0.1:41234/v1/compliance". The download host's address is
// download.Addr(), which signed URLs name.
func (s *Server) Serve(api, download net.Listener) (baseURL string, err error) {
	// The base is named before the first request can ask for it.
	s.baseMu.Lock()
	defer s.baseMu.Unlock()
	if !s.servers.Start(simkit.Listener{Listener: api, Handler: s.api}, simkit.Listener{Listener: download, Handler: s.download}) {
		return "", errors.New("chatgptsim: already serving")
	}
	s.downloadBase = "http://" + download.Addr().String()
	return "http://" + api.Addr().String() + "/v1/compliance", nil
}

// Close stops both servers and closes their listeners and connections. It
// is safe without Serve and safe twice.
func (s *Server) Close() error { return s.servers.Close() }

// Handler serves the API (GET /v1/compliance/...), for a caller that runs
// its own http.Server; DownloadHandler serves the signed URLs, whose
// scheme and host SetDownloadBase names. Serve wires both.
func (s *Server) Handler() http.Handler { return s.api }

// DownloadHandler serves the signed download URLs; see Handler.
func (s *Server) DownloadHandler() http.Handler { return s.download }

// SetDownloadBase names the scheme and host of the signed URLs
// ("http://host:port"), for a caller serving DownloadHandler itself.
func (s *Server) SetDownloadBase(base string) {
	s.baseMu.Lock()
	s.downloadBase = base
	s.baseMu.Unlock()
}

// Endpoint names a route in Stats.
type Endpoint string

// The routes.
const (
	EndpointList     Endpoint = "list"     // GET .../logs
	EndpointFile     Endpoint = "file"     // GET .../logs/{id}: the redirect
	EndpointDownload Endpoint = "download" // the signed URL on the download host
	EndpointOther    Endpoint = "other"    // anything else, on either host
)

// StatusClientGone is the status Stats counts for a request whose client
// went away before it was answered (nginx's 499).
const StatusClientGone = simkit.StatusClientGone

// Stats are the simulator's counters.
type Stats struct {
	// Requests counts requests by route and status (StatusClientGone for
	// a client that gave up waiting).
	Requests map[Endpoint]map[int]int64
	// AuthOnDownload counts requests to the download host that carried an
	// Authorization header: a client that forwards its key there leaks
	// it. Each is refused 400.
	AuthOnDownload int64
	// Faults counts injected faults by kind.
	Faults map[FaultKind]int64
	// FilesServed and LinesServed count downloads sent whole and
	// unaltered, and their lines.
	FilesServed, LinesServed int64
}

func newStats() Stats {
	return Stats{Requests: map[Endpoint]map[int]int64{}, Faults: map[FaultKind]int64{}}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := s.stats
	out.Requests = map[Endpoint]map[int]int64{}
	for e, m := range s.stats.Requests {
		out.Requests[e] = maps.Clone(m)
	}
	out.Faults = maps.Clone(s.stats.Faults)
	return out
}

func (s *Server) count(fn func(st *Stats)) {
	s.statsMu.Lock()
	fn(&s.stats)
	s.statsMu.Unlock()
}

// serve wraps a host's routes: it counts every request by route and
// status (also one that panics to drop its connection), stamps the Date
// from the simulated clock (clients read the API's clock from it) and
// waits out the latency draw before anything else.
func (s *Server) serve(mux *http.ServeMux, route func(pattern string) Endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		ep := route(pattern)
		// The status is counted as the handler writes its header, before
		// the client can read the answer: a client that got its answer and
		// then reads Stats finds it counted.
		rec := simkit.NewStatusWriter(w, func(code int) {
			s.count(func(c *Stats) {
				if c.Requests[ep] == nil {
					c.Requests[ep] = map[int]int64{}
				}
				c.Requests[ep][code]++
			})
		})
		defer rec.Done(r)
		if !s.delays.Wait(r) {
			return
		}
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		mux.ServeHTTP(rec, r)
	})
}

// drawFault decides, from the seeded sequence, whether this request is
// faulted and how; draw is a further number for the fault's variant.
func (s *Server) drawFault() (f *Faults, kind FaultKind, draw uint64) {
	f = s.faults.Load()
	kind, draw = simkit.NextFault(&s.faultSeq, s.key, f.Rate, f.Kinds)
	return f, kind, draw
}

// commonFault answers the faults that apply to any request; true when it
// answered (the request is done). A slow fault delays, then lets the
// request go on.
func (s *Server) commonFault(w http.ResponseWriter, r *http.Request, f *Faults, kind FaultKind) bool {
	h := w.Header()
	switch kind {
	case Fault429, Fault429Bare:
		if kind == Fault429 {
			h.Set("Retry-After", strconv.FormatInt(int64((f.RetryAfter+time.Second-1)/time.Second), 10))
		}
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests. Please slow down.")
	case Fault500:
		writeError(w, http.StatusInternalServerError, "internal_error", "An internal error occurred.")
	case Fault502:
		simkit.WriteGatewayPage(w, http.StatusBadGateway, "502 Bad Gateway")
	case Fault503:
		h.Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "service_unavailable", "The service is temporarily unavailable.")
	case FaultSlow:
		s.count(func(c *Stats) { c.Faults[kind]++ })
		return !simkit.Sleep(r, f.SlowDelay)
	default:
		return false
	}
	s.count(func(c *Stats) { c.Faults[kind]++ })
	return true
}

// writeError writes an error body. The API's error shape is not published;
// this one names a code and a message.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b jw
	b.Open()
	b.Key("error")
	b.Open()
	b.KStr("code", code)
	b.KStr("message", msg)
	b.Close()
	b.Close()
	b.B = append(b.B, '\n')
	simkit.WriteBody(w, status, "application/json", b.B)
}

// sign is the signature of a download URL for file id expiring at exp
// (Unix seconds).
func (s *Server) sign(id string, exp int64) string {
	h := sha256.New()
	h.Write(s.signKey[:])
	h.Write([]byte(id))
	h.Write(strconv.AppendInt([]byte{'|'}, exp, 10))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
