package chatgptsim

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The download host: it serves what a signed URL names, to whoever holds
// the URL. Like a storage service, it refuses a request that carries an
// Authorization header as well as a signature (400): a client that
// follows the redirect with all its headers is told so, and Stats counts
// the key it leaked.

// chunk is the size of the writes of a download: the memory a download
// holds, whatever the file's length.
const chunk = 32 << 10

func (s *Server) downloadRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /exports/{name}", s.serveDownload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		plainError(w, http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.")
	})
	return s.serve(mux, func(p string) Endpoint {
		if p == "GET /exports/{name}" {
			return EndpointDownload
		}
		return EndpointOther
	})
}

// plainError writes a storage service's error: a code and a message, as
// text.
func plainError(w http.ResponseWriter, status int, code, msg string) {
	simkit.WriteBody(w, status, "text/plain; charset=utf-8", []byte(code+": "+msg+"\n"))
}

func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	if _, sent := r.Header["Authorization"]; sent {
		s.count(func(c *Stats) { c.AuthOnDownload++ })
		plainError(w, http.StatusBadRequest, "InvalidArgument", "Only one authentication mechanism is allowed: a signed URL must not carry an Authorization header.")
		return
	}
	id, ok := strings.CutSuffix(r.PathValue("name"), ".jsonl")
	ref, known := s.parseFileID(id)
	if !ok || !known {
		plainError(w, http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.")
		return
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("se"), 10, 64)
	if err != nil || subtle.ConstantTimeCompare([]byte(q.Get("sig")), []byte(s.sign(id, exp))) != 1 {
		plainError(w, http.StatusForbidden, "AuthenticationFailed", "Signature did not match.")
		return
	}
	if s.now().Unix() > exp {
		plainError(w, http.StatusForbidden, "AuthenticationFailed", "Signed expiry time has passed.")
		return
	}
	f, kind, draw := s.drawFault()
	if s.commonFault(w, r, f, kind) {
		return
	}
	s.stream(w, r, ref, kind, draw)
}

// stream sends file f as it renders it, in chunks, carrying out the
// download faults: a changed byte (digest), half the file then a dropped
// connection (truncate), or half the file under a matching, short
// Content-Length (short-length).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, f fileRef, kind FaultKind, draw uint64) {
	fs := s.sum(f)
	limit, declared := fs.size, fs.size
	corrupt := -1
	switch kind {
	case FaultDigest:
		corrupt = int(draw % uint64(fs.lines))
	case FaultTruncate:
		limit = fs.size / 2
	case FaultShortLength:
		limit, declared = fs.size/2, fs.size/2
	default:
		kind = ""
	}
	if kind != "" {
		s.count(func(c *Stats) { c.Faults[kind]++ })
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Content-Length", strconv.FormatInt(declared, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, 0, chunk+8<<10)
	var sent int64
	var failed bool
	write := func() bool {
		n, err := w.Write(buf)
		sent += int64(n)
		buf = buf[:0]
		failed = err != nil
		return !failed
	}
	line := 0
	var fl filler
	s.lines(f, &fl, nil, func(l []byte) bool {
		if line == corrupt {
			// A hex digit of the event_id, which follows `{"event_id":"`:
			// the line stays valid JSON of the same length.
			i := len(`{"event_id":"`)
			if l[i] == '0' {
				l[i] = '1'
			} else {
				l[i] = '0'
			}
		}
		line++
		if room := limit - sent - int64(len(buf)); int64(len(l)) >= room {
			buf = append(buf, l[:room]...)
			return false
		}
		buf = append(buf, l...)
		return len(buf) < chunk || write()
	})
	if failed || (len(buf) > 0 && !write()) {
		return // the client went away
	}
	switch kind {
	case FaultTruncate:
		http.NewResponseController(w).Flush() //nolint:errcheck // best effort: the cut is the point
		panic(http.ErrAbortHandler)
	case "":
		s.count(func(c *Stats) { c.FilesServed++; c.LinesServed += int64(fs.lines) })
	}
}
