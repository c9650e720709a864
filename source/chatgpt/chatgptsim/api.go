package chatgptsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// scope is what a Compliance API key must hold.
const scope = "chatgpt.enterprise.compliance_export.read"

// defaultLimit is the page size when limit is absent. The API does not
// publish its default; collectors always send one.
const defaultLimit = 50

func (s *Server) apiRoutes() http.Handler {
	mux := http.NewServeMux()
	routes := map[string]Endpoint{}
	handle := func(pattern string, ep Endpoint, h http.HandlerFunc) {
		mux.HandleFunc(pattern, h)
		routes[pattern] = ep
	}
	for _, kind := range []string{"workspaces", "organizations"} {
		handle("GET /v1/compliance/"+kind+"/{principal}/logs", EndpointList, s.serveList)
		handle("GET /v1/compliance/"+kind+"/{principal}/logs/{file_id}", EndpointFile, s.serveFile)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "No route for "+r.Method+" "+r.URL.Path+".")
	})
	return s.serve(mux, func(p string) Endpoint {
		if ep, ok := routes[p]; ok {
			return ep
		}
		return EndpointOther
	})
}

// authorized checks the bearer key and its scope, answering 401 or 403
// when they do not do.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || key == "":
		writeError(w, http.StatusUnauthorized, "missing_api_key", "Missing bearer authentication in header.")
	case slices.Contains(s.opts.UnscopedKeys, key):
		writeError(w, http.StatusForbidden, "insufficient_scope", "The API key is missing the scope "+scope+".")
	case s.opts.APIKey != "" && key != s.opts.APIKey:
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided.")
	default:
		return true
	}
	return false
}

// principal checks the workspace or organization id of the path.
func (s *Server) principal(w http.ResponseWriter, r *http.Request) bool {
	id := r.PathValue("principal")
	if strings.HasPrefix(r.URL.Path, "/v1/compliance/workspaces/") && id == s.workspaceID ||
		strings.HasPrefix(r.URL.Path, "/v1/compliance/organizations/") && id == s.orgID {
		return true
	}
	writeError(w, http.StatusNotFound, "not_found", "No workspace or organization "+id+".")
	return false
}

// admit checks the key and the path's principal, then draws the request's
// fault and carries out the common ones; false when it answered. kind is
// the fault drawn, for the route to carry out its own.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (kind FaultKind, ok bool) {
	if !s.authorized(w, r) || !s.principal(w, r) {
		return "", false
	}
	f, kind, _ := s.drawFault()
	if s.commonFault(w, r, f, kind) {
		return kind, false
	}
	return kind, true
}

// serveList lists files of one event type, oldest end_time first.
//
// after is inclusive: the API documents it as strictly later, but
// collectors see the file whose end_time equals after again, and so does
// a client of this simulator; it must drop that file by id. A page of
// limit n therefore brings at most n-1 new files after the first, and
// limit=1 cannot move past a boundary: that is the API as observed. before
// (optional, exclusive) bounds end_time from above.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	kind, ok := s.admit(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	typ := q.Get("event_type")
	if typ == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "The event_type query parameter is required.")
		return
	}
	if !typeName.MatchString(typ) {
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid event_type "+strconv.Quote(typ)+".")
		return
	}
	var bounds [2]int64
	for i, name := range []string{"after", "before"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "Invalid "+name+" "+strconv.Quote(v)+": want an ISO 8601 time with a zone, e.g. 2026-07-09T10:00:00Z.")
			return
		}
		bounds[i] = t.UnixNano()
	}
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusUnprocessableEntity, "invalid_limit", "limit must be an integer between 1 and 100, got "+strconv.Quote(v)+".")
			return
		}
		limit = n
	}
	var page []fileRef
	var more bool
	if t, ok := s.typeIdx[typ]; ok { // an unknown type has no files
		page, more = s.list(t, bounds[0], bounds[1], s.now().UnixNano(), limit)
	}
	var b jw
	if kind == FaultMultiDoc {
		s.count(func(c *Stats) { c.Faults[kind]++ })
		h := len(page) / 2
		if len(page) < 2 {
			h = len(page)
		}
		s.appendPage(&b, page[:h], more || h < len(page), s.lastEnd(page[:h], page))
		b.B = append(b.B, '\n')
		s.appendPage(&b, page[h:], more, s.lastEnd(page, page))
	} else {
		s.appendPage(&b, page, more, s.lastEnd(page, page))
	}
	b.B = append(b.B, '\n')
	simkit.WriteBody(w, http.StatusOK, "application/json", b.B)
}

// lastEnd is the end_time of part's last file, or of whole's when part is
// empty; nil when both are.
func (s *Server) lastEnd(part, whole []fileRef) *fileRef {
	switch {
	case len(part) > 0:
		return &part[len(part)-1]
	case len(whole) > 0:
		return &whole[len(whole)-1]
	}
	return nil
}

func (s *Server) appendPage(b *jw, page []fileRef, more bool, last *fileRef) {
	b.Open()
	b.Key("data")
	b.OpenArray()
	for _, f := range page {
		b.Open()
		b.KStr("id", s.fileID(f))
		b.KStr("event_type", s.types[f.t])
		b.Key("end_time")
		b.Str(s.endTime(f))
		if !s.opts.OmitFileDetails {
			fs := s.sum(f)
			b.KStr("file_name", s.fileName(f))
			b.KInt("file_size", fs.size)
			b.Key("file_sha256")
			b.Sep()
			b.B = append(b.B, '"')
			b.B = appendHexBytes(b.B, fs.sum[:])
			b.B = append(b.B, '"')
		}
		b.Close()
	}
	b.CloseArray()
	b.KBool("has_more", more)
	b.Key("last_end_time")
	if last == nil {
		b.Null()
	} else {
		b.Str(s.endTime(*last))
	}
	b.Close()
}

func (s *Server) endTime(f fileRef) string {
	return time.Unix(0, s.endNs(f.t, f.slot)).UTC().Format(time.RFC3339)
}

func appendHexBytes(b, x []byte) []byte {
	for _, c := range x {
		b = append(b, hexLower[c>>4], hexLower[c&15])
	}
	return b
}

// serveFile answers a download request with 307 to a signed URL on the
// download host, valid for URLTTL on the simulated clock.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.admit(w, r); !ok {
		return
	}
	id := r.PathValue("file_id")
	ref, ok := s.parseFileID(id)
	now := s.now()
	if !ok || !s.visible(ref, now.UnixNano()) {
		writeError(w, http.StatusNotFound, "not_found", "No log file "+strconv.Quote(id)+".")
		return
	}
	ttl := s.opts.URLTTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	exp := now.Add(ttl).Unix()
	s.baseMu.Lock()
	base := s.downloadBase
	s.baseMu.Unlock()
	w.Header().Set("Location", base+"/exports/"+id+".jsonl?se="+strconv.FormatInt(exp, 10)+"&sig="+s.sign(id, exp))
	w.WriteHeader(http.StatusTemporaryRedirect)
}
