// Package schematest is what the vendor schema packages' tests share:
// reading their fixtures, and encoding/json's reading of a record, the
// reference each package's reader is held to.
package schematest

import (
	"os"
	"path/filepath"
	"testing"
)

// Fixture is the file testdata/dir/name of the package under test.
func Fixture(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Lookup returns the value at path p (member names from the top down) of
// the record m, as encoding/json reads it.
func Lookup(m map[string]any, p []string) (any, bool) {
	var v any = m
	for _, k := range p {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Str is the string at path p of m, as encoding/json reads it; "" for
// anything else.
func Str(m map[string]any, p ...string) string {
	v, _ := Lookup(m, p)
	s, _ := v.(string)
	return s
}
