// Package jsonread is the one-pass reader every vendor schema package
// builds its Fields with: it walks an object with a jsontext decoder and
// keeps the members asked for as slices of the input, checking the bytes
// on the way. Keys match exactly, and a key given twice counts with its
// last value, as encoding/json reads it into a map (each vendor's fuzz
// test holds its reader to that).
package jsonread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Text is one JSON value as the input writes it, a slice of its bytes: a
// quoted string, a number, true, false, null, or a whole object or array
// where the reader does not look inside; nil when the member is absent.
type Text []byte

// Str is a JSON string's value, "" for anything else (null included).
func (t Text) Str() string {
	if len(t) < 2 || t[0] != '"' {
		return ""
	}
	if bytes.IndexByte(t, '\\') < 0 {
		return string(t[1 : len(t)-1])
	}
	s, _ := jsontext.AppendUnquote(nil, t) // what can be read of a string with invalid UTF-8
	return string(s)
}

// Num is a JSON number's value; ok is false for anything else.
func (t Text) Num() (float64, bool) {
	if len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseFloat(string(t), 64)
	return n, err == nil
}

// Time is an RFC 3339 string's instant, in UTC. An absent or unreadable
// value is an error that names member, so that a rejected record says
// which of its members is wrong.
func (t Text) Time(member string) (time.Time, error) {
	if t == nil {
		return time.Time{}, errors.New("no " + member)
	}
	s := t.Str()
	v, err := time.Parse(time.RFC3339Nano, s)
	if s == "" || err != nil {
		return time.Time{}, fmt.Errorf("%s %s is not an RFC 3339 time", member, t)
	}
	return v.UTC(), nil
}

// ErrNotObject is the error of a value that is valid JSON but not an
// object, where a record must be one.
var ErrNotObject = errors.New("not a JSON object")

// ErrInvalid is the error of bytes that are not one JSON value.
var ErrInvalid = errors.New("not valid JSON")

// errMore is the error of an object followed by more than white space.
var errMore = errors.New("not valid JSON: more after the object")

// decoderOptions read what encoding/json reads: repeated names (the last
// counts) and strings that are not valid UTF-8.
var decoderOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// NewDecoder returns a decoder of in that reads what encoding/json reads,
// for ReadObject and for a source that reads a page of records in one pass.
// jsontext reads a bytes.Buffer in place; any other reader is copied into
// a buffer of its own first, which costs an allocation and a copy per
// event.
func NewDecoder(in []byte) *jsontext.Decoder {
	return jsontext.NewDecoder(bytes.NewBuffer(in), decoderOptions...)
}

// ReadObject checks that raw is one JSON object (white space around it
// allowed) and reads it with read, in the same pass: read gets a decoder
// whose next value is the object, and raw. On any error the fields are
// the zero F: ErrNotObject for a valid value of another kind, ErrInvalid
// when read fails or raw is not JSON.
func ReadObject[F any](raw []byte, read func(d *jsontext.Decoder, in []byte) (F, error)) (F, error) {
	var zero F
	d := NewDecoder(raw)
	if d.PeekKind() != '{' {
		if _, err := d.ReadValue(); err != nil {
			return zero, ErrInvalid
		}
		if _, err := d.ReadToken(); err != io.EOF {
			return zero, ErrInvalid
		}
		return zero, ErrNotObject
	}
	f, err := read(d, raw)
	if err != nil {
		return zero, ErrInvalid
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return zero, errMore
	}
	return f, nil
}

// Field is a member to keep: its name and where its value goes. It is a
// plain struct type, not a defined one, so that a reader lists the members
// it keeps as {name, &dst} pairs, the way one writes a table.
type Field = struct {
	Name string
	Dst  *Text
}

// Object reads the object that comes next in d, whose input is in, into
// fields, each set anew: an object given twice counts with its last value,
// whole. A value that is not an object is skipped.
func Object(d *jsontext.Decoder, in []byte, fields ...Field) error {
	for _, f := range fields {
		*f.Dst = nil
	}
	_, err := Members(d, func(name []byte) error { return Pick(d, in, name, fields) })
	return err
}

// Pick reads the value of the member name into the field of that name, or
// skips it.
func Pick(d *jsontext.Decoder, in []byte, name []byte, fields []Field) (err error) {
	for _, f := range fields {
		if string(name) == f.Name {
			*f.Dst, err = Value(d, in)
			return err
		}
	}
	return d.SkipValue()
}

// Members reads the object that comes next in d, handing each member's
// name (unquoted) to fn, which reads or skips its value. A value that is
// not an object is skipped: ok is false.
func Members(d *jsontext.Decoder, fn func(name []byte) error) (ok bool, err error) {
	if d.PeekKind() != '{' {
		return false, d.SkipValue()
	}
	if _, err := d.ReadToken(); err != nil {
		return false, err
	}
	for d.PeekKind() == '"' {
		q, err := d.ReadValue()
		if err != nil {
			return false, err
		}
		name := q[1 : len(q)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			name, _ = jsontext.AppendUnquote(nil, q)
		}
		if err := fn(name); err != nil {
			return false, err
		}
	}
	_, err = d.ReadToken() // '}', or the error of what stands there instead
	return err == nil, err
}

// Value reads the value that comes next in d as a slice of in, its
// capacity cut so that appending to it cannot write into in.
func Value(d *jsontext.Decoder, in []byte) (Text, error) {
	v, err := d.ReadValue()
	if err != nil {
		return nil, err
	}
	end := int(d.InputOffset())
	return Text(in[end-len(v) : end : end]), nil
}

// ClonePaths copies a package's table of member paths for a caller, who
// may keep and change the copy; nil stays nil.
func ClonePaths[P ~[]string](ps []P) []P {
	if ps == nil {
		return nil
	}
	out := make([]P, len(ps))
	for i, p := range ps {
		out[i] = append(P(nil), p...)
	}
	return out
}
