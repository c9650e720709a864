package chatgpt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	schema "github.com/auditrelay/auditrelay/schema/chatgpt"
)

// Content: unless keep_content is true, what people wrote never leaves the
// source. Each value at one of schema/chatgpt's ContentPaths is replaced by
// a digest object, {"sha256": "<hex>", "length": <characters>}: the SHA-256
// of the text (a string's value, or an object's or array's JSON as sent)
// and its length in characters, so that a record still shows that
// something was written, how much, and whether two records hold the same
// text, and an investigator who holds a text can prove it was sent. The
// record is edited in place, byte ranges swapped, so every other byte stays
// as the API sent it.

// contentDecoderOptions read what schema/chatgpt reads: repeated names
// (each occurrence is replaced) and strings that are not valid UTF-8.
var contentDecoderOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// contentPaths returns the content paths of a record of recType in a file
// of fileType: both types' paths, since either may be what the record is.
func contentPaths(recType, fileType string) []schema.Path {
	ps := schema.ContentPaths(fileType)
	if recType != fileType {
		ps = append(ps, schema.ContentPaths(recType)...)
	}
	return ps
}

// span is a value to replace: its byte range in the record and its
// replacement.
type span struct {
	start, end int
	with       []byte
}

// withoutContent returns a copy of rec, a JSON object, with the value at
// each of paths replaced by its digest. A value on the way to a path that
// is not an object (a string where an object was expected) is replaced
// whole: what it holds cannot be told apart. null stays null: it holds
// nothing. A rec that is not a JSON object is an error.
func withoutContent(rec []byte, paths []schema.Path) ([]byte, error) {
	if len(paths) == 0 {
		return bytes.Clone(rec), nil
	}
	d := jsontext.NewDecoder(bytes.NewBuffer(rec), contentDecoderOptions...)
	if d.PeekKind() != '{' {
		return nil, schema.ErrNotObject
	}
	var spans []span
	if err := findContent(d, paths, 0, &spans); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(rec))
	at := 0
	for _, s := range spans {
		out = append(out, rec[at:s.start]...)
		out = append(out, s.with...)
		at = s.end
	}
	return append(out, rec[at:]...), nil
}

// findContent reads the object that comes next in d, adding a span for
// each member at paths, whose first depth names are the object's
// ancestors'.
func findContent(d *jsontext.Decoder, paths []schema.Path, depth int, spans *[]span) error {
	if _, err := d.ReadToken(); err != nil { // '{'
		return err
	}
	for d.PeekKind() == '"' {
		tok, err := d.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		var deeper []schema.Path
		whole := false
		for _, p := range paths {
			if p[depth] != name {
				continue
			}
			if len(p) == depth+1 {
				whole = true
			} else {
				deeper = append(deeper, p)
			}
		}
		switch kind := d.PeekKind(); {
		case !whole && len(deeper) == 0, kind == 'n':
			err = d.SkipValue()
		case !whole && kind == '{':
			err = findContent(d, deeper, depth+1, spans)
		default:
			var v jsontext.Value
			if v, err = d.ReadValue(); err == nil {
				end := int(d.InputOffset())
				*spans = append(*spans, span{start: end - len(v), end: end, with: digest(v)})
			}
		}
		if err != nil {
			return err
		}
	}
	_, err := d.ReadToken() // '}', or the error of what stands there instead
	return err
}

// digest is the object that stands for content v: the SHA-256 and the
// length in characters of a string's value, or of another value's JSON.
func digest(v jsontext.Value) []byte {
	text := []byte(v)
	if v.Kind() == '"' {
		if s, err := jsontext.AppendUnquote(nil, v); err == nil {
			text = s
		}
	}
	return digestOf(text)
}

// digestOf is the digest object of text.
func digestOf(text []byte) []byte {
	sum := sha256.Sum256(text)
	out := append([]byte(`{"sha256":"`), hex.EncodeToString(sum[:])...)
	out = append(out, `","length":`...)
	out = strconv.AppendInt(out, int64(utf8.RuneCount(text)), 10)
	return append(out, '}')
}

// unparsed is the object that carries a line that is not JSON to the
// dead-letter sink: the text itself, or with keepContent false its digest
// (the line cannot be read, so nothing in it can be kept apart).
func unparsed(line []byte, keepContent bool) []byte {
	v := digestOf(line)
	if keepContent {
		s, err := jsontext.AppendQuote(nil, line)
		if err != nil { // invalid UTF-8: replaced, as encoding/json would
			s, _ = jsontext.AppendQuote(nil, bytes.ToValidUTF8(line, []byte("\uFFFD")))
		}
		v = s
	}
	return slices.Concat([]byte(`{"unparsed_line":`), v, []byte("}"))
}
