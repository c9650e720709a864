package chatgptsim

import (
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// jw appends JSON to a byte slice without reflection or allocation, so
// that a file of any length is rendered line by line in constant memory.
// key and open insert the separating comma themselves: none at the start,
// after '{', '[', ':' or another comma.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		if c := w.b[n-1]; c != '{' && c != '[' && c != ':' && c != ',' && c != '\n' {
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) open()   { w.sep(); w.b = append(w.b, '{') }
func (w *jw) close()  { w.b = append(w.b, '}') }
func (w *jw) openA()  { w.sep(); w.b = append(w.b, '[') }
func (w *jw) closeA() { w.b = append(w.b, ']') }

// str appends s quoted; the simulator writes only valid UTF-8, the one
// thing AppendQuote reports.
func (w *jw) str(s string)     { w.sep(); w.b, _ = jsontext.AppendQuote(w.b, s) }
func (w *jw) strB(s []byte)    { w.sep(); w.b, _ = jsontext.AppendQuote(w.b, s) }
func (w *jw) null()            { w.sep(); w.b = append(w.b, "null"...) }
func (w *jw) int(v int64)      { w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) bool(v bool)      { w.sep(); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) kstr(k, v string) { w.key(k); w.str(v) }
func (w *jw) kint(k string, v int64) {
	w.key(k)
	w.int(v)
}
func (w *jw) kbool(k string, v bool) { w.key(k); w.bool(v) }

// time appends t as the API writes timestamps: RFC 3339, UTC,
// microseconds, Z.
func (w *jw) time(t time.Time) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, "2006-01-02T15:04:05.000000Z")
	w.b = append(w.b, '"')
}

// uuid appends a quoted UUID made of hi and lo.
func (w *jw) uuid(hi, lo uint64) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = appendUUID(w.b, hi, lo)
	w.b = append(w.b, '"')
}

// id appends "prefix<n characters of set from r>".
func (w *jw) id(prefix string, r *rng, set string, n int) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, prefix...)
	w.b = r.appendFrom(w.b, set, n)
	w.b = append(w.b, '"')
}
