package simkit

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// JSON appends JSON to B without reflection, so that a simulator renders a
// page, or a file line by line, into one buffer. Key, Open and every value
// insert the separating comma themselves: none at the start, after '{',
// '[', ':', another comma, or a newline (which ends a JSONL line).
type JSON struct{ B []byte }

// Sep writes the comma before the next member or element, if one is due.
func (w *JSON) Sep() {
	if n := len(w.B); n > 0 {
		if c := w.B[n-1]; c != '{' && c != '[' && c != ':' && c != ',' && c != '\n' {
			w.B = append(w.B, ',')
		}
	}
}

// Key writes the (comma and) "k": prefix of a member.
func (w *JSON) Key(k string) {
	w.Sep()
	w.B = append(w.B, '"')
	w.B = append(w.B, k...)
	w.B = append(w.B, '"', ':')
}

func (w *JSON) Open()       { w.Sep(); w.B = append(w.B, '{') }
func (w *JSON) Close()      { w.B = append(w.B, '}') }
func (w *JSON) OpenArray()  { w.Sep(); w.B = append(w.B, '[') }
func (w *JSON) CloseArray() { w.B = append(w.B, ']') }

// Raw appends s as it is: JSON the caller wrote.
func (w *JSON) Raw(s string) { w.B = append(w.B, s...) }

// Str appends s quoted; a simulator writes only valid UTF-8, the one thing
// AppendQuote reports.
func (w *JSON) Str(s string)           { w.Sep(); w.B, _ = jsontext.AppendQuote(w.B, s) }
func (w *JSON) StrBytes(s []byte)      { w.Sep(); w.B, _ = jsontext.AppendQuote(w.B, s) }
func (w *JSON) Null()                  { w.Sep(); w.B = append(w.B, "null"...) }
func (w *JSON) Int(v int64)            { w.Sep(); w.B = strconv.AppendInt(w.B, v, 10) }
func (w *JSON) Bool(v bool)            { w.Sep(); w.B = strconv.AppendBool(w.B, v) }
func (w *JSON) KStr(k, v string)       { w.Key(k); w.Str(v) }
func (w *JSON) KInt(k string, v int64) { w.Key(k); w.Int(v) }
func (w *JSON) KBool(k string, v bool) { w.Key(k); w.Bool(v) }
func (w *JSON) KNull(k string)         { w.Key(k); w.Null() }

// KRaw appends a member whose value is already encoded.
func (w *JSON) KRaw(k string, v []byte) { w.Key(k); w.B = append(w.B, v...) }
