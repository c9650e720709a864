package configref

import (
	"encoding"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
)

// module is the import path of the repository's root; a config struct's
// package path below it is the directory of its source.
const module = "github.com/auditrelay/auditrelay"

// Key is one key of a section.
type Key struct {
	// Path is the key's dotted path within its section: "tls.ca_file",
	// "severity[].level" for a key of each element of a list.
	Path string
	// Type is the key's type as a user writes it: string, integer,
	// duration, list of strings...
	Type string
	// Default is the default as YAML would write it; "" for a key of a
	// list's element, which has none, and for an unset one.
	Default string
	// Unset is true for an optional key or section that is absent unless
	// the file sets it.
	Unset bool
	// Doc is the field's doc comment, its allowed values taken out.
	Doc string
	// Values are the allowed values, from a sentence "One of: a, b, c." of
	// the doc comment; nil when the key takes any value of its type.
	Values []string
	// Where is the field in the source ("sinks/kafka/config.go:
	// SASLConfig.Username"), for a message about its comment.
	Where string
}

// Page is the reference of one component type.
type Page struct {
	Kind pipeline.Kind
	Type string
	// Summary is the first sentence of the config struct's doc comment,
	// without its "Config configures"; Doc is the rest.
	Summary, Doc string
	Keys         []Key
}

// Reference is the whole configuration reference.
type Reference struct {
	// Pages are the component types, by kind (sources, transforms, sinks,
	// checkpoint stores) and type.
	Pages []Page
	// Settings are the top-level keys besides the components' sections;
	// Retry the keys of a sink's retry section, Accept those of its
	// accept section.
	Settings, Retry, Accept []Key
	// Undocumented lists the fields of keys that have no doc comment.
	Undocumented []string
}

// Kinds are the kinds of components in the order the reference lists
// them.
var Kinds = []pipeline.Kind{pipeline.KindSource, pipeline.KindTransform, pipeline.KindSink, pipeline.KindStore}

// Build reads the reference of every component of reg, of settings (the
// top-level keys) and of retry (a sink's retry policy) from their default
// configs and from the Go source under root, the repository's root.
func Build(reg *pipeline.Registry, settings, retry pipeline.Config, root string) (*Reference, error) {
	src := &source{root: root, fset: token.NewFileSet(), pkgs: map[string]map[string]*structDoc{}}
	ref := &Reference{}
	var err error
	if ref.Settings, err = src.keys(settings, &ref.Undocumented); err != nil {
		return nil, err
	}
	if ref.Retry, err = src.keys(retry, &ref.Undocumented); err != nil {
		return nil, err
	}
	if ref.Accept, err = src.keys(&pipeline.Accept{}, &ref.Undocumented); err != nil {
		return nil, err
	}
	for _, kind := range Kinds {
		for _, typ := range reg.Types(kind) {
			f, _ := reg.Factory(kind, typ)
			cfg := f.DefaultConfig()
			keys, err := src.keys(cfg, &ref.Undocumented)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", kind, typ, err)
			}
			st, err := src.structOf(reflect.TypeOf(cfg))
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", kind, typ, err)
			}
			summary, doc := summarize(st.name, st.doc)
			if summary == "" {
				ref.Undocumented = append(ref.Undocumented, fmt.Sprintf("%s: type %s (the config of %s %s)", st.file, st.name, kind, typ))
			}
			ref.Pages = append(ref.Pages, Page{Kind: kind, Type: typ, Summary: summary, Doc: doc, Keys: keys})
		}
	}
	// A section several components share (tls) is reported once.
	slices.Sort(ref.Undocumented)
	ref.Undocumented = slices.Compact(ref.Undocumented)
	return ref, nil
}

// source reads the doc comments of config structs from the Go files of
// their packages.
type source struct {
	root string
	fset *token.FileSet
	// pkgs holds the structs of each package read, by type name.
	pkgs map[string]map[string]*structDoc
}

// structDoc is what the source says about one struct type.
type structDoc struct {
	name, file, doc string
	fields          map[string]string // doc comment by field name
}

// structOf returns the doc of struct type t (or of what t points to).
func (s *source) structOf(t reflect.Type) (*structDoc, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg, ok := s.pkgs[t.PkgPath()]
	if !ok {
		var err error
		if pkg, err = s.parse(t.PkgPath()); err != nil {
			return nil, err
		}
		s.pkgs[t.PkgPath()] = pkg
	}
	st, ok := pkg[t.Name()]
	if !ok {
		return nil, fmt.Errorf("no struct type %s in the source of %s", t.Name(), t.PkgPath())
	}
	return st, nil
}

// parse reads the struct types of the package at import path pkgPath.
func (s *source) parse(pkgPath string) (map[string]*structDoc, error) {
	rel, ok := strings.CutPrefix(pkgPath, module+"/")
	if !ok {
		return nil, fmt.Errorf("package %s is outside the module", pkgPath)
	}
	files, err := filepath.Glob(filepath.Join(s.root, filepath.FromSlash(rel), "*.go"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Go source for %s under %s", pkgPath, s.root)
	}
	out := map[string]*structDoc{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(s.fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				sd := &structDoc{name: ts.Name.Name, file: path(rel, name), doc: doc.Text(), fields: map[string]string{}}
				for _, field := range st.Fields.List {
					text := field.Doc.Text()
					if text == "" {
						text = field.Comment.Text()
					}
					for _, n := range field.Names {
						sd.fields[n.Name] = text
					}
				}
				out[ts.Name.Name] = sd
			}
		}
	}
	return out, nil
}

// path is the slash path of file name within the repository.
func path(rel, name string) string { return rel + "/" + filepath.Base(name) }

var (
	durationType  = reflect.TypeFor[time.Duration]()
	secretType    = reflect.TypeFor[pipeline.Secret]()
	fileModeType  = reflect.TypeFor[pipeline.FileMode]()
	unmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
	marshalType   = reflect.TypeFor[encoding.TextMarshaler]()
	defaulterType = reflect.TypeFor[pipeline.Defaulter]()
)

// keys lists the keys of config cfg, its defaults the values cfg holds.
// Fields without a doc comment are added to undocumented.
func (s *source) keys(cfg any, undocumented *[]string) ([]Key, error) {
	var out []Key
	v := reflect.ValueOf(cfg)
	err := s.walk(v.Type(), v, "", &out, undocumented)
	return out, err
}

// walk adds the keys of struct type t to out, with the defaults v holds
// (no defaults when v is not valid: the element of a list).
func (s *source) walk(t reflect.Type, v reflect.Value, prefix string, out *[]Key, undocumented *[]string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if v.IsValid() {
			v = v.Elem()
		}
	}
	st, err := s.structOf(t)
	if err != nil {
		return err
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, squash, skip := config.FieldKey(f)
		if skip {
			continue
		}
		var fv reflect.Value
		if v.IsValid() {
			fv = v.Field(i)
		}
		if squash {
			if err := s.walk(f.Type, fv, prefix, out, undocumented); err != nil {
				return err
			}
			continue
		}
		k := Key{Path: prefix + name, Type: yamlType(f.Type), Where: st.file + ": " + st.name + "." + f.Name}
		switch {
		case !fv.IsValid(): // a key of a list's element has no default
		case (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Interface) && fv.IsNil():
			k.Unset = true
		default:
			k.Default = render(fv)
		}
		k.Doc, k.Values, err = describe(st.fields[f.Name], f.Name, name)
		if err != nil {
			return fmt.Errorf("%s: %w", k.Where, err)
		}
		if k.Doc == "" {
			*undocumented = append(*undocumented, k.Where+" (key "+k.Path+")")
		}
		*out = append(*out, k)

		// The keys of a nested section follow its own row.
		switch ft := f.Type; {
		case isSection(ft):
			err = s.walk(ft, fv, k.Path+".", out, undocumented)
		case ft.Kind() == reflect.Pointer && isSection(ft.Elem()):
			// An optional section: when present, the keys it leaves out
			// take the defaults of its SetDefaults, or their zero values.
			def := reflect.New(ft.Elem())
			if ft.Implements(defaulterType) {
				def.Interface().(pipeline.Defaulter).SetDefaults()
			}
			err = s.walk(ft.Elem(), def.Elem(), k.Path+".", out, undocumented)
		case ft.Kind() == reflect.Slice && isSection(ft.Elem()):
			err = s.walk(ft.Elem(), reflect.Value{}, k.Path+"[].", out, undocumented)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// isSection reports whether a value of type t is written as a section of
// keys rather than a single value.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !isScalar(t)
}

// isScalar reports whether t is written as one value although Go holds it
// in a struct or a number: a duration, a secret, a file mode, or a type
// that parses its own text (an RFC 3339 time or a duration, say).
func isScalar(t reflect.Type) bool {
	return t == durationType || t == secretType || t == fileModeType || reflect.PointerTo(t).Implements(unmarshalType)
}

// yamlType names t as a user writes it in YAML.
func yamlType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == secretType:
		return "secret"
	case t == fileModeType:
		return "file mode"
	case reflect.PointerTo(t).Implements(unmarshalType):
		return "string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isSection(t.Elem()) {
			return "section, optional"
		}
		return yamlType(t.Elem())
	case reflect.Struct:
		return "section"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if isSection(t.Elem()) {
			return "list of sections"
		}
		return "list of " + yamlType(t.Elem()) + "s"
	case reflect.Map:
		return "map of " + yamlType(t.Key()) + " to " + yamlType(t.Elem())
	case reflect.Interface:
		return "any"
	}
	return t.Kind().String()
}

// oneOf finds the allowed values of a key in its doc comment.
var oneOf = regexp.MustCompile(`(?:^|\s)One of: ([^\n]*?)\.(?:\s|$)`)

// describe turns the doc comment of field goName into the text of key:
// paragraphs on one line each, the field's Go name at the start replaced
// by the key, the sentence "One of: a, b, c." taken out as the values.
func describe(comment, goName, key string) (string, []string, error) {
	text := paragraphs(comment)
	if rest, ok := strings.CutPrefix(text, goName+" "); ok {
		text = "`" + key + "` " + rest
	}
	m := oneOf.FindStringSubmatchIndex(text)
	if m == nil {
		return text, nil, nil
	}
	var values []string
	for v := range strings.SplitSeq(text[m[2]:m[3]], ", ") {
		if v == "" || strings.ContainsFunc(v, unicode.IsSpace) {
			return "", nil, fmt.Errorf("allowed values must read \"One of: a, b, c.\": %q", text[m[0]:m[1]])
		}
		values = append(values, v)
	}
	// Take the sentence out; a paragraph is one line of text, so the lines
	// left, blank ones dropped, are the paragraphs.
	text = text[:m[0]] + " " + text[m[3]+1:]
	var paras []string
	for line := range strings.SplitSeq(text, "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			paras = append(paras, line)
		}
	}
	return strings.Join(paras, "\n\n"), values, nil
}

// summarize splits the doc comment of the config struct name into its
// first sentence, without the "Name configures " it starts with, and the
// rest.
func summarize(name, doc string) (summary, rest string) {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return "", ""
	}
	first := doc
	for i := 0; i+1 < len(doc); i++ {
		if doc[i] == '.' && (doc[i+1] == ' ' || doc[i+1] == '\n') {
			first, rest = doc[:i+1], doc[i+2:]
			break
		}
	}
	first = strings.Join(strings.Fields(first), " ")
	if s, ok := strings.CutPrefix(first, name+" configures "); ok {
		first = s
	} else {
		first = strings.TrimPrefix(first, name+" ")
	}
	return strings.ToUpper(first[:1]) + first[1:], paragraphs(rest)
}

// paragraphs joins the lines of each paragraph of a comment into one.
func paragraphs(comment string) string {
	var out []string
	for p := range strings.SplitSeq(strings.TrimSpace(comment), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n\n")
}
