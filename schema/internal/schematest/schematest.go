// Package schematest is what the vendor schema packages' tests share:
// reading their fixtures, checking a vendor's reader against them, and
// encoding/json's reading of a record, the reference each package's reader
// is held to.
package schematest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

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
func EveryFixtureNamed(t *testing.T, valid []string, invalid []Invalid) {
	t.Helper()
	named := map[string]bool{}
	for _, n := range valid {
		named["valid/"+n] = true
	}
	for _, c := range invalid {
		named["invalid/"+c.File] = true
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

// Reader is a vendor's reading of one record, F being what its ReadObject
// gives, as the package's tests hold it to the fixtures and to
// encoding/json.
type Reader[F any] struct {
	Schema string
	Parse  func(raw []byte, source string, observed time.Time) (pipeline.Event, error)
	Read   func(raw []byte) (F, error)
	// ID and Time are the members that hold a record's id and its time.
	ID, Time string
}

// Valid parses the fixture valid/file for the source "acme", checks the
// event against want (CheckEvent), and returns what Read finds in the
// record, for the vendor's own checks.
func (r Reader[F]) Valid(t *testing.T, file string, want Want) F {
	t.Helper()
	observed := time.Date(2026, 7, 9, 11, 0, 0, 0, time.UTC)
	raw := Fixture(t, "valid", file)
	ev, err := r.Parse(raw, "acme", observed)
	if err != nil {
		t.Fatal(err)
	}
	CheckEvent(t, ev, raw, r.Schema, observed, want)
	f, err := r.Read(raw)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Invalid is a fixture of testdata/invalid and the error Parse gives of it.
type Invalid struct{ File, Want string }

// CheckInvalid parses each fixture of cases, in a subtest named after the
// file, and fails unless Parse gives exactly the error the case wants.
func (r Reader[F]) CheckInvalid(t *testing.T, cases []Invalid) {
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.File, ".json"), func(t *testing.T) {
			_, err := r.Parse(Fixture(t, "invalid", tc.File), "acme", time.Time{})
			if err == nil || err.Error() != tc.Want {
				t.Fatalf("err = %v, want %q", err, tc.Want)
			}
		})
	}
}

// AddFixtures adds every fixture of testdata/valid and testdata/invalid
// to the fuzzer's corpus.
func AddFixtures(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		ents, _ := os.ReadDir(filepath.Join("testdata", dir))
		for _, e := range ents {
			f.Add(Fixture(f, dir, e.Name()))
		}
	}
}

// Fuzz holds the reader to encoding/json on raw: Read accepts exactly the
// inputs encoding/json finds to be one JSON object, and Parse never accepts
// a record without an id nor changes its bytes. On an object with valid
// UTF-8 that encoding/json reads whole (as m), check compares the fields
// read with m, and Parse accepts exactly the records with an id and an RFC
// 3339 time, read as the same instant.
func (r Reader[F]) Fuzz(t *testing.T, raw []byte, check func(f F, m map[string]any)) {
	t.Helper()
	fields, err := r.Read(raw)
	isObject := json.Valid(raw) && bytes.TrimLeft(raw, " \t\r\n")[0] == '{'
	if (err == nil) != isObject {
		t.Fatalf("%q: ReadObject err %v, encoding/json finds an object: %v", raw, err, isObject)
	}
	ev, perr := r.Parse(raw, "acme", time.Time{})
	if perr == nil && (ev.ID == "" || !bytes.Equal(ev.Raw, raw)) {
		t.Fatalf("%q: accepted without %s, or changed the bytes", raw, r.ID)
	}
	if err != nil || !jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true)) {
		return // not an object, or invalid UTF-8 encoding/json would replace
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return // a number too large for float64
	}
	check(fields, m)
	ts, terr := time.Parse(time.RFC3339Nano, Str(m, r.Time))
	if wantOK := Str(m, r.ID) != "" && Str(m, r.Time) != "" && terr == nil; (perr == nil) != wantOK {
		t.Fatalf("%q: Parse err %v, encoding/json's reading accepts: %v", raw, perr, wantOK)
	}
	if perr == nil && !ev.Time.Equal(ts) {
		t.Fatalf("%q: time %s, want %s", raw, ev.Time, ts)
	}
}
