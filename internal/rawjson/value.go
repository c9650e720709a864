package rawjson

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The transforms that map an event to another schema (ocsf, ecs) work on
// the decoded event, map[string]any, which pipeline.Event decodes once and
// encodes once. Through encoding/json's reflection that decode and encode
// were most of the default chain's cost (BenchmarkDefaultChain in
// transform/enrich, transform/README.md). DecodeObject and AppendValue do the same for
// the values such trees hold, without reflection. Both are held to
// encoding/json by FuzzValue: same tree, same bytes. Whatever they do not
// handle they report, and the caller asks encoding/json, which keeps the
// last word on every corner (deep nesting, trailing data, exotic types).

// DecodeObject decodes b, one JSON object, into what encoding/json's
// Decoder with UseNumber gives for it: map[string]any, []any, string,
// json.Number, bool and nil, the last of duplicated keys winning. ok is
// false when b is not one object this package accepts; the caller then
// decodes with encoding/json.
func DecodeObject(b []byte) (m map[string]any, ok bool) {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return nil, false
	}
	// One string of the whole event: the keys and values without escapes
	// are cut from it rather than each copied out on its own.
	d := decoder{scanner: s, src: string(b)}
	v, err := d.decode(0)
	s = d.scanner
	if err != nil || s.end() != nil {
		return nil, false
	}
	return v.(map[string]any), true
}

// decoder is the scanner of DecodeObject with the input as a string.
type decoder struct {
	scanner
	src string
}

// decode scans one value and returns it decoded.
func (s *decoder) decode(depth int) (any, error) {
	s.ws()
	if s.i >= len(s.b) {
		return nil, ErrSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.decodeObject(depth)
	case c == '[':
		return s.decodeArray(depth)
	case c == '"':
		return s.decodeString()
	case c == '-' || isDigit(c):
		start := s.i
		if err := s.num(); err != nil {
			return nil, err
		}
		return json.Number(s.src[start:s.i]), nil
	case c == 't':
		return true, s.lit("true")
	case c == 'f':
		return false, s.lit("false")
	case c == 'n':
		return nil, s.lit("null")
	}
	return nil, ErrSyntax
}

func (s *decoder) decodeString() (string, error) {
	start := s.i
	plain, err := s.str()
	if err != nil {
		return "", err
	}
	if plain {
		return s.src[start+1 : s.i-1], nil
	}
	return unquote(s.b[start:s.i]), nil
}

func (s *decoder) decodeObject(depth int) (map[string]any, error) {
	m := map[string]any{}
	err := s.members(depth, '}', func() error {
		s.ws()
		k, err := s.decodeString()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return ErrSyntax
		}
		s.i++
		v, err := s.decode(depth + 1)
		m[k] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (s *decoder) decodeArray(depth int) ([]any, error) {
	a := []any{}
	err := s.members(depth, ']', func() error {
		v, err := s.decode(depth + 1)
		a = append(a, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// members scans the object or array at s.i, calling one for each member
// or element, until the close byte. (The hot walks of RewriteSieved and
// Extract keep loops of their own: a call per member costs them.)
func (s *scanner) members(depth int, close byte, one func() error) error {
	if depth >= maxDepth {
		return ErrSyntax
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == close {
		s.i++
		return nil
	}
	for {
		if err := one(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return ErrSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			return nil
		default:
			return ErrSyntax
		}
	}
}

// AppendValue appends v encoded as encoding/json's Encoder with HTML
// escaping off encodes it (object keys sorted, no trailing newline). It
// handles the types decoded events and the mappings hold: nil, bool,
// string, json.Number, int, int64, float64, map[string]any, []any,
// map[string]string and []string. ok is false for any other type, an
// invalid json.Number or a float that is not finite; the caller then
// encodes with encoding/json, and dst's contents past its length are
// undefined.
func AppendValue(dst []byte, v any) (out []byte, ok bool) {
	e := encoders.Get().(*encoder)
	out, ok = e.value(dst, v, 0)
	clear(e.members[:cap(e.members)]) // hold on to none of the values
	e.members = e.members[:0]
	encoders.Put(e)
	return out, ok
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// encoder holds the members of the maps being written, the innermost
// last, so that sorting them allocates once per event rather than once per
// map, and a value is not looked up again after the sort.
type encoder struct {
	members []member
}

type member struct {
	k string
	v any
}

// sorted appends m's members to e.members, sorted by key as encoding/json
// writes them, and returns where they start; the caller truncates
// e.members back to it.
func sorted[V any](e *encoder, m map[string]V) int {
	start := len(e.members)
	for k, v := range m {
		e.members = append(e.members, member{k, v})
	}
	slices.SortFunc(e.members[start:], func(a, b member) int { return strings.Compare(a.k, b.k) })
	return start
}

func (e *encoder) value(dst []byte, v any, depth int) ([]byte, bool) {
	if depth >= maxDepth { // encoding/json reports the cycle this may be
		return dst, false
	}
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case bool:
		return strconv.AppendBool(dst, v), true
	case string:
		return AppendString(dst, v), true
	case json.Number:
		n := string(v)
		if n == "" {
			n = "0" // what encoding/json writes for the empty Number
		}
		if !IsNumber(n) {
			return dst, false
		}
		return append(dst, n...), true
	case int:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int64:
		return strconv.AppendInt(dst, v, 10), true
	case float64:
		return appendFloat(dst, v)
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), true
		}
		return e.object(dst, sorted(e, v), depth)
	case []any:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		var ok bool
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = e.value(dst, x, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case map[string]string:
		if v == nil {
			return append(dst, "null"...), true
		}
		return e.object(dst, sorted(e, v), depth)
	case []string:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, x)
		}
		return append(dst, ']'), true
	}
	return dst, false
}

// object writes the members of e.members from start on as an object and
// drops them from e.members.
func (e *encoder) object(dst []byte, start, depth int) ([]byte, bool) {
	dst = append(dst, '{')
	var ok bool
	for i := start; i < len(e.members); i++ {
		if i > start {
			dst = append(dst, ',')
		}
		dst = append(AppendString(dst, e.members[i].k), ':')
		if dst, ok = e.value(dst, e.members[i].v, depth+1); !ok {
			return dst, false
		}
	}
	e.members = e.members[:start]
	return append(dst, '}'), true
}

// appendFloat writes f as encoding/json writes a float64: the shortest
// decimal that reads back as f, in exponent form below 1e-6 and from 1e21
// on, with a one-digit negative exponent kept short (1e-7, not 1e-07).
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}
