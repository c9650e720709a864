package jsonread

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// read reads raw's members a, b (an object's c) as the vendors' readers
// do.
func read(t testing.TB, raw string) (a, b, c Text, err error) {
	t.Helper()
	type fields struct{ a, b, c Text }
	f, err := ReadObject([]byte(raw), func(d *jsontext.Decoder, in []byte) (f fields, err error) {
		_, err = Members(d, func(name []byte) error {
			if string(name) == "o" {
				return Object(d, in, Field{"c", &f.c})
			}
			return Pick(d, in, name, []Field{{"a", &f.a}, {"b", &f.b}})
		})
		return f, err
	})
	return f.a, f.b, f.c, err
}

func TestLastKeyWins(t *testing.T) {
	for _, tc := range []struct{ raw, a, b, c string }{
		{`{"a":"1","a":"2"}`, `"2"`, "", ""},
		// An object given twice counts whole with its last value: c of the
		// first is gone.
		{`{"o":{"c":1},"o":{"d":2}}`, "", "", ""},
		{`{"o":{"c":1},"o":{"c":3}}`, "", "", "3"},
		// Names are unquoted before they match.
		{`{"\u0061":true,"b":null}`, "true", "null", ""},
		// A member that is not an object where one is read is skipped.
		{`{"o":[1,{"c":2}],"a":{"x":1}}`, `{"x":1}`, "", ""},
	} {
		a, b, c, err := read(t, tc.raw)
		if err != nil || string(a) != tc.a || string(b) != tc.b || string(c) != tc.c {
			t.Errorf("%s: a %s b %s c %s err %v; want %s %s %s", tc.raw, a, b, c, err, tc.a, tc.b, tc.c)
		}
	}
}

func TestReadObjectErrors(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want error
	}{
		{` {"a":1} `, nil},
		{`[1]`, ErrNotObject},
		{`null`, ErrNotObject},
		{`[1] x`, ErrInvalid},
		{`{"a":`, ErrInvalid},
		{``, ErrInvalid},
	} {
		if _, _, _, err := read(t, tc.raw); err != tc.want {
			t.Errorf("%q: err %v, want %v", tc.raw, err, tc.want)
		}
	}
	if _, _, _, err := read(t, `{"a":1}{}`); err == nil || err.Error() != "not valid JSON: more after the object" {
		t.Errorf("an object and more: err %v", err)
	}
}

func TestValueCannotGrowIntoInput(t *testing.T) {
	in := []byte(`{"a":"x","b":"y"}`)
	a, _, _, _ := read(t, string(in))
	_ = append(a, '!')
	if _, b, _, _ := read(t, string(in)); string(b) != `"y"` {
		t.Fatalf("b %s", b)
	}
	if cap(a) != len(a) {
		t.Fatalf("a value's capacity %d reaches past it (%d)", cap(a), len(a))
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		t, str string
		num    float64
		isNum  bool
	}{
		{`"plain"`, "plain", 0, false},
		{`"esc\u00e9\"q"`, `escé"q`, 0, false},
		{`null`, "", 0, false},
		{`-1.5e2`, "", -150, true},
		{`"12"`, "12", 0, false},
		{``, "", 0, false},
	} {
		n, ok := Text(tc.t).Num()
		if s := Text(tc.t).Str(); s != tc.str || n != tc.num || ok != tc.isNum {
			t.Errorf("%s: Str %q Num %v %v; want %q %v %v", tc.t, s, n, ok, tc.str, tc.num, tc.isNum)
		}
	}
}

func TestTime(t *testing.T) {
	got, err := Text(`"2026-07-09T12:00:00.5+02:00"`).Time("at")
	if want := time.Date(2026, 7, 9, 10, 0, 0, 5e8, time.UTC); err != nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Time = %s, %v; want %s", got, err, want)
	}
	for _, tc := range []struct{ t, want string }{
		{"", "no at"},
		{`"2026-07-09"`, `at "2026-07-09" is not an RFC 3339 time`},
		{`1783591200`, `at 1783591200 is not an RFC 3339 time`},
		{`null`, `at null is not an RFC 3339 time`},
	} {
		var v Text
		if tc.t != "" {
			v = Text(tc.t)
		}
		if _, err := v.Time("at"); err == nil || err.Error() != tc.want {
			t.Errorf("%s: err %v, want %q", tc.t, err, tc.want)
		}
	}
}

func TestClonePaths(t *testing.T) {
	type path []string
	table := []path{{"a", "b"}, {"c"}}
	got := ClonePaths(table)
	got[0][0] = "changed"
	if table[0][0] != "a" || !slices.Equal(got[1], table[1]) {
		t.Errorf("the copy shares the table: %v %v", table, got)
	}
	if ClonePaths[path](nil) != nil {
		t.Error("nil is not nil")
	}
}

// FuzzPick holds the reader to encoding/json's reading of a map: whatever
// the input, a and b are what encoding/json finds (the last of a repeated
// key), and the input is accepted exactly when encoding/json finds one
// object.
func FuzzPick(f *testing.F) {
	for _, s := range []string{`{"a":"1","b":"2","a":"3"}`, `{"\u0062":"x"}`, `{"a":{"b":1}}`, `[]`, `{"a":1}x`, `{"a":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, b, _, err := read(t, string(raw))
		isObject := json.Valid(raw) && bytes.TrimLeft(raw, " \t\r\n")[0] == '{'
		if (err == nil) != isObject {
			t.Fatalf("%q: err %v, encoding/json finds an object: %v", raw, err, isObject)
		}
		var m map[string]any
		if err != nil || !jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true)) || json.Unmarshal(raw, &m) != nil {
			return // not an object, invalid UTF-8 encoding/json would replace, or a number beyond float64
		}
		for name, got := range map[string]Text{"a": a, "b": b} {
			want, ok := m[name]
			if !ok {
				if got != nil {
					t.Fatalf("%q: %s read %s, encoding/json finds none", raw, name, got)
				}
				continue
			}
			var v any
			if json.Unmarshal(got, &v) != nil {
				t.Fatalf("%q: %s read %s, not one value", raw, name, got)
			}
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(v)
			if string(wb) != string(gb) {
				t.Fatalf("%q: %s read %s, encoding/json %s", raw, name, gb, wb)
			}
		}
	})
}
