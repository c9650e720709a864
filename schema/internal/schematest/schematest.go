// Package schematest is what the vendor schema packages' tests share:
// reading their fixtures, and encoding/json's reading of a record, the
// reference each package's reader is held to.
package schematest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
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

// Want is what a vendor's Parse gives of a valid record: Time is RFC 3339,
// read as the same instant in UTC; Project is the vendor's scope of the
// record (its ProjectID).
type Want struct {
	ID, Type, Time          string
	ActorID, Email, Project string
}

// CheckEvent fails t unless ev, parsed from raw for the source "acme" at
// observed, carries want, the vendor's schema, and raw untouched.
func CheckEvent(t *testing.T, ev pipeline.Event, raw []byte, schema string, observed time.Time, want Want) {
	t.Helper()
	at, _ := time.Parse(time.RFC3339Nano, want.Time)
	if ev.ID != want.ID || ev.Type != want.Type || !ev.Time.Equal(at) || ev.Time.Location() != time.UTC {
		t.Errorf("id %q type %q time %s; want %q %q %s", ev.ID, ev.Type, ev.Time, want.ID, want.Type, at)
	}
	if ev.ActorID != want.ActorID || ev.ActorEmail != want.Email || ev.ProjectID != want.Project {
		t.Errorf("actor %q email %q project %q; want %q %q %q", ev.ActorID, ev.ActorEmail, ev.ProjectID, want.ActorID, want.Email, want.Project)
	}
	if ev.Schema != schema || ev.Source != "acme" || !ev.ObservedAt.Equal(observed) || !bytes.Equal(ev.Raw, raw) {
		t.Errorf("schema %q source %q observed %s: the event must keep its source, schema and bytes", ev.Schema, ev.Source, ev.ObservedAt)
	}
}

// EveryFixtureNamed keeps testdata and a package's tables in step: it
// fails t for each file of testdata/valid and testdata/invalid that valid
// or invalid does not name (a fixture no table names tests nothing).
func EveryFixtureNamed(t *testing.T, valid, invalid []string) {
	t.Helper()
	named := map[string]bool{}
	for _, n := range valid {
		named["valid/"+n] = true
	}
	for _, n := range invalid {
		named["invalid/"+n] = true
	}
	for _, dir := range []string{"valid", "invalid"} {
		ents, err := os.ReadDir(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if !named[dir+"/"+e.Name()] {
				t.Errorf("testdata/%s/%s is in no table", dir, e.Name())
			}
		}
	}
}
