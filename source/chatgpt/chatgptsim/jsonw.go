package chatgptsim

import (
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// jw is simkit's JSON writer with the values of this API: its
// timestamps, UUIDs and ids. It renders a file line by line in constant
// memory.
type jw struct{ simkit.JSON }

// time appends t as the API writes timestamps: RFC 3339, UTC,
// microseconds, Z.
func (w *jw) time(t time.Time) {
	w.Sep()
	w.B = append(w.B, '"')
	w.B = t.UTC().AppendFormat(w.B, "2006-01-02T15:04:05.000000Z")
	w.B = append(w.B, '"')
}

// uuid appends a quoted UUID made of hi and lo.
func (w *jw) uuid(hi, lo uint64) {
	w.Sep()
	w.B = append(w.B, '"')
	w.B = simkit.AppendUUID(w.B, hi, lo)
	w.B = append(w.B, '"')
}

// id appends "prefix<n characters of set from r>".
func (w *jw) id(prefix string, r *simkit.RNG, set string, n int) {
	w.Sep()
	w.B = append(w.B, '"')
	w.B = append(w.B, prefix...)
	w.B = r.AppendFrom(w.B, set, n)
	w.B = append(w.B, '"')
}
