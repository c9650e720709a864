package detect

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
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
