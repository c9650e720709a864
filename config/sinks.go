package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"

	"github.com/auditrelay/auditrelay/pipeline"
)

// LoadSinks reads only the `sinks:` and `dead_letter:` sections of the
// config file at path and decodes each sink through reg, as Load would,
// the dead-letter sink last. It is for commands that read what a sink
// wrote (verify): they need a sink's path and keys, not the secrets of
// sources they never start, so only the sinks' ${env:...} and ${file:...}
// references are resolved and only the sinks are checked. The
// AUDITRELAY_SINKS__* and AUDITRELAY_DEAD_LETTER__* variables of environ
// apply. Relative paths in the sections are relative to the directory
// returned.
func LoadSinks(path string, reg *pipeline.Registry, environ []string) (sinks []pipeline.ComponentSpec, baseDir string, err error) {
	data, err := file.Provider(path).ReadBytes()
	if err != nil {
		return nil, "", &Error{Problems: []string{fmt.Sprintf("reading %s: %v", path, err)}}
	}
	raw, err := yaml.Parser().Unmarshal(data)
	if err != nil {
		return nil, "", &Error{Problems: []string{fmt.Sprintf("parsing YAML: %v", err)}}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	baseDir = filepath.Dir(abs)
	var p problems
	var overrides []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, EnvPrefix+"SINKS__") || strings.HasPrefix(kv, EnvPrefix+"DEAD_LETTER__") {
			overrides = append(overrides, kv)
		}
	}
	fromEnv, err := applyEnv(raw, overrides)
	if err != nil {
		p.addf("%v", err)
	}
	var t struct {
		Sinks      []map[string]any `koanf:"sinks"`
		DeadLetter map[string]any   `koanf:"dead_letter"`
	}
	only := map[string]any{}
	for _, key := range []string{"sinks", "dead_letter"} {
		if s, ok := raw[key]; ok {
			only[key] = expandRefs(s, key, baseDir, environ, &p)
		}
	}
	decodeStrict(only, &t, "", &p)
	specs := components(reg, pipeline.KindSink, "sinks", t.Sinks, false, &p)
	if t.DeadLetter != nil {
		if _, ok := t.DeadLetter["name"]; !ok {
			t.DeadLetter["name"] = "dead_letter"
		}
		if s := component(reg, pipeline.KindSink, "dead_letter", t.DeadLetter, &p); s != nil {
			specs = append(specs, *s)
		}
	}
	if len(p.list) > 0 {
		p.nameVariables(fromEnv)
		return nil, "", &Error{Problems: p.masked()}
	}
	return specs, baseDir, nil
}
