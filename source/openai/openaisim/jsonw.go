package openaisim

import "github.com/auditrelay/auditrelay/source/internal/simkit"

// jw is simkit's JSON writer with the shapes of this API: a member named
// by its object's type, an array element, a random id.
type jw struct{ simkit.JSON }

// tag writes "type":"typ","typ": — the start of an object whose type names
// the member that holds its details (an actor, an API key's owner).
func (w *jw) tag(typ string) { w.KStr("type", typ); w.Key(typ) }

// elem prepares the next array element.
func (w *jw) elem() { w.Sep() }

// kid writes "k":"<prefix><n random base62>".
func (w *jw) kid(k, prefix string, r *simkit.RNG, n int) {
	w.Key(k)
	w.B = append(w.B, '"')
	w.B = append(w.B, prefix...)
	w.B = appendAlnum(r, w.B, n)
	w.B = append(w.B, '"')
}

// idstr returns "<prefix><n random base62>".
func idstr(prefix string, r *simkit.RNG, n int) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	return string(appendAlnum(r, b, n))
}
