package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-viper/mapstructure/v2"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/internal/configref"
	"github.com/auditrelay/auditrelay/pipeline"
)

var update = flag.Bool("update", false, "rewrite docs/config from the config structs (go generate ./cmd/auditrelay)")

// docsDir is docs/config seen from this package's directory, where tests
// run; the repository's root is two levels up.
const docsDir = "../../docs/config"

func reference(t *testing.T) (*configref.Reference, *pipeline.Registry) {
	t.Helper()
	reg, err := components()
	if err != nil {
		t.Fatal(err)
	}
	retry := pipeline.DefaultRetryPolicy()
	ref, err := configref.Build(reg, config.DefaultSettings(), &retry, "../..")
	if err != nil {
		t.Fatal(err)
	}
	return ref, reg
}

// TestConfigReference regenerates docs/config in memory and fails when a
// committed file differs, is missing or is no page any more. With -update
// it writes them instead: it is the generator.
func TestConfigReference(t *testing.T) {
	ref, _ := reference(t)
	files := ref.Files()
	onDisk, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		for _, p := range onDisk {
			if _, ok := files[filepath.Base(p)]; !ok {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(docsDir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	const fix = "run go generate ./cmd/auditrelay"
	for _, p := range onDisk {
		if _, ok := files[filepath.Base(p)]; !ok {
			t.Errorf("docs/config/%s is no component's page any more: %s", filepath.Base(p), fix)
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(docsDir, name))
		if err != nil {
			t.Errorf("docs/config/%s is missing: %s", name, fix)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/config/%s is stale (%s): %s", name, firstDiff(got, want), fix)
		}
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, generated %q", i+1, gl, wl)
		}
	}
	return "same lines"
}

// TestConfigReferenceDocumentsEveryKey fails for every key of every
// component, of a sink's retry and of the top level whose field has no
// doc comment, and for every config struct without one (its summary).
func TestConfigReferenceDocumentsEveryKey(t *testing.T) {
	ref, reg := reference(t)
	for _, u := range ref.Undocumented {
		t.Errorf("no doc comment: %s", u)
	}
	n := 0
	for _, k := range configref.Kinds {
		n += len(reg.Types(k))
	}
	if len(ref.Pages) != n || len(ref.Settings) == 0 || len(ref.Retry) == 0 {
		t.Errorf("%d pages for %d component types, %d top-level keys, %d retry keys", len(ref.Pages), n, len(ref.Settings), len(ref.Retry))
	}
}

// TestConfigReferenceAllowedValues: every value a key's comment lists
// ("One of: a, b, c.") passes the component's Validate for that key, and
// a value it does not list is refused, under that key.
func TestConfigReferenceAllowedValues(t *testing.T) {
	ref, reg := reference(t)
	type section struct {
		name string
		keys []configref.Key
		def  func() pipeline.Config
	}
	sections := []section{{"top level", ref.Settings, func() pipeline.Config { return config.DefaultSettings() }}}
	for _, p := range ref.Pages {
		f, _ := reg.Factory(p.Kind, p.Type)
		sections = append(sections, section{p.Kind.String() + " " + p.Type, p.Keys, f.DefaultConfig})
	}
	checked := 0
	for _, s := range sections {
		for _, k := range s.keys {
			if len(k.Values) == 0 {
				continue
			}
			checked++
			for _, v := range append(k.Values, "not-listed") {
				cfg := s.def()
				if err := setKey(cfg, k, v); err != nil {
					t.Fatalf("%s: %s: %v", s.name, k.Path, err)
				}
				errs := keyErrors(cfg.Validate(), k.Path)
				switch {
				case v != "not-listed" && len(errs) > 0:
					t.Errorf("%s: %s: %q is listed, but Validate says %v", s.name, k.Path, v, errs)
				case v == "not-listed" && len(errs) == 0:
					t.Errorf("%s: %s: a value not listed (%q) passes Validate", s.name, k.Path, v)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d keys list their values", checked)
	}
}

// TestConfigReferenceKeysAreKeys: every key the reference lists is one the
// config loader's decoder knows (it refuses unknown keys), so that the
// reference reads the koanf tags as the loader does.
func TestConfigReferenceKeysAreKeys(t *testing.T) {
	ref, reg := reference(t)
	check := func(name string, keys []configref.Key, def func() pipeline.Config) {
		for _, k := range keys {
			if err := setKey(def(), k, nil); err != nil {
				t.Errorf("%s: %s is no key of the decoder: %v", name, k.Path, err)
			}
		}
	}
	check("top level", ref.Settings, func() pipeline.Config { return config.DefaultSettings() })
	check("retry", ref.Retry, func() pipeline.Config { r := pipeline.DefaultRetryPolicy(); return &r })
	for _, p := range ref.Pages {
		f, _ := reg.Factory(p.Kind, p.Type)
		check(p.Kind.String()+" "+p.Type, p.Keys, f.DefaultConfig)
	}
}

// setKey sets key k of cfg to v as the config loader would decode it: v
// alone, or the one element of a list.
func setKey(cfg pipeline.Config, k configref.Key, v any) error {
	val := v
	if v != nil && strings.HasPrefix(k.Type, "list of") {
		val = []any{v}
	}
	parts := strings.Split(k.Path, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		if i < len(parts)-1 {
			if name, ok := strings.CutSuffix(parts[i], "[]"); ok {
				val = map[string]any{name: []any{val}}
				continue
			}
		}
		val = map[string]any{parts[i]: val}
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{TagName: "koanf", ErrorUnused: true, Result: cfg})
	if err != nil {
		return err
	}
	return dec.Decode(val)
}

// keyErrors returns the problems Validate reports under path (a list's
// element of path is its index 0).
func keyErrors(err error, path string) []string {
	path = strings.ReplaceAll(path, "[]", "[0]")
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if msg := err.Error(); strings.HasPrefix(msg, path+":") || strings.HasPrefix(msg, path+"[") {
			out = append(out, msg)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// TestConfigCommand: `config reference TYPE` prints the committed page,
// every page of a type several kinds share unless a kind is given, and
// `config reference` lists every type with its kind and summary.
func TestConfigCommand(t *testing.T) {
	ref, _ := reference(t)
	page := func(name string) string {
		b, err := os.ReadFile(filepath.Join(docsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb}
		return m.Run(context.Background(), append([]string{"config"}, args...)), out.String(), errb.String()
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"reference", "splunk_hec"}, page("sink-splunk_hec.md")},
		{[]string{"reference", "openai_organization_logs"}, page("source-openai_organization_logs.md")},
		{[]string{"reference", "sink", "file"}, page("sink-file.md")},
		{[]string{"reference", "kafka"}, page("sink-kafka.md") + "\n" + page("checkpoint-kafka.md")},
		{[]string{"reference", "index"}, page("README.md")},
	} {
		code, out, errOut := run(tc.args...)
		if code != exitOK || out != tc.want {
			t.Errorf("config %v: exit %d, stderr %q, and stdout is not the page:\n%.300s", tc.args, code, errOut, out)
		}
	}

	code, out, _ := run("reference")
	if code != exitOK {
		t.Fatalf("config reference: exit %d", code)
	}
	lines := strings.Split(out, "\n")
	// Every summary starts in the same column, however long its type.
	col := -1
	for _, p := range ref.Pages {
		for _, l := range lines {
			if i := strings.Index(l, "  "+p.Summary); i >= 0 && strings.Contains(l, " "+p.Type+" ") {
				if col >= 0 && i != col {
					t.Errorf("the summary of %s starts in column %d, others in %d:\n%s", p.Type, i, col, out)
				}
				col = i
			}
		}
	}
	for _, p := range ref.Pages {
		found := false
		for _, l := range lines {
			f := strings.Fields(l)
			found = found || len(f) > 2 && f[0] == p.Kind.String() && f[1] == p.Type && strings.HasSuffix(l, "  "+p.Summary)
		}
		if !found {
			t.Errorf("config reference lists no line %q %q %q:\n%s", p.Kind, p.Type, p.Summary, out)
		}
	}

	for _, args := range [][]string{nil, {"refrence"}, {"reference", "splunk_heck"}, {"reference", "sinks", "file"}, {"reference", "source", "kafka"}} {
		if code, out, errOut := run(args...); code != exitUsage || out != "" || errOut == "" {
			t.Errorf("config %v: exit %d, stdout %q, stderr %q; want exit 2 and a message", args, code, out, errOut)
		}
	}
}

// TestValidateShowsWhatRuns: validate prints a file mode as it is written
// (octal) and the log level and format that apply, not 384 and "".
func TestValidateShowsWhatRuns(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "c.yaml", "sources:\n  - {name: acme, type: openai_audit_logs, api_key: k}\nsinks:\n  - {type: file, path: out.jsonl}\n")
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	if code := m.Run(context.Background(), []string{"validate", "-c", path}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, w := range []string{`mode: "0600"`, "format: text", "level: info"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("validate's output lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), "384") || strings.Contains(out.String(), `format: ""`) {
		t.Errorf("validate shows a decimal mode or an empty format:\n%s", out.String())
	}
}
