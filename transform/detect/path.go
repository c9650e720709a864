package detect

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// pathValues appends the scalar values at path in the JSON object raw, as
// walk does over a decoded one, reading the bytes once without decoding
// the rest: conditions read one or two members of events that can be large.
// A member given twice counts with its last value, as encoding/json reads
// it. Bytes that are not valid JSON give what was found before the fault.
func pathValues(raw []byte, path []string, out []string) []string {
	d := jsontext.NewDecoder(bytes.NewBuffer(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	vals, _ := valuesAt(d, path, nil)
	return append(out, vals...)
}

// valuesAt reads the value that comes next in d and returns the scalar
// values at path under it.
func valuesAt(d *jsontext.Decoder, path []string, out []string) ([]string, error) {
	switch d.PeekKind() {
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return out, err
		}
		for d.PeekKind() != ']' {
			var err error
			if out, err = valuesAt(d, path, out); err != nil {
				return out, err
			}
		}
		_, err := d.ReadToken()
		return out, err
	case '{':
		if len(path) == 0 {
			return out, d.SkipValue()
		}
		if _, err := d.ReadToken(); err != nil {
			return out, err
		}
		var found []string
		for d.PeekKind() != '}' {
			name, err := d.ReadToken()
			if err != nil {
				return out, err
			}
			if name.String() != path[0] {
				if err := d.SkipValue(); err != nil {
					return out, err
				}
				continue
			}
			if found, err = valuesAt(d, path[1:], nil); err != nil { // the last one counts
				return out, err
			}
		}
		_, err := d.ReadToken()
		return append(out, found...), err
	}
	tok, err := d.ReadToken()
	if err != nil || len(path) > 0 {
		return out, err
	}
	switch tok.Kind() {
	case '"':
		return append(out, tok.String()), nil
	case '0':
		return append(out, tok.String()), nil
	case 't':
		return append(out, "true"), nil
	case 'f':
		return append(out, "false"), nil
	}
	return out, nil
}
