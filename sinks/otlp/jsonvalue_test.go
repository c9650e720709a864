package otlp

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// normalize turns what encoding/json decodes (float64 numbers) and what
// pcommon.Map.AsRaw returns (int64 or float64) into comparable values.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case int64:
		return float64(x)
	}
	return v
}

func checkParse(t *testing.T, in string) {
	t.Helper()
	var want map[string]any
	wantErr := json.Unmarshal([]byte(in), &want) != nil || want == nil
	m := pcommon.NewMap()
	err := parseObject([]byte(in), m)
	if wantErr != (err != nil) {
		t.Fatalf("parseObject(%q) error = %v, encoding/json error = %v", in, err, wantErr)
	}
	if err != nil {
		return
	}
	if got := normalize(m.AsRaw()); !reflect.DeepEqual(got, normalize(want)) {
		t.Errorf("parseObject(%q)\n got %#v\nwant %#v", in, got, want)
	}
}

func TestParseObject(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", `{}`},
		{"scalars", `{"s":"x","i":42,"n":-7,"f":1.5,"e":1e3,"t":true,"f2":false,"z":null}`},
		{"nested", `{"a":{"b":[1,{"c":[]},[],"d"]},"e":{}}`},
		{"escapes", `{"s":"q\"b\\s\/n\n\u00e9\ud83d\ude00","k\"":1}`},
		{"unicode", `{"s":"Zoë 東京"}`},
		{"spaces", " {\n \"a\" : [ 1 , 2 ] ,\t\"b\":{ } }\n"},
		{"big int", `{"n":123456789012345678901234567890}`},
		{"not an object", `[1,2]`},
		{"truncated", `{"a":[1,2`},
		{"trailing", `{"a":1} x`},
		{"bad literal", `{"a":tru}`},
		{"control char", "{\"a\":\"x\ty\"}"},
		{"missing colon", `{"a" 1}`},
		{"null", `null`},
		{"invalid utf-8", "{\"s\":\"a\xffb\"}"},
		{"repeated key", `{"a":1,"b":2,"a":3}`},
		{"deep", `{"a":[[[[{"b":[[[1]]]}]]]]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParse(t, tt.in) })
	}
}

func TestParseKeepsKeyOrder(t *testing.T) {
	m := pcommon.NewMap()
	if err := parseObject([]byte(`{"z":1,"a":2,"m":3}`), m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m.All() {
		keys = append(keys, k)
	}
	if !reflect.DeepEqual(keys, []string{"z", "a", "m"}) {
		t.Errorf("keys %v, want the original order", keys)
	}
}

func FuzzParseObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2.5,"x",{"b":null}]}`, `{"s":"\u00e9"}`, `{"a":1e400}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var want map[string]any
		if json.Unmarshal([]byte(in), &want) != nil || want == nil {
			_ = parseObject([]byte(in), pcommon.NewMap()) // must not panic
			return
		}
		if !json.Valid([]byte(in)) {
			return
		}
		m := pcommon.NewMap()
		if err := parseObject([]byte(in), m); err != nil {
			t.Fatalf("valid object refused: %v", err)
		}
	})
}
