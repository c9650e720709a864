// Command schemagen derives from a published OCSF schema release the facts
// the ocsf transform's tests check a mapped record against, so that the
// tests run without the release itself: the classes the mapping emits and
// the base event, resolved through their extends chains and profiles, each
// with its category; every object those classes can reach, resolved the
// same way; and the data types. Each attribute keeps its type, whether it
// is an array, its requirement, its enum (value and caption), its sibling,
// the profile it comes from and whether it is deprecated; each class and
// object keeps its constraints (at_least_one, just_one). Descriptions are
// left out.
//
// It writes schema.json (with the release's version, read from its
// version.json), and copies the release's LICENSE and version.json beside
// it. Usage (go generate in transform/ocsf runs it):
//
//	go run ./internal/schemagen -schema DIR -out testdata/ocsfschema -classes 0,3001,3002
//
// Resolution follows the schema's own rules: a class's or an object's
// attributes are its parent's (extends), then those of the profiles it
// includes ($include, each attribute tagged with its profile unless the
// including file says "profile": null), then its own, merged key by key;
// each attribute is then laid over the dictionary's entry of that name, so
// an enum a class adds extends the dictionary's.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

type raw = map[string]any

func main() {
	dir := flag.String("schema", "", "the directory of an OCSF schema release (events/, objects/, profiles/, dictionary.json)")
	out := flag.String("out", "", "the directory to write schema.json, LICENSE and version.json to")
	classes := flag.String("classes", "", "comma-separated class_uid values to keep (0 is the base event)")
	flag.Parse()
	if *dir == "" || *out == "" || *classes == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *out, strings.Split(*classes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

// Schema is what schemagen writes: the shape the tests read.
type Schema struct {
	Version string                `json:"version"`
	Classes map[string]*Def       `json:"classes"` // by class_uid
	Objects map[string]*Def       `json:"objects"` // by object name
	Types   map[string]*ValueType `json:"types"`   // by type name (string_t, timestamp_t, ...)
}

// Def is a resolved class or object.
type Def struct {
	Name        string                `json:"name"`
	Caption     string                `json:"caption"`
	UID         int                   `json:"uid,omitempty"`          // class_uid (classes)
	CategoryUID int                   `json:"category_uid,omitempty"` // classes
	Category    string                `json:"category_name,omitempty"`
	Profiles    []string              `json:"profiles,omitempty"`
	Constraints map[string][]string   `json:"constraints,omitempty"`
	Attributes  map[string]*Attribute `json:"attributes"`
}

// Attribute is one resolved attribute of a class or object.
type Attribute struct {
	Type        string            `json:"type"`
	Array       bool              `json:"array,omitempty"`
	Requirement string            `json:"requirement,omitempty"`
	Enum        map[string]string `json:"enum,omitempty"` // value -> caption
	Sibling     string            `json:"sibling,omitempty"`
	Profile     string            `json:"profile,omitempty"`
	Deprecated  bool              `json:"deprecated,omitempty"`
}

// ValueType is a data type: its base type (string_t, integer_t, long_t,
// float_t, boolean_t, json_t: "" for those themselves) and the checks the
// schema attaches to it.
type ValueType struct {
	Base   string    `json:"base,omitempty"`
	Regex  string    `json:"regex,omitempty"`
	MaxLen int       `json:"max_len,omitempty"`
	Range  []float64 `json:"range,omitempty"`
}

type release struct {
	dir                      string
	dict, types, categories  raw
	events, objects          map[string]raw // by name
	resolvedEvt, resolvedObj map[string]raw // attributes by name, once resolved
}

func run(dir, out string, classes []string) error {
	r := &release{dir: dir, events: map[string]raw{}, objects: map[string]raw{}, resolvedEvt: map[string]raw{}, resolvedObj: map[string]raw{}}
	var version struct {
		Version string `json:"version"`
	}
	if err := readJSON(filepath.Join(dir, "version.json"), &version); err != nil {
		return err
	}
	if version.Version == "" {
		return errors.New("version.json names no version")
	}
	var dict raw
	if err := readJSON(filepath.Join(dir, "dictionary.json"), &dict); err != nil {
		return err
	}
	r.dict, _ = dict["attributes"].(raw)
	r.types, _ = mapOf(dict["types"])["attributes"].(raw)
	var cats raw
	if err := readJSON(filepath.Join(dir, "categories.json"), &cats); err != nil {
		return err
	}
	r.categories, _ = cats["attributes"].(raw)
	if err := r.load("events", r.events); err != nil {
		return err
	}
	if err := r.load("objects", r.objects); err != nil {
		return err
	}

	s := Schema{Version: version.Version, Classes: map[string]*Def{}, Objects: map[string]*Def{}, Types: map[string]*ValueType{}}
	byUID := map[string]string{}
	for name := range r.events {
		if uid, ok := r.classUID(name); ok {
			byUID[strconv.Itoa(uid)] = name
		}
	}
	var todo []string
	for _, c := range classes {
		name, ok := byUID[strings.TrimSpace(c)]
		if !ok {
			return fmt.Errorf("no class with class_uid %s", c)
		}
		d, err := r.class(name)
		if err != nil {
			return fmt.Errorf("class %s: %w", name, err)
		}
		s.Classes[strconv.Itoa(d.UID)] = d
		todo = append(todo, objectTypes(d)...)
	}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if _, done := s.Objects[name]; done {
			continue
		}
		d, err := r.object(name)
		if err != nil {
			return fmt.Errorf("object %s: %w", name, err)
		}
		s.Objects[name] = d
		todo = append(todo, objectTypes(d)...)
	}
	for name, v := range r.types {
		t := mapOf(v)
		vt := &ValueType{Base: str(t["type"]), Regex: str(t["regex"])}
		if n, ok := t["max_len"].(float64); ok {
			vt.MaxLen = int(n)
		}
		if rg, ok := t["range"].([]any); ok && len(rg) == 2 {
			lo, _ := rg[0].(float64)
			hi, _ := rg[1].(float64)
			vt.Range = []float64{lo, hi}
		}
		s.Types[name] = vt
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b, err := encode(&s)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "schema.json"), b, 0o644); err != nil {
		return err
	}
	for _, f := range []string{"LICENSE", "version.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// encode writes the schema with one class, object or type a line, so that
// a new release shows as a readable diff.
func encode(s *Schema) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\"version\": %q,\n", s.Version)
	section := func(name string, m map[string]any, last bool) error {
		fmt.Fprintf(&b, "%q: {\n", name)
		keys := slices.Sorted(maps.Keys(m))
		for i, k := range keys {
			v, err := json.Marshal(m[k])
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%q: %s", k, v)
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("}")
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
		return nil
	}
	cl, ob, ty := map[string]any{}, map[string]any{}, map[string]any{}
	for k, v := range s.Classes {
		cl[k] = v
	}
	for k, v := range s.Objects {
		ob[k] = v
	}
	for k, v := range s.Types {
		ty[k] = v
	}
	for _, sec := range []struct {
		name string
		m    map[string]any
	}{{"classes", cl}, {"objects", ob}, {"types", ty}} {
		if err := section(sec.name, sec.m, sec.name == "types"); err != nil {
			return nil, err
		}
	}
	b.WriteString("}\n")
	return []byte(b.String()), nil
}

// load reads every JSON file under the release's folder sub into into, by
// its name member.
func (r *release) load(sub string, into map[string]raw) error {
	return filepath.WalkDir(filepath.Join(r.dir, sub), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		var m raw
		if err := readJSON(p, &m); err != nil {
			return err
		}
		name := str(m["name"])
		if name == "" {
			return fmt.Errorf("%s has no name", p)
		}
		into[name] = m
		return nil
	})
}

// classUID is the class_uid of the event class name: its category's uid x
// 1000 + its own uid; 0 for the base event. Abstract classes (no uid) have
// none.
func (r *release) classUID(name string) (int, bool) {
	if name == "base_event" {
		return 0, true
	}
	e := r.events[name]
	uid, ok := e["uid"].(float64)
	if !ok {
		return 0, false
	}
	cat, ok := r.category(name)
	if !ok {
		return 0, false
	}
	return cat*1000 + int(uid), true
}

// category is the uid of the category the class name belongs to: its own
// "category" member or its parent's.
func (r *release) category(name string) (int, bool) {
	for n := name; n != ""; n = str(r.events[n]["extends"]) {
		if c := str(r.events[n]["category"]); c != "" {
			if c == "other" {
				return 0, true
			}
			uid, ok := mapOf(r.categories[c])["uid"].(float64)
			return int(uid), ok
		}
	}
	return 0, false
}

// attributes resolves the attributes of the definition def of kind
// (events or objects): its parent's, then its includes', then its own.
func (r *release) attributes(def raw, parent func(string) (raw, error)) (raw, error) {
	out := raw{}
	if p := str(def["extends"]); p != "" {
		pa, err := parent(p)
		if err != nil {
			return nil, err
		}
		out = deepCopy(pa)
	}
	own := mapOf(def["attributes"])
	if inc, ok := own["$include"].([]any); ok {
		for _, f := range inc {
			var prof raw
			if err := readJSON(filepath.Join(r.dir, str(f)), &prof); err != nil {
				return nil, err
			}
			pname := str(prof["name"])
			for k, v := range mapOf(prof["attributes"]) {
				a := deepCopy(mapOf(v))
				if _, set := a["profile"]; !set && pname != "" {
					a["profile"] = pname
				}
				out[k] = merge(mapOf(out[k]), a)
			}
		}
	}
	for k, v := range own {
		if k == "$include" {
			continue
		}
		out[k] = merge(mapOf(out[k]), mapOf(v))
	}
	return out, nil
}

func (r *release) eventAttrs(name string) (raw, error) {
	if a, ok := r.resolvedEvt[name]; ok {
		return a, nil
	}
	e, ok := r.events[name]
	if !ok {
		return nil, fmt.Errorf("no event class %q", name)
	}
	a, err := r.attributes(e, r.eventAttrs)
	if err != nil {
		return nil, err
	}
	r.resolvedEvt[name] = a
	return a, nil
}

func (r *release) objectAttrs(name string) (raw, error) {
	if a, ok := r.resolvedObj[name]; ok {
		return a, nil
	}
	o, ok := r.objects[name]
	if !ok {
		return nil, fmt.Errorf("no object %q", name)
	}
	a, err := r.attributes(o, r.objectAttrs)
	if err != nil {
		return nil, err
	}
	r.resolvedObj[name] = a
	return a, nil
}

// constraints are a definition's own, else its parent's.
func (r *release) constraints(defs map[string]raw, name string) map[string][]string {
	for n := name; n != ""; n = str(defs[n]["extends"]) {
		if c, ok := defs[n]["constraints"].(raw); ok {
			out := map[string][]string{}
			for k, v := range c {
				for _, x := range asSlice(v) {
					out[k] = append(out[k], str(x))
				}
				sort.Strings(out[k])
			}
			return out
		}
	}
	return nil
}

// profiles are the profiles a class may carry: its own and its parents'.
func (r *release) profiles(name string) []string {
	var out []string
	for n := name; n != ""; n = str(r.events[n]["extends"]) {
		for _, p := range asSlice(r.events[n]["profiles"]) {
			if !slices.Contains(out, str(p)) {
				out = append(out, str(p))
			}
		}
	}
	sort.Strings(out)
	return out
}

func (r *release) class(name string) (*Def, error) {
	attrs, err := r.eventAttrs(name)
	if err != nil {
		return nil, err
	}
	uid, _ := r.classUID(name)
	cat, _ := r.category(name)
	d := &Def{Name: name, Caption: str(r.events[name]["caption"]), UID: uid, CategoryUID: cat,
		Profiles: r.profiles(name), Constraints: r.constraints(r.events, name)}
	for _, c := range r.categories {
		if int(mapOf(c)["uid"].(float64)) == cat {
			d.Category = str(mapOf(c)["caption"])
		}
	}
	if cat == 0 {
		d.Category = "Uncategorized"
	}
	if d.Attributes, err = r.resolve(attrs); err != nil {
		return nil, err
	}
	// The base event's enums of category_uid and class_uid name only
	// itself; a class has its own category and uid, and its type_uid
	// values are class_uid x 100 + each activity_id, as the schema
	// defines type_uid.
	d.Attributes["category_uid"].Enum = map[string]string{strconv.Itoa(cat): d.Category}
	d.Attributes["class_uid"].Enum = map[string]string{strconv.Itoa(uid): d.Caption}
	types := map[string]string{}
	for act, caption := range d.Attributes["activity_id"].Enum {
		a, _ := strconv.Atoi(act)
		types[strconv.Itoa(uid*100+a)] = d.Caption + ": " + caption
	}
	d.Attributes["type_uid"].Enum = types
	return d, nil
}

func (r *release) object(name string) (*Def, error) {
	attrs, err := r.objectAttrs(name)
	if err != nil {
		return nil, err
	}
	d := &Def{Name: name, Caption: str(r.objects[name]["caption"]), Constraints: r.constraints(r.objects, name)}
	d.Attributes, err = r.resolve(attrs)
	return d, err
}

// resolve lays each attribute over its dictionary entry.
func (r *release) resolve(attrs raw) (map[string]*Attribute, error) {
	out := map[string]*Attribute{}
	for k, v := range attrs {
		dict, ok := r.dict[k].(raw)
		if !ok {
			return nil, fmt.Errorf("attribute %q is not in the dictionary", k)
		}
		m := merge(deepCopy(dict), mapOf(v))
		a := &Attribute{Type: str(m["type"]), Requirement: str(m["requirement"]), Sibling: str(m["sibling"]), Profile: str(m["profile"])}
		if a.Requirement == "" {
			a.Requirement = "optional"
		}
		a.Array, _ = m["is_array"].(bool)
		_, a.Deprecated = m["@deprecated"]
		if e, ok := m["enum"].(raw); ok {
			a.Enum = map[string]string{}
			for val, def := range e {
				a.Enum[val] = str(mapOf(def)["caption"])
			}
		}
		out[k] = a
	}
	return out, nil
}

// objectTypes are the object types the attributes of d hold.
func objectTypes(d *Def) []string {
	var out []string
	for _, a := range d.Attributes {
		if !strings.HasSuffix(a.Type, "_t") {
			out = append(out, a.Type)
		}
	}
	sort.Strings(out)
	return out
}

func readJSON(p string, v any) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// merge lays b over a, key by key, objects merged in depth; a is changed.
func merge(a, b raw) raw {
	if a == nil {
		a = raw{}
	}
	for k, v := range b {
		if vm, ok := v.(raw); ok {
			if am, ok := a[k].(raw); ok {
				a[k] = merge(am, vm)
				continue
			}
			a[k] = deepCopy(vm)
			continue
		}
		a[k] = v
	}
	return a
}

func deepCopy(m raw) raw {
	out := make(raw, len(m))
	for k, v := range m {
		if vm, ok := v.(raw); ok {
			out[k] = deepCopy(vm)
		} else {
			out[k] = v
		}
	}
	return out
}

func mapOf(v any) raw {
	m, _ := v.(raw)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
