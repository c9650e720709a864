package configref

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestRender(t *testing.T) {
	var nilInt *int
	for _, tc := range []struct {
		v    any
		want string
	}{
		{168 * time.Hour, "168h"},
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "1h30m"},
		{500 * time.Millisecond, "500ms"},
		{time.Duration(0), "0s"},
		{pipeline.FileMode(0o600), "0600"},
		{pipeline.Secret(""), `""`},
		{pipeline.Secret("sk-admin-never-shown"), "[redacted]"},
		{"", `""`},
		{"openai:audit", "openai:audit"},
		{"0600", `"0600"`},
		{[]string{"a", "*_token"}, `[a, '*_token']`},
		{[]string(nil), "[]"},
		{map[string]string{"b": "2", "a": "1"}, `{a: "1", b: "2"}`},
		{nilInt, "null"},
		{2.0, "2"},
		{int16(-1), "-1"},
	} {
		if got := render(reflect.ValueOf(tc.v)); got != tc.want {
			t.Errorf("render(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	doc, values, err := describe("Compression of the requests (default gzip). One of:\ngzip, none.\n\nMore.", "Compression", "compression")
	if err != nil || doc != "`compression` of the requests (default gzip).\n\nMore." || !slices.Equal(values, []string{"gzip", "none"}) {
		t.Errorf("doc %q, values %q, err %v", doc, values, err)
	}
	// Values with dots and slashes end at the sentence's end.
	if _, values, _ := describe("MinVersion is the lowest. One of: 1.2, 1.3.", "MinVersion", "min_version"); !slices.Equal(values, []string{"1.2", "1.3"}) {
		t.Errorf("values %q", values)
	}
	if _, values, _ := describe("Protocol. One of: grpc, http/protobuf, http/json. Empty: grpc.", "Protocol", "protocol"); !slices.Equal(values, []string{"grpc", "http/protobuf", "http/json"}) {
		t.Errorf("values %q", values)
	}
	if _, _, err := describe("Mode is one. One of: mask, hash or remove.", "Mode", "mode"); err == nil {
		t.Error("a list not in the fixed form was taken")
	}
}

// A required key says so where the default would be: its zero value is
// not a default anyone could keep.
func TestWriteKeysRequired(t *testing.T) {
	var b strings.Builder
	writeKeys(&b, []Key{
		{Path: "endpoint", Type: "string", Default: `""`, Doc: "`endpoint` is the URL (required)."},
		{Path: "index", Type: "string", Default: `""`, Doc: "`index` is the index."},
	})
	if got := b.String(); !strings.Contains(got, "Type: string. Required.\n") || !strings.Contains(got, "Type: string. Default: `\"\"`.\n") {
		t.Errorf("got\n%s", got)
	}
}
