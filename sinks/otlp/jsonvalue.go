package otlp

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseObject decodes the JSON object b into dst as encoding/json reads
// it (a key given twice keeps its last value, invalid UTF-8 becomes
// U+FFFD), keeping the keys in their order: integers become ints, other
// numbers doubles, and a number too large for a double keeps its digits as
// a string. JSON null is OTLP's empty value.
func parseObject(b []byte, dst pcommon.Map) error {
	dec := jsontext.NewDecoder(bytes.NewBuffer(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if dec.PeekKind() != '{' {
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		return errors.New("not a JSON object")
	}
	v := pcommon.NewValueEmpty()
	if err := readValue(dec, v); err != nil {
		return err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return errors.New("trailing data after the object")
	}
	v.Map().MoveTo(dst)
	return nil
}

// readValue reads the next JSON value of dec into dst.
func readValue(dec *jsontext.Decoder, dst pcommon.Value) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case '{':
		m := dst.SetEmptyMap()
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return err
			}
			if err := readValue(dec, m.PutEmpty(name.String())); err != nil {
				return err
			}
		}
	case '[':
		s := dst.SetEmptySlice()
		for dec.PeekKind() != ']' {
			if err := readValue(dec, s.AppendEmpty()); err != nil {
				return err
			}
		}
	case '"':
		dst.SetStr(tok.String())
		return nil
	case 't', 'f':
		dst.SetBool(tok.Bool())
		return nil
	case '0':
		setNumber(dst, tok.String())
		return nil
	default: // null
		return nil
	}
	_, err = dec.ReadToken() // the closing '}' or ']'
	return err
}

// setNumber sets dst to the JSON number text s.
func setNumber(dst pcommon.Value, s string) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		dst.SetInt(n)
	} else if f, err := strconv.ParseFloat(s, 64); err == nil {
		dst.SetDouble(f)
	} else {
		dst.SetStr(s)
	}
}
