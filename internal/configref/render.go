package configref

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	configdocs "github.com/auditrelay/auditrelay/docs/config"
	"github.com/auditrelay/auditrelay/pipeline"
)

// render writes the default value v as a user would write it in YAML.
// A secret is never shown: the default configs hold none, and if one did
// the reference would show only that it is set.
func render(v reflect.Value) string {
	switch t := v.Type(); {
	case t == secretType:
		if v.String() == "" {
			return `""`
		}
		return pipeline.Secret("x").String()
	case t == durationType:
		return formatDuration(time.Duration(v.Int()))
	case t == fileModeType:
		return pipeline.FileMode(v.Uint()).String()
	case t.Implements(marshalType) && t.Kind() != reflect.Pointer:
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "?"
		}
		// A type that holds a time or a duration (start_at) writes the
		// duration as Go does: 720h0m0s.
		if d, err := time.ParseDuration(string(b)); err == nil {
			return formatDuration(d)
		}
		return scalar(string(b))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "null"
		}
		return render(v.Elem())
	case reflect.Struct:
		return ""
	case reflect.String:
		return scalar(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice, reflect.Array:
		if isSection(v.Type().Elem()) {
			if v.Len() == 0 {
				return "[]"
			}
			return fmt.Sprintf("%d sections", v.Len())
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = render(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		parts := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			parts = append(parts, render(k)+": "+render(v.MapIndex(k)))
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

// scalar writes s as YAML would: plain when it reads back as the same
// string, quoted otherwise ("" or "0600").
func scalar(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// formatDuration writes d as a user would, without Go's trailing zero
// units: 168h, not 168h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// width is the length of the lines of the generated text, so that it
// reads in a terminal too.
const width = 80

// wrap breaks each paragraph of text into lines of at most width bytes,
// where words allow.
func wrap(text string) string {
	var out []string
	for para := range strings.SplitSeq(text, "\n\n") {
		var b strings.Builder
		n := 0
		for _, w := range strings.Fields(para) {
			if n > 0 && n+1+len(w) > width {
				b.WriteByte('\n')
				n = 0
			} else if n > 0 {
				b.WriteByte(' ')
				n++
			}
			b.WriteString(w)
			n += len(w)
		}
		out = append(out, b.String())
	}
	return strings.Join(out, "\n\n")
}

// Files returns the generated files by name: a page per component type
// and the index, README.md.
func (r *Reference) Files() map[string][]byte {
	out := map[string][]byte{"README.md": r.index()}
	for _, p := range r.Pages {
		out[configdocs.FileName(p.Kind, p.Type)] = p.markdown()
	}
	return out
}

// generated is the note at the end of every file.
const generated = "Generated from the config structs and their doc comments by\n" +
	"`go generate ./cmd/auditrelay`; edit the comments, not this file.\n"

// markdown is the page of one component type. Its third line is the
// summary (the command that lists the types reads it there).
func (p Page) markdown() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s `%s`\n\n%s\n\n", p.Kind, p.Type, p.Summary)
	if p.Doc != "" {
		fmt.Fprintf(&b, "%s\n\n", wrap(p.Doc))
	}
	fmt.Fprintf(&b, "%s\n\n", wrap(section[p.Kind](p.Type)))
	b.WriteString("## Keys\n\n")
	if len(p.Keys) == 0 {
		b.WriteString("None besides `name` and `type`.\n\n")
	}
	writeKeys(&b, p.Keys)
	b.WriteString(generated)
	return []byte(b.String())
}

// section says where a component's section goes in the file, and where
// the keys every component of its kind takes are.
var section = map[pipeline.Kind]func(typ string) string{
	pipeline.KindSource: func(typ string) string {
		return fmt.Sprintf("An entry of `sources:` with `type: %s` and a `name` (see [every component](README.md#every-component)).", typ)
	},
	pipeline.KindTransform: func(typ string) string {
		return fmt.Sprintf("An entry of `transforms:` with `type: %s` (see [every component](README.md#every-component)).", typ)
	},
	pipeline.KindSink: func(typ string) string {
		return fmt.Sprintf("An entry of `sinks:`, or the `dead_letter:` section, with `type: %s` (see [every component](README.md#every-component)); it also takes the [`retry`](README.md#every-sink) section.", typ)
	},
	pipeline.KindStore: func(typ string) string {
		return fmt.Sprintf("The `checkpoint:` section with `type: %s` (see [every component](README.md#every-component)).", typ)
	},
}

// writeKeys writes one block per key: its path as a heading, its type,
// default and allowed values, and its description.
func writeKeys(b *strings.Builder, keys []Key) {
	for _, k := range keys {
		fmt.Fprintf(b, "### `%s`\n\n", k.Path)
		line := "Type: " + k.Type + "."
		switch {
		case strings.Contains(k.Doc, "(required"):
			// A required key's zero default is not a value to keep.
			line += " Required."
		case k.Unset:
			line += " Default: unset."
		case k.Default != "":
			line += " Default: `" + k.Default + "`."
		}
		if len(k.Values) > 0 {
			line += " One of: `" + strings.Join(k.Values, "`, `") + "`."
		}
		fmt.Fprintf(b, "%s\n\n", wrap(line))
		if k.Doc != "" {
			fmt.Fprintf(b, "%s\n\n", wrap(k.Doc))
		}
	}
}

// kindTitles are the headings of the index's lists of types.
var kindTitles = map[pipeline.Kind]string{
	pipeline.KindSource:    "Sources",
	pipeline.KindTransform: "Transforms",
	pipeline.KindSink:      "Sinks",
	pipeline.KindStore:     "Checkpoint stores",
}

// index is docs/config/README.md: how the file is laid out, the keys
// every component takes, the top-level keys, and the list of types.
func (r *Reference) index() []byte {
	var b strings.Builder
	b.WriteString(indexHead)
	for _, kind := range Kinds {
		fmt.Fprintf(&b, "\n### %s\n\n", kindTitles[kind])
		for _, p := range r.Pages {
			if p.Kind == kind {
				fmt.Fprintf(&b, "- [`%s`](%s): %s\n", p.Type, configdocs.FileName(p.Kind, p.Type), p.Summary)
			}
		}
	}
	b.WriteString(indexTypes)
	b.WriteString(indexComponents)
	b.WriteString("## Every sink\n\n" + wrap("Every sink, and the `dead_letter:` section, also takes `retry:`, "+
		"the one retry policy of the engine: a sink that fails is retried alone, with exponential back-off and "+
		"jitter, a destination's Retry-After taking precedence. Sinks do not retry on their own.") + "\n\n")
	writeKeys(&b, prefixed("retry.", r.Retry))
	b.WriteString(wrap("Every sink also takes `accept:`, the one route of the engine: which of the events "+
		"(alerts of the detect transform included) the sink takes; the others count as delivered for it. "+
		"Left out, the sink takes every event. Not in the `dead_letter:` section, which takes every event it is sent.") + "\n\n")
	writeKeys(&b, prefixed("accept.", r.Accept))
	b.WriteString("## Top level\n\n" + wrap("Besides `sources`, `transforms`, `sinks`, `dead_letter` and "+
		"`checkpoint`, the file takes these keys.") + "\n\n")
	writeKeys(&b, r.Settings)
	b.WriteString(generated)
	return []byte(b.String())
}

// prefixed returns keys with prefix before each path.
func prefixed(prefix string, keys []Key) []Key {
	out := slices.Clone(keys)
	for i := range out {
		out[i].Path = prefix + out[i].Path
	}
	return out
}

const indexHead = "# Configuration reference\n\n" +
	`Every key of every source, transform, sink and checkpoint store that this
build of auditrelay has, with its type, default and allowed values.
` + "`auditrelay config reference TYPE`" + ` prints the same pages,
` + "`auditrelay config reference`" + ` lists the types and
` + "`auditrelay config reference index`" + ` prints this page.

A config file is YAML:

` + "```yaml" + `
sources:          # one or more; each has a name (it keys the checkpoint)
  - name: acme
    type: openai_audit_logs
    api_key: ${env:OPENAI_ADMIN_KEY}
transforms: []    # applied in order to every batch
sinks:            # every batch goes to every sink
  - type: file
    path: audit.jsonl
dead_letter:      # optional: a sink for the events a sink refuses
  type: file
  path: rejected.jsonl
checkpoint:       # where the cursors live; default {type: file, dir: state}
  type: file
  dir: state
log: {level: info, format: text}
` + "```" + `

` + "`auditrelay validate -c FILE`" + ` checks a file, reports every problem at once
with its key path (an unknown key is an error, with the nearest known key
when it looks like a typo), and prints the configuration as it will run,
defaults filled in and secrets masked.

## Component types
`

const indexTypes = `
## How values are written

- **duration**: a number with a unit, as Go parses it: ` + "`500ms`, `30s`, `5m`," + `
  ` + "`720h`" + `. A number without a unit is an error (YAML's ` + "`5`" + ` would be 5
  nanoseconds).
- **secret**: a string that is never printed (` + "`validate`" + `, logs and errors show
  ` + "`[redacted]`" + `). Keep it out of the file with ` + "`${env:NAME}` or `${file:PATH}`" + `.
- **file mode**: permission bits in octal, as chmod takes them: ` + "`0600`" + `.
- **list of strings**: a YAML list, ` + "`[a, b]`" + `; from an environment variable, a
  comma-separated string.
- **map of string to string**: a YAML mapping, ` + "`{team: secops}`" + `; its keys
  are kept whole, dots included.
- **section**: a mapping of the keys listed under it (` + "`tls.ca_file`" + ` is
  ` + "`tls: {ca_file: ...}`" + `). An optional section is off when left out; when
  present, the keys it leaves out take the defaults shown.
- **list of sections**: a YAML list of such mappings; ` + "`severity[].level`" + ` is
  the ` + "`level`" + ` key of each element.

Any value may hold ` + "`${env:NAME}`" + ` (an environment variable) or ` + "`${file:PATH}`" + ` (a
file's content without its trailing newline; a relative path is relative to
the config file). A value that came from such a reference is never shown, in
any key. An environment variable ` + "`AUDITRELAY_`" + ` + the key path in upper case,
levels separated by ` + "`__`" + ` and list indices as numbers, overrides a key:
` + "`AUDITRELAY_SOURCES__0__API_KEY`, `AUDITRELAY_LOG__LEVEL`" + `. A variable with that
prefix that names no key is an error.

`

const indexComponents = `## Every component

Every section of a component takes two keys besides those of its type:

### ` + "`name`" + `

Type: string.

The component's name, unique among the components of its kind, shown in
logs, metrics and errors. A source must have one: it keys the source's
checkpoint, so keep it stable (renaming a source starts it over). A transform
or a sink without one is named after its type; the ` + "`dead_letter`" + ` section's
default name is ` + "`dead_letter`" + ` (it must differ from every sink's), the
` + "`checkpoint`" + ` section's is ` + "`checkpoint`" + `.

### ` + "`type`" + `

Type: string.

Selects the component: one of the types listed above for its kind (required).
The ` + "`checkpoint`" + ` section may be left out: it is then ` + "`{type: file, dir: state}`" + `.

`
