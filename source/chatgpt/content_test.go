package chatgpt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	schema "github.com/auditrelay/auditrelay/schema/chatgpt"
)

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestWithoutContent: the values at the content paths are replaced by
// their digest and every other byte stays as sent: spacing, key order,
// escapes, numbers, repeated names.
func TestWithoutContent(t *testing.T) {
	msg := "My key is sk-live-123 \u00e9\n\"quoted\""
	quoted, _ := json.Marshal(msg)
	obj := `{"b": [1, 2], "a":"x"}`
	tests := []struct {
		name, in, want string
		paths          []schema.Path
	}{
		{"a string, spacing kept",
			`{"event_id":"e1",  "message" : {"id":"m", "content":{"type":"text","value":` + string(quoted) + `, "n":1.50}}, "z":true}`,
			`{"event_id":"e1",  "message" : {"id":"m", "content":{"type":"text","value":{"sha256":"` + sumOf(msg) + `","length":` + itoa(len([]rune(msg))) + `}, "n":1.50}}, "z":true}`,
			[]schema.Path{{"message", "content", "value"}}},
		{"an object and an array, as sent",
			`{"input":` + obj + `,"output":[` + obj + `]}`,
			`{"input":{"sha256":"` + sumOf(obj) + `","length":` + itoa(len(obj)) + `},"output":{"sha256":"` + sumOf("["+obj+"]") + `","length":` + itoa(len(obj)+2) + `}}`,
			[]schema.Path{{"input"}, {"output"}}},
		{"null stays",
			`{"input":null}`, `{"input":null}`, []schema.Path{{"input"}}},
		{"a string where an object was expected is replaced whole",
			`{"message":"hello"}`, `{"message":{"sha256":"` + sumOf("hello") + `","length":5}}`,
			[]schema.Path{{"message", "content", "value"}}},
		{"every occurrence of a repeated name",
			`{"input":"a","input":"b"}`, `{"input":{"sha256":"` + sumOf("a") + `","length":1},"input":{"sha256":"` + sumOf("b") + `","length":1}}`,
			[]schema.Path{{"input"}}},
		{"an escaped name matches",
			`{"\u0069nput":"a"}`, `{"\u0069nput":{"sha256":"` + sumOf("a") + `","length":1}}`,
			[]schema.Path{{"input"}}},
		{"other members untouched",
			`{"inputs":"a","x":{"input":"b"}}`, `{"inputs":"a","x":{"input":"b"}}`,
			[]schema.Path{{"input"}}},
		{"no paths", `{"input":"a"}`, `{"input":"a"}`, nil},
	}
	for _, tt := range tests {
		got, err := withoutContent([]byte(tt.in), tt.paths)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{`[1]`, `"x"`, `{"input":`, `{"input":"a",}`} {
		if _, err := withoutContent([]byte(bad), []schema.Path{{"input"}}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestUnparsed: a line that is not JSON goes to the dead letter as text
// only when content is kept.
func TestUnparsed(t *testing.T) {
	line := []byte("secret text {not json")
	kept := unparsed(line, true)
	var v struct {
		Line any `json:"unparsed_line"`
	}
	if err := json.Unmarshal(kept, &v); err != nil || v.Line != string(line) {
		t.Fatalf("kept: %s (%v)", kept, err)
	}
	gone := unparsed(line, false)
	if strings.Contains(string(gone), "secret") || !strings.Contains(string(gone), sumOf(string(line))) || !json.Valid(gone) {
		t.Fatalf("removed: %s", gone)
	}
	if bad := unparsed([]byte{'a', 0xff}, true); !json.Valid(bad) {
		t.Fatalf("invalid UTF-8: %s", bad)
	}
}
