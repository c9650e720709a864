package rawjson

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// stdDecode is what pipeline.Event.Object did before DecodeObject: one
// value through a Decoder with UseNumber.
func stdDecode(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	err := dec.Decode(&m)
	return m, err
}

// stdEncode is what pipeline.Event.Finalize did before AppendValue.
func stdEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// FuzzValue holds DecodeObject and AppendValue to encoding/json: an object
// DecodeObject takes decodes to the same tree, every valid object of
// ordinary depth is taken, and the tree encodes to the same bytes.
func FuzzValue(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,"x",{"b":null}],"c":"\u00e9","d":true,"e":false}`, `{"a":1,"a":{"b":2}}`,
		`{"a":1}x`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"n":-0.0e+10,"m":1E400,"s":"<&>\u2028"}`, `[1]`, `null`,
		` {"sp" : [ ] , "o" : { } } `, `{"z":1,"y":2,"é":3,"":4}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := DecodeObject(b)
		want, err := stdDecode(b)
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		if !ok {
			deep := bytes.Count(b, []byte("{"))+bytes.Count(b, []byte("[")) >= maxDepth
			if json.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{' && !deep {
				t.Fatalf("DecodeObject refused the valid object %q", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("DecodeObject took %q, which encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeObject(%q)\n got %#v\nwant %#v", b, got, want)
		}
		enc, ok := AppendValue([]byte("prefix"), got)
		if !ok {
			t.Fatalf("AppendValue refused the tree of %q", b)
		}
		std, err := stdEncode(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc[len("prefix"):], std) {
			t.Fatalf("AppendValue of %q\n got %s\nwant %s", b, enc[len("prefix"):], std)
		}
	})
}

// FuzzAppendFloat holds floats, which no decoded event holds but mappings
// may write, to encoding/json.
func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.125, 5e-324, math.MaxFloat64, 1e-7} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		got, ok := AppendValue(nil, x)
		want, err := stdEncode(x)
		if ok != (err == nil) {
			t.Fatalf("AppendValue(%v) ok=%v, encoding/json error %v", x, ok, err)
		}
		if ok && string(got) != string(want) {
			t.Fatalf("AppendValue(%v) = %s, want %s", x, got, want)
		}
	})
}

// TestAppendValueTypes: every type AppendValue takes encodes as
// encoding/json encodes it, nil maps and slices included; the others are
// refused rather than guessed.
func TestAppendValueTypes(t *testing.T) {
	var nilMap map[string]any
	var nilSlice []any
	var nilStrings []string
	var nilStringMap map[string]string
	tree := map[string]any{
		"i": 3, "i64": int64(-1 << 62), "f": 2.5, "n": json.Number("12.50"), "empty": json.Number(""),
		"s": "a\"b\\c\n<tag>&\u2028\x01\xff", "b": true, "nil": nil,
		"m":  map[string]any{"y": 1, "x": []any{"a", nil, map[string]string{"k2": "v", "k1": "w"}}},
		"ss": []string{"b", "a"}, "nm": nilMap, "ns": nilSlice, "nss": nilStrings, "nsm": nilStringMap,
	}
	got, ok := AppendValue(nil, tree)
	want, err := stdEncode(tree)
	if !ok || err != nil || string(got) != string(want) {
		t.Fatalf("AppendValue ok=%v\n got %s\nwant %s (%v)", ok, got, want, err)
	}
	for _, v := range []any{
		map[string]any{"x": json.Number("1x")}, // encoding/json: invalid number literal
		math.NaN(), math.Inf(-1),
		map[string]any{"u": uint8(1)}, // not a type it takes
		struct{ A int }{1},
		[]int{1},
	} {
		if out, ok := AppendValue(nil, v); ok {
			t.Fatalf("AppendValue(%#v) = %s, want it refused", v, out)
		}
	}
}

// TestDecodeObjectRefuses: what is not one object is left to encoding/json.
func TestDecodeObjectRefuses(t *testing.T) {
	for _, s := range []string{``, `[]`, `null`, `"x"`, `{"a":1}x`, `{"a":1}{}`, `{"a":}`, `{"a":1,}`, `{'a':1}`,
		`{"a":01}`, `{"a":tru}`, `{"a":"\x"}`, strings.Repeat(`{"a":`, maxDepth+1) + `1` + strings.Repeat(`}`, maxDepth+1)} {
		if m, ok := DecodeObject([]byte(s)); ok {
			t.Fatalf("DecodeObject(%.40q) = %v, want it refused", s, m)
		}
	}
}
