package openaisim

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The two list faults that the list handlers carry out themselves, because
// they change what the page holds rather than how it is delivered.

// oversizeRecords is how many records an oversize answer holds: enough
// (some 200 MB) that a client which reads a whole body into memory, or
// trusts a page to hold at most limit records, visibly suffers.
const oversizeRecords = 300_000

// oversizeID is added to the record number to index the copies' ids: far
// above any real index, so the ids are unique, never those of real records,
// and refused as cursors.
const oversizeID = 1 << 62

// streamChunk is the size of the writes of an oversize answer, which is the
// memory it holds whatever its length.
const streamChunk = 32 << 10

// streamResult is how an oversize answer ended.
type streamResult struct {
	records  int   // records rendered
	bytes    int64 // body bytes written
	maxWrite int   // the largest single write
	err      error // why it stopped early; nil when the body was complete
}

// listFault is the list fault a handler must carry out, "" for none.
func listFault(w http.ResponseWriter) FaultKind {
	if b, ok := w.(*buffered); ok {
		return b.fault
	}
	return ""
}

// loopPage prepares a loop answer: it records that the handler honours it
// and returns r without its after cursor, so that the handler computes the
// first page of the query.
func loopPage(w http.ResponseWriter, r *http.Request) *http.Request {
	w.(*buffered).looped = true
	q := r.URL.Query()
	if !q.Has("after") {
		return r
	}
	q.Del("after")
	r2 := r.WithContext(r.Context())
	u := *r.URL
	u.RawQuery = q.Encode()
	r2.URL = &u
	return r2
}

// streamOversize writes an oversize answer to the client as it renders it:
// record k is render(k) (whose id is id(k)), and extra may append fields
// to the envelope. It stops at the first failed write or when the client
// has gone, so an abandoned answer costs nothing more.
func (s *Server) streamOversize(w http.ResponseWriter, r *http.Request, render func(b []byte, k int) []byte, id func(k int) string, extra func(b *jw, lastID string)) {
	bw := w.(*buffered)
	bw.streamed = true
	s.countFault(FaultOversize)
	out := bw.out
	h := out.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Set("openai-processing-ms", strconv.FormatInt(time.Since(bw.begin).Milliseconds()+1, 10))
	s.stampDate(h)
	out.WriteHeader(http.StatusOK)

	var res streamResult
	defer func() {
		if s.streamDone != nil {
			s.streamDone(res)
		}
	}()
	buf := make([]byte, 0, streamChunk+8<<10)
	var one []byte
	write := func() bool {
		if err := r.Context().Err(); err != nil {
			res.err = err
			return false
		}
		n, err := out.Write(buf)
		res.bytes += int64(n)
		res.maxWrite = max(res.maxWrite, len(buf))
		buf = buf[:0]
		if err != nil {
			res.err = err
			return false
		}
		return true
	}
	buf = append(buf, `{"object":"list","data":[`...)
	for k := 0; k < oversizeRecords; k++ {
		// Rendered apart: jw puts the separating comma itself, and it cannot
		// see the previous record once buf has been written out.
		one = render(one[:0], k)
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, one...)
		res.records++
		if len(buf) >= streamChunk && !write() {
			return
		}
	}
	last := id(oversizeRecords - 1)
	b := jw{simkit.JSON{B: buf}}
	b.Raw(`],"first_id":`)
	b.Str(id(0))
	b.Raw(`,"last_id":`)
	b.Str(last)
	b.Raw(`,"has_more":true`)
	if extra != nil {
		extra(&b, last)
	}
	b.Raw("}\n")
	buf = b.B
	write()
}

// oversizeFrom streams an oversize answer made of the records of page (in
// order, under their own ids), then copies of them under new ids; for an
// empty page, copies of the newest limit records below count. render(b, i,
// id) appends record i under the id of index id, and idOf(i, id) is that
// id. It returns false, leaving the answer to the caller, when there is no
// record at all to copy.
func (s *Server) oversizeFrom(w http.ResponseWriter, r *http.Request, page []int64, count int64, limit int,
	render func(b []byte, i, id int64) []byte, idOf func(i, id int64) string, extra func(b *jw, lastID string)) bool {
	src := append([]int64(nil), page...)
	own := len(src) // the first own records keep their ids
	if own == 0 {
		for i := count - 1; i >= 0 && i >= count-int64(limit); i-- {
			src = append(src, i)
		}
	}
	if len(src) == 0 {
		return false
	}
	// Each source record is rendered once; a copy is that rendering with
	// the id replaced (ids of one kind have one length), which keeps the
	// stream as fast as the network rather than the renderer.
	tmpl := make([][]byte, len(src))
	idAt := make([]int, len(src))  // offset of the id in tmpl, -1 if absent
	idLen := make([]int, len(src)) // its length
	for j, i := range src {
		tmpl[j] = render(nil, i, i)
		id := idOf(i, i)
		idAt[j], idLen[j] = bytes.Index(tmpl[j], []byte(id)), len(id)
	}
	pick := func(k int) (j int, id int64) {
		j = k % len(src)
		if k < own {
			return j, src[j]
		}
		return j, oversizeID + int64(k)
	}
	var idb []byte
	s.streamOversize(w, r, func(b []byte, k int) []byte {
		j, id := pick(k)
		i := src[j]
		if id == i {
			return append(b, tmpl[j]...)
		}
		idb = append(idb[:0], idOf(i, id)...)
		if idAt[j] < 0 || len(idb) != idLen[j] {
			return render(b, i, id)
		}
		n := len(b)
		b = append(b, tmpl[j]...)
		copy(b[n+idAt[j]:], idb)
		return b
	}, func(k int) string {
		j, id := pick(k)
		return idOf(src[j], id)
	}, extra)
	return true
}
