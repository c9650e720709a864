package detect

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPathValuesAgreesWithDecoding: reading a path from the bytes gives
// what walking the decoded object gives, on simulator events of every
// vendor and on shapes made to be awkward.
func TestPathValuesAgreesWithDecoding(t *testing.T) {
	corpora(t)
	paths := [][]string{{"type"}, {"actor", "type"}, {"action_data", "role"}, {"action_data", "enabled"},
		{"api_key.created", "data", "scopes"}, {"user.added", "data", "role"}, {"current_role"}, {"enabled"},
		{"actor", "session", "ip_address_details", "country"}, {"request_metadata"}, {"x", "y"}, {"effective_at"}}
	raws := []string{
		`{"a":[{"b":1},{"b":[true,false,null,"s"]},{"c":2}],"a":{"b":"last"}}`,
		`{"x":{"y":[1.50,{"z":1}]},"x":{"y":"again"}}`,
		`{"x":{"y":{"deep":1}}}`,
		`[{"x":{"y":"in an array"}}]`,
	}
	check := func(raw []byte, path []string) {
		var v any
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		want := walk(v, path, nil)
		if got := pathValues(raw, path, nil); !slices.Equal(got, want) {
			t.Errorf("%v in %.120s: %q, decoding gives %q", path, raw, got, want)
		}
	}
	for _, raw := range raws {
		for _, p := range append(paths, []string{"a", "b"}, []string{"a"}) {
			check([]byte(raw), p)
		}
	}
	n := 0
	for i, ev := range append(append(openaiEvs[:2000:2000], chatEvs[:2000]...), anthEvs[:2000]...) {
		for _, p := range paths {
			check(ev.Raw, p)
		}
		n = i
	}
	if n == 0 {
		t.Fatal("no events")
	}
}

// FuzzPathValues holds the byte reader to the decoded walk on any JSON
// text encoding/json reads (valid UTF-8: encoding/json replaces invalid
// bytes, which a condition never names).
func FuzzPathValues(f *testing.F) {
	for _, s := range []string{`{"a":{"b":"c"}}`, `{"a":[{"b":1},{"b":[true,null]}],"a":{"b":2}}`, `[{"a":"x"}]`,
		`{"a\u0062":{"b":"\u00e9"}}`, `{"a":{"b":1e400}}`, `{}`, `"a"`} {
		f.Add(s, "a.b")
	}
	f.Fuzz(func(t *testing.T, raw, path string) {
		if !utf8.ValidString(raw) || path == "" {
			return
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&v) != nil || dec.More() {
			return
		}
		if _, err := dec.Token(); err != io.EOF {
			return
		}
		p := strings.Split(path, ".")
		want := walk(v, p, nil)
		if got := pathValues([]byte(raw), p, nil); !slices.Equal(got, want) {
			t.Errorf("%v in %q: %q, decoding gives %q", p, raw, got, want)
		}
	})
}
