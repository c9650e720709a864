package otlp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseObject decodes the JSON object in b straight into dst, keeping the
// keys in their original order, with integers as ints and other numbers as
// doubles. It avoids the map[string]any a generic decoder would build, and
// the keys and strings without escapes are substrings of b, so that an
// event costs one string allocation rather than one per string.
//
// Each map and slice is sized once, from a first quick pass that counts
// the members of every object and array, instead of growing (and copying
// its key-value pairs) as members arrive.
func parseObject(b string, dst pcommon.Map) error {
	var buf [32]int32
	p := jsonParser{b: b, counts: memberCounts(b, buf[:0])}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return errors.New("not a JSON object")
	}
	if err := p.object(dst); err != nil {
		return err
	}
	p.ws()
	if p.i != len(p.b) {
		return fmt.Errorf("trailing data at offset %d", p.i)
	}
	return nil
}

type jsonParser struct {
	b      string
	i      int
	counts []int32 // memberCounts of b
	opened int     // objects and arrays opened so far
}

// size returns the member count of the object or array being opened.
func (p *jsonParser) size() int {
	k := p.opened
	p.opened++
	if k < len(p.counts) {
		return int(p.counts[k])
	}
	return 0
}

// memberCounts appends to counts, for each object and array of b in the
// order they open, one more than the number of commas directly inside it:
// its number of members when it has any. Strings are skipped whole. On
// malformed input the counts are only wrong, never unsafe: they are
// capacities, bounded by len(b).
func memberCounts(b string, counts []int32) []int32 {
	var open [64]int32 // indexes in counts of the containers open
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for { // to the closing quote: one not escaped by a backslash
				q := strings.IndexByte(b[i+1:], '"')
				if q < 0 {
					return counts
				}
				i += q + 1
				n := 0
				for j := i - 1; b[j] == '\\'; j-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
		case '{', '[':
			if depth < len(open) {
				open[depth] = int32(len(counts))
			}
			depth++
			counts = append(counts, 1)
		case '}', ']':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth > 0 && depth <= len(open) {
				counts[open[depth-1]]++
			}
		}
	}
	return counts
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) errAt(what string) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", p.i, what)
}

func (p *jsonParser) object(dst pcommon.Map) error {
	p.i++ // {
	n := p.size()
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return nil
	}
	dst.EnsureCapacity(n)
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return p.errAt("want a key")
		}
		k, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return p.errAt("want ':'")
		}
		p.i++
		p.ws()
		if err := p.value(dst.PutEmpty(k)); err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.b) {
			return p.errAt("unterminated object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.errAt("want ',' or '}'")
		}
	}
}

func (p *jsonParser) array(dst pcommon.Slice) error {
	p.i++ // [
	n := p.size()
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return nil
	}
	dst.EnsureCapacity(n)
	for {
		p.ws()
		if err := p.value(dst.AppendEmpty()); err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.b) {
			return p.errAt("unterminated array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return p.errAt("want ',' or ']'")
		}
	}
}

func (p *jsonParser) value(dst pcommon.Value) error {
	if p.i >= len(p.b) {
		return p.errAt("want a value")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(dst.SetEmptyMap())
	case c == '[':
		return p.array(dst.SetEmptySlice())
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		dst.SetStr(s)
		return nil
	case c == 't':
		return p.lit("true", func() { dst.SetBool(true) })
	case c == 'f':
		return p.lit("false", func() { dst.SetBool(false) })
	case c == 'n':
		return p.lit("null", func() {}) // an empty value is OTLP's null
	case c == '-' || c >= '0' && c <= '9':
		return p.num(dst)
	}
	return p.errAt("unexpected character")
}

func (p *jsonParser) lit(word string, set func()) error {
	if len(p.b)-p.i < len(word) || p.b[p.i:p.i+len(word)] != word {
		return p.errAt("bad literal")
	}
	p.i += len(word)
	set()
	return nil
}

func (p *jsonParser) num(dst pcommon.Value) error {
	start := p.i
	isFloat := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' {
			p.i++
		} else if c == '.' || c == 'e' || c == 'E' {
			isFloat = true
			p.i++
		} else {
			break
		}
	}
	s := p.b[start:p.i]
	if !isFloat {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			dst.SetInt(n)
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Out of range for a double too: keep the digits.
		if _, ok := err.(*strconv.NumError); ok && len(s) > 0 {
			dst.SetStr(s)
			return nil
		}
		return p.errAt("bad number")
	}
	dst.SetDouble(f)
	return nil
}

// str reads a JSON string at p.i.
func (p *jsonParser) str() (string, error) {
	start := p.i
	p.i++ // "
	escaped, ascii := false, true
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '\\':
			escaped = true
			p.i += 2
		case c == '"':
			p.i++
			s := p.b[start+1 : p.i-1]
			if !escaped && (ascii || utf8.ValidString(s)) {
				return s, nil
			}
			// Escapes, or invalid UTF-8 (which encoding/json replaces
			// with U+FFFD, as OTLP's protobuf strings require).
			var out string
			if err := json.Unmarshal([]byte(p.b[start:p.i]), &out); err != nil {
				return "", p.errAt("bad string escape")
			}
			return out, nil
		case c < 0x20:
			return "", p.errAt("control character in string")
		default:
			if c >= 0x80 {
				ascii = false
			}
			p.i++
		}
	}
	return "", p.errAt("unterminated string")
}
