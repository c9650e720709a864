package anthropicsim

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// jw appends JSON to a byte slice without reflection, so that a page of
// 5,000 activities is rendered into one buffer. key and open insert the
// separating comma themselves: none at the start, after '{', '[', ':' or
// another comma.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		if c := w.b[n-1]; c != '{' && c != '[' && c != ':' && c != ',' {
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
func (w *jw) str(s string)           { w.sep(); w.b, _ = jsontext.AppendQuote(w.b, s) }
func (w *jw) null()                  { w.sep(); w.b = append(w.b, "null"...) }
func (w *jw) int(v int64)            { w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) bool(v bool)            { w.sep(); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) kstr(k, v string)       { w.key(k); w.str(v) }
func (w *jw) kint(k string, v int64) { w.key(k); w.int(v) }
func (w *jw) kbool(k string, v bool) { w.key(k); w.bool(v) }
func (w *jw) knull(k string)         { w.key(k); w.null() }

// kraw appends a member whose value is already encoded.
func (w *jw) kraw(k string, v []byte) { w.key(k); w.b = append(w.b, v...) }
