package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"

	"github.com/auditrelay/auditrelay/pipeline"
)

// LoadSources reads only the `sources:` section of the config file at path
// and decodes each source through reg, as Load would. It is for commands
// that query a source's API (list, get, export, stats): they need a
// source's key and base URL, not the secrets of sinks they never start, so
// only the sources' ${env:...} and ${file:...} references are resolved and
// only the sources are checked. The AUDITRELAY_SOURCES__* variables of
// environ apply; the other overrides are left to the commands that load
// the whole file.
func LoadSources(path string, reg *pipeline.Registry, environ []string) ([]pipeline.ComponentSpec, error) {
	data, err := file.Provider(path).ReadBytes()
	if err != nil {
		return nil, &Error{Problems: []string{fmt.Sprintf("reading %s: %v", path, err)}}
	}
	raw, err := yaml.Parser().Unmarshal(data)
	if err != nil {
		return nil, &Error{Problems: []string{fmt.Sprintf("parsing YAML: %v", err)}}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	var p problems
	fromEnv, err := applyEnv(raw, sourceOverrides(environ))
	if err != nil {
		p.addf("%v", err)
	}
	var t struct {
		Sources []map[string]any `koanf:"sources"`
	}
	if s, ok := raw["sources"]; ok {
		only := map[string]any{"sources": expandRefs(s, "sources", filepath.Dir(abs), environ, &p)}
		decodeStrict(only, &t, "", &p)
	}
	if len(t.Sources) == 0 && len(p.list) == 0 {
		p.addf("sources: at least one source is required")
	}
	specs := components(reg, pipeline.KindSource, "sources", t.Sources, true, &p)
	if len(p.list) > 0 {
		p.nameVariables(fromEnv)
		return nil, &Error{Problems: p.masked()}
	}
	return specs, nil
}

// sourceOverrides returns the variables of environ that override a key of
// the sources section.
func sourceOverrides(environ []string) []string {
	var out []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, EnvPrefix+"SOURCES__") {
			out = append(out, kv)
		}
	}
	return out
}
