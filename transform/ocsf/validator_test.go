package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The validator checks a mapped record against the schema facts that
// internal/schemagen derived from the published release
// (testdata/ocsfschema/schema.json). It is test code: the transform does
// no schema lookup at run time.

type ocsfSchema struct {
	Version string                `json:"version"`
	Classes map[string]*ocsfDef   `json:"classes"`
	Objects map[string]*ocsfDef   `json:"objects"`
	Types   map[string]*valueType `json:"types"`
	regex   map[string]*regexp.Regexp
}

type ocsfDef struct {
	Name        string                    `json:"name"`
	Caption     string                    `json:"caption"`
	UID         int                       `json:"uid"`
	CategoryUID int                       `json:"category_uid"`
	Profiles    []string                  `json:"profiles"`
	Constraints map[string][]string       `json:"constraints"`
	Attributes  map[string]*ocsfAttribute `json:"attributes"`
}

type ocsfAttribute struct {
	Type        string            `json:"type"`
	Array       bool              `json:"array"`
	Requirement string            `json:"requirement"`
	Enum        map[string]string `json:"enum"`
	Sibling     string            `json:"sibling"`
	Profile     string            `json:"profile"`
	Deprecated  bool              `json:"deprecated"`
}

type valueType struct {
	Base   string    `json:"base"`
	Regex  string    `json:"regex"`
	MaxLen int       `json:"max_len"`
	Range  []float64 `json:"range"`
}

var (
	schemaOnce   sync.Once
	loadedSchema *ocsfSchema
	schemaErr    error
)

// loadSchema reads the generated schema facts once per test binary.
func loadSchema(t testing.TB) *ocsfSchema {
	t.Helper()
	schemaOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join("testdata", "ocsfschema", "schema.json"))
		if err != nil {
			schemaErr = err
			return
		}
		var s ocsfSchema
		if err := json.Unmarshal(b, &s); err != nil {
			schemaErr = err
			return
		}
		s.regex = map[string]*regexp.Regexp{}
		for name, vt := range s.Types {
			if vt.Regex != "" {
				if s.regex[name], err = regexp.Compile(vt.Regex); err != nil {
					schemaErr = fmt.Errorf("type %s: %w", name, err)
					return
				}
			}
		}
		loadedSchema = &s
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return loadedSchema
}

// decodeRecord decodes a mapped record keeping numbers as written, so that
// an integer and a float are told apart.
func decodeRecord(t testing.TB, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("record is not a JSON object: %v: %s", err, b)
	}
	return m
}

// validate returns every way record breaks the schema: its class
// (class_uid), the class's category and the base event it extends;
// required attributes, at_least_one and just_one constraints of the class
// and of every object nested in it; attributes the class or object does
// not define, deprecated ones, and those of a profile the record does not
// declare in metadata.profiles; each value's type (timestamps as integer
// milliseconds, integers, strings, booleans, objects, arrays, and the
// patterns and ranges of the typed strings and numbers); enum values and
// the captions their siblings carry; type_uid = class_uid * 100 +
// activity_id.
func (s *ocsfSchema) validate(record map[string]any) []string {
	v := &validation{s: s}
	cu, ok := integer(record["class_uid"])
	class := s.Classes[strconv.FormatInt(cu, 10)]
	if !ok || class == nil {
		return []string{fmt.Sprintf("class_uid %v: not a class of the schema", record["class_uid"])}
	}
	v.profiles = map[string]bool{}
	if md, ok := record["metadata"].(map[string]any); ok {
		if ps, ok := md["profiles"].([]any); ok {
			for _, p := range ps {
				name, _ := p.(string)
				if !slices.Contains(class.Profiles, name) {
					v.add("metadata.profiles", "profile %q is not one of class %s's %v", name, class.Name, class.Profiles)
				}
				v.profiles[name] = true
			}
		}
	}
	v.object("", class, record)
	act, _ := integer(record["activity_id"])
	if tu, ok := integer(record["type_uid"]); !ok || tu != cu*100+act {
		v.add("type_uid", "%v, want class_uid*100+activity_id = %d", record["type_uid"], cu*100+act)
	}
	return v.errs
}

type validation struct {
	s        *ocsfSchema
	profiles map[string]bool
	errs     []string
}

func (v *validation) add(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// present reports whether an object has a value for name: JSON null and
// the empty string count as absent.
func present(o map[string]any, name string) bool {
	v, ok := o[name]
	return ok && v != nil && v != ""
}

func (v *validation) object(path string, def *ocsfDef, o map[string]any) {
	for _, name := range slices.Sorted(maps.Keys(o)) {
		p := join(path, name)
		a := def.Attributes[name]
		switch {
		case a == nil:
			v.add(p, "not an attribute of %s", def.Name)
			continue
		case a.Deprecated:
			v.add(p, "deprecated in the schema")
		case a.Profile != "" && !v.profiles[a.Profile]:
			v.add(p, "attribute of profile %s, which metadata.profiles does not declare", a.Profile)
		}
		v.value(p, a, o[name])
		if a.Sibling != "" && a.Enum != nil && !a.Array {
			n, _ := integer(o[name])
			caption, known := a.Enum[strconv.FormatInt(n, 10)]
			if sib, ok := o[a.Sibling].(string); ok && known && n != 99 && sib != caption {
				v.add(join(path, a.Sibling), "%q, want the caption of %s %d, %q", sib, name, n, caption)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(def.Attributes)) {
		a := def.Attributes[name]
		if a.Requirement == "required" && (a.Profile == "" || v.profiles[a.Profile]) && !present(o, name) {
			v.add(join(path, name), "required by %s, missing", def.Name)
		}
	}
	if c := def.Constraints["at_least_one"]; len(c) > 0 && !slices.ContainsFunc(c, func(n string) bool { return present(o, n) }) {
		v.add(pathOr(path), "%s needs at least one of %v", def.Name, c)
	}
	if c := def.Constraints["just_one"]; len(c) > 0 {
		n := 0
		for _, name := range c {
			if present(o, name) {
				n++
			}
		}
		if n != 1 {
			v.add(pathOr(path), "%s needs exactly one of %v, has %d", def.Name, c, n)
		}
	}
}

func pathOr(p string) string {
	if p == "" {
		return "(record)"
	}
	return p
}

// value checks one attribute's value: an array of its type when the
// schema says so, else one value of its type.
func (v *validation) value(path string, a *ocsfAttribute, x any) {
	if x == nil {
		v.add(path, "null")
		return
	}
	if a.Array {
		l, ok := x.([]any)
		if !ok {
			v.add(path, "%T, want an array of %s", x, a.Type)
			return
		}
		for i, e := range l {
			v.one(fmt.Sprintf("%s[%d]", path, i), a, e)
		}
		return
	}
	v.one(path, a, x)
}

func (v *validation) one(path string, a *ocsfAttribute, x any) {
	if a.Type == "object" { // free-form (unmapped): any members
		if _, ok := x.(map[string]any); !ok {
			v.add(path, "%T, want an object", x)
		}
		return
	}
	if obj, ok := v.s.Objects[a.Type]; ok {
		m, ok := x.(map[string]any)
		if !ok {
			v.add(path, "%T, want object %s", x, a.Type)
			return
		}
		v.object(path, obj, m)
		return
	}
	base := a.Type
	for v.s.Types[base] != nil && v.s.Types[base].Base != "" {
		base = v.s.Types[base].Base
	}
	switch base {
	case "string_t":
		s, ok := x.(string)
		if !ok {
			v.add(path, "%T, want a string (%s)", x, a.Type)
			return
		}
		if re := v.s.regex[a.Type]; re != nil && !re.MatchString(s) {
			v.add(path, "%q does not match %s", s, a.Type)
		}
		if vt := v.s.Types[a.Type]; vt != nil && vt.MaxLen > 0 && len(s) > vt.MaxLen {
			v.add(path, "longer than %s's %d", a.Type, vt.MaxLen)
		}
	case "integer_t", "long_t":
		n, ok := integer(x)
		if !ok {
			v.add(path, "%v (%T), want an integer (%s)", x, x, a.Type)
			return
		}
		// timestamp_t is milliseconds since the epoch: a value in seconds
		// (or microseconds) is off by a factor of a thousand.
		if a.Type == "timestamp_t" && (n < 1e12 || n >= 1e14) {
			v.add(path, "%d is not a time in milliseconds", n)
		}
		if vt := v.s.Types[a.Type]; vt != nil && len(vt.Range) == 2 && (float64(n) < vt.Range[0] || float64(n) > vt.Range[1]) {
			v.add(path, "%d outside %v", n, vt.Range)
		}
	case "float_t":
		if _, ok := x.(json.Number); !ok {
			v.add(path, "%T, want a number", x)
		}
	case "boolean_t":
		if _, ok := x.(bool); !ok {
			v.add(path, "%T, want a boolean", x)
		}
	case "json_t":
	default:
		v.add(path, "type %s unknown to the schema facts", a.Type)
	}
	if a.Enum != nil {
		// Enums are of integers (the *_id attributes), a few of strings.
		key, ok := x.(string)
		if n, isInt := integer(x); isInt {
			key, ok = strconv.FormatInt(n, 10), true
		}
		if _, in := a.Enum[key]; !ok || !in {
			v.add(path, "%v not in the enum %v", x, slices.Sorted(maps.Keys(a.Enum)))
		}
	}
}

// integer is x as an integer, when it is a JSON number without a fraction
// or exponent.
func integer(x any) (int64, bool) {
	n, ok := x.(json.Number)
	if !ok || strings.ContainsAny(string(n), ".eE") {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}
