package openaisim

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// jw appends JSON to a byte slice without reflection. key, elem and open
// insert the separating comma themselves: none at the start, after '{', '[',
// ':' or another comma.
type jw struct{ b []byte }

func (w *jw) raw(s string) { w.b = append(w.b, s...) }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		if c := w.b[n-1]; c != '{' && c != '[' && c != ':' && c != ',' {
			w.b = append(w.b, ',')
		}
	}
}

// key writes the (comma and) "k": prefix of a field.
func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// tag writes "type":"typ","typ": — the start of an object whose type names
// the member that holds its details (an actor, an API key's owner).
func (w *jw) tag(typ string) { w.kstr("type", typ); w.key(typ) }

// elem prepares the next array element.
func (w *jw) elem() { w.sep() }

func (w *jw) open()   { w.sep(); w.b = append(w.b, '{') }
func (w *jw) close()  { w.b = append(w.b, '}') }
func (w *jw) openA()  { w.sep(); w.b = append(w.b, '[') }
func (w *jw) closeA() { w.b = append(w.b, ']') }

// str appends s quoted; the simulator writes only valid UTF-8, the one
// thing AppendQuote reports.
func (w *jw) str(s string) { w.b, _ = jsontext.AppendQuote(w.b, s) }
func (w *jw) int(v int64)  { w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) bool(v bool)  { w.b = strconv.AppendBool(w.b, v) }
func (w *jw) null()        { w.b = append(w.b, "null"...) }

func (w *jw) kstr(k, v string) { w.key(k); w.str(v) }
func (w *jw) kint(k string, v int64) {
	w.key(k)
	w.int(v)
}
func (w *jw) kbool(k string, v bool) { w.key(k); w.bool(v) }

// kid writes "k":"<prefix><n random base62>".
func (w *jw) kid(k, prefix string, r *rng, n int) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = append(w.b, prefix...)
	w.b = r.appendAlnum(w.b, n)
	w.b = append(w.b, '"')
}

// idstr returns "<prefix><n random base62>".
func idstr(prefix string, r *rng, n int) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	return string(r.appendAlnum(b, n))
}
