package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai"
)

func registry(t *testing.T) *pipeline.Registry {
	t.Helper()
	r, err := pipeline.NewRegistry(openai.NewFactory(nil), file.NewFactory(), checkpoint.NewFileFactory(), checkpoint.NewMemoryFactory())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const valid = `
sources:
  - name: acme
    type: openai_audit_logs
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: 720h
transforms: []
sinks:
  - name: archive
    type: file
    path: audit.jsonl
checkpoint:
  type: file
  dir: state
`

var env = []string{"OPENAI_ADMIN_KEY=sk-admin-s3cr3t-value"}

func TestValidConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Parse([]byte(valid), dir, registry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	src := c.Spec.Sources[0].Config.(*openai.Config)
	if src.APIKey.Value() != "sk-admin-s3cr3t-value" {
		t.Fatal("api_key reference not expanded")
	}
	if src.PageSize != 100 || src.Overlap != 5*time.Minute || src.BaseURL != openai.DefaultBaseURL {
		t.Fatalf("defaults not applied: %+v", src)
	}
	if got := src.StartAt.Resolve(time.Now()); time.Since(got) < 719*time.Hour {
		t.Fatalf("start_at 720h resolved to %v", got)
	}
	if c.Spec.Checkpoint.Config.(*checkpoint.FileConfig).Dir != "state" || c.BaseDir != dir {
		t.Fatal("checkpoint dir or base dir wrong")
	}
	if c.Spec.Sinks[0].Retry != pipeline.DefaultRetryPolicy() {
		t.Fatal("sink retry defaults missing")
	}
}

func TestEffectiveConfigMasksSecrets(t *testing.T) {
	c, err := config.Parse([]byte(valid), t.TempDir(), registry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c.Effective())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cr3t") {
		t.Fatalf("secret in effective config:\n%s", out)
	}
	for _, want := range []string{"api_key: '[redacted]'", "page_size: 100", "overlap: 5m0s", "start_at: 720h0m0s", "path: audit.jsonl"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("effective config lacks %q:\n%s", want, out)
		}
	}
}

func TestEnvironmentOverridesAndFileSecrets(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte("sk-admin-from-file\n"), 0o600)
	yml := strings.Replace(valid, "${env:OPENAI_ADMIN_KEY}", "${file:key.txt}", 1)
	c, err := config.Parse([]byte(yml), dir, registry(t), []string{
		"AUDITRELAY_SOURCES__0__PAGE_SIZE=50",
		"AUDITRELAY_SOURCES__0__EVENT_TYPES=login.failed,user.deleted",
		"AUDITRELAY_CHECKPOINT__DIR=/var/lib/auditrelay",
		"AUDITRELAY_LOG__LEVEL=debug",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	src := c.Spec.Sources[0].Config.(*openai.Config)
	if src.APIKey.Value() != "sk-admin-from-file" {
		t.Fatalf("file secret = %q", src.APIKey.Value())
	}
	if src.PageSize != 50 || len(src.EventTypes) != 2 || src.EventTypes[1] != "user.deleted" {
		t.Fatalf("env overrides not applied: page_size %d event_types %v", src.PageSize, src.EventTypes)
	}
	if c.Spec.Checkpoint.Config.(*checkpoint.FileConfig).Dir != "/var/lib/auditrelay" || c.Log.Level != "debug" {
		t.Fatal("env overrides of sections not applied")
	}
}

func TestInvalidConfigs(t *testing.T) {
	src := func(extra string) string {
		return "sources:\n  - name: acme\n    type: openai_audit_logs\n    api_key: k\n" + extra + "sinks:\n  - {name: out, type: file, path: a.jsonl}\n"
	}
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       []string
	}{
		{"unknown top key", src("") + "sourcez: []\n", nil, []string{"sourcez: unknown key"}},
		{"unknown source key", src("    pol_interval: 5s\n"), nil, []string{"sources[0].pol_interval: unknown key"}},
		{"unknown nested key", src("") + "log:\n  levle: debug\n", nil, []string{"log.levle: unknown key"}},
		{"poll interval zero", src("    poll_interval: 0s\n"), nil, []string{"sources[0].poll_interval: must be > 0"}},
		{"poll interval not a duration", src("    poll_interval: soon\n"), nil, []string{"sources[0].poll_interval"}},
		{"duration without a unit", src("    poll_interval: 5\n"), nil, []string{"sources[0].poll_interval: 5 has no unit"}},
		{"invalid events to a dead letter that is not there", src("    on_invalid_event: dead_letter\n"), nil, []string{"sources[0].on_invalid_event: dead_letter needs a dead_letter section"}},
		{"unknown on_invalid_event", src("    on_invalid_event: skip\n"), nil, []string{"sources[0].on_invalid_event: must be stall or dead_letter"}},
		{"fractional duration without a unit", src("    overlap: 1.5\n"), nil, []string{"sources[0].overlap: 1.5 has no unit"}},
		{"sink duration without a unit", src("") + "  - {name: other, type: file, path: x, retry: {max_elapsed: 30}}\n", nil, []string{"sinks[1].retry.max_elapsed: 30 has no unit"}},
		{"duration without a unit from the environment", src(""), []string{"AUDITRELAY_SOURCES__0__POLL_INTERVAL=5"}, []string{"sources[0].poll_interval"}},
		{"page size too large", src("    page_size: 101\n"), nil, []string{"sources[0].page_size: must be between 1 and 100"}},
		{"page size zero", src("    page_size: 0\n"), nil, []string{"sources[0].page_size"}},
		{"negative overlap", src("    overlap: -1m\n"), nil, []string{"sources[0].overlap: must be >= 0"}},
		{"bad start_at", src("    start_at: yesterday\n"), nil, []string{"sources[0].start_at"}},
		{"start_at in future", src("    start_at: 2999-01-01T00:00:00Z\n"), nil, []string{"sources[0].start_at: is in the future"}},
		{"bad base url", src("    base_url: ftp://x\n"), nil, []string{"sources[0].base_url: must be an http(s) URL"}},
		{"max window events below page size", src("    max_window_events: 10\n"), nil, []string{"sources[0].max_window_events"}},
		{"tenant_only with org type", src("    tenant_only: true\n    event_types: [login.failed]\n"), nil, []string{"sources[0].event_types[0]"}},
		{"empty filter value", src("    project_ids: ['']\n"), nil, []string{"sources[0].project_ids[0]: must not be empty"}},
		{"missing api key", "sources:\n  - {name: acme, type: openai_audit_logs}\nsinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources[0].api_key: must be set"}},
		{"missing env var", "sources:\n  - {name: acme, type: openai_audit_logs, api_key: '${env:NOPE}'}\nsinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources[0].api_key: environment variable NOPE is not set"}},
		{"missing secret file", "sources:\n  - {name: acme, type: openai_audit_logs, api_key: '${file:/nonexistent/key}'}\nsinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources[0].api_key: reading secret file"}},
		{"unknown reference kind", "sources:\n  - {name: acme, type: openai_audit_logs, api_key: '${vault:x}'}\nsinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources[0].api_key: unknown reference"}},
		{"source without name", "sources:\n  - {type: openai_audit_logs, api_key: k}\nsinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources[0].name: must be set"}},
		{"duplicate source names", "sources:\n  - {name: a, type: openai_audit_logs, api_key: k}\n  - {name: a, type: openai_audit_logs, api_key: k}\nsinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources[1].name: \"a\" is already the name of sources[0]"}},
		{"unknown source type", "sources:\n  - {name: a, type: openai_audit_log, api_key: k}\nsinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources[0].type: unknown source type \"openai_audit_log\""}},
		{"no sources", "sinks:\n  - {name: o, type: file, path: a}\n", nil, []string{"sources: at least one source"}},
		{"no sinks", "sources:\n  - {name: a, type: openai_audit_logs, api_key: k}\n", nil, []string{"sinks: at least one sink"}},
		{"sink without path", src("") + "  - {name: other, type: file}\n", nil, []string{"sinks[1].path: must be set"}},
		{"sink bad format", src("") + "  - {name: other, type: file, path: x, format: xml}\n", nil, []string{"sinks[1].format"}},
		{"sink type missing", src("") + "  - {name: other}\n", nil, []string{"sinks[1].type: must be set"}},
		{"sink retry invalid", src("") + "  - {name: other, type: file, path: x, retry: {multiplier: 0.5}}\n", nil, []string{"sinks[1].retry.multiplier: must be >= 1"}},
		{"sink retry unknown key", src("") + "  - {name: other, type: file, path: x, retry: {tries: 3}}\n", nil, []string{"sinks[1].retry.tries: unknown key"}},
		{"checkpoint unknown type", src("") + "checkpoint: {type: s3}\n", nil, []string{"checkpoint.type: unknown checkpoint type \"s3\""}},
		{"checkpoint without dir", src("") + "checkpoint: {type: file, dir: ''}\n", nil, []string{"checkpoint.dir: must be set"}},
		{"bad log level", src("") + "log: {level: loud}\n", nil, []string{"log.level: must be debug, info, warn or error"}},
		{"bad env override type", src(""), []string{"AUDITRELAY_SOURCES__0__PAGE_SIZE=many"}, []string{"sources[0].page_size (from AUDITRELAY_SOURCES__0__PAGE_SIZE)"}},
		{"env override of an unknown key", src(""), []string{"AUDITRELAY_LOG__LEVLE=debug"}, []string{"log.levle (from AUDITRELAY_LOG__LEVLE): unknown key"}},
		{"kubernetes service links", src(""), []string{"AUDITRELAY_SERVICE_HOST=10.0.0.1", "AUDITRELAY_PORT=tcp://10.0.0.1:9090"},
			[]string{"service_host (from AUDITRELAY_SERVICE_HOST): unknown key", "port (from AUDITRELAY_PORT): unknown key", "enableServiceLinks: false"}},
		{"not yaml", "sources: [\n", nil, []string{"parsing YAML"}},
		{"errors reported together", src("    page_size: 0\n    poll_interval: 0s\n    bogus: 1\n"), nil,
			[]string{"sources[0].page_size", "sources[0].bogus: unknown key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml), t.TempDir(), registry(t), tc.env)
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			// The same config with secrets given every way a user can:
			// whatever is wrong with it, its errors show none of them.
			const canary = "sk-admin-CANARY-0c1d2e3f4a5b"
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "key"), []byte(canary+"\n"+canary+"-line2\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			yml := strings.ReplaceAll(tc.yaml, "api_key: k\n", "api_key: ${env:CANARY}\n")
			env := append(slices.Clone(tc.env), "CANARY="+canary, "AUDITRELAY_SOURCES__0__API_KEY=${file:key}",
				"AUDITRELAY_LOG__FORMAT=${env:CANARY}")
			_, err = config.Parse([]byte(yml), dir, registry(t), env)
			if err == nil || strings.Contains(err.Error(), "CANARY-0c1d") {
				t.Errorf("with secrets: %v", err)
			}
		})
	}
}

func TestErrorsNeverShowSecrets(t *testing.T) {
	yml := "sources:\n  - {name: acme, type: openai_audit_logs, api_key: 'sk-admin-topsecret x', page_size: 0}\nsinks:\n  - {name: o, type: file, path: a}\n"
	_, err := config.Parse([]byte(yml), t.TempDir(), registry(t), nil)
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("err = %v", err)
	}
}

func TestDottedMapKeysStayWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "auditrelay.yaml")
	// A file sink has no map key; decode the top level with an unknown
	// dotted key and check the error names it whole.
	os.WriteFile(p, []byte(valid+"log.level: debug\n"), 0o600)
	_, err := config.Load(p, registry(t), env)
	if err == nil || !strings.Contains(err.Error(), "log.level: unknown key") {
		t.Fatalf("err = %v; want the dotted key reported whole", err)
	}
}

func TestLoadResolvesRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "auditrelay.yaml")
	os.WriteFile(p, []byte(valid), 0o600)
	c, err := config.Load(p, registry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseDir != dir || c.Path != p {
		t.Fatalf("BaseDir %q Path %q", c.BaseDir, c.Path)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.yaml"), registry(t), env); err == nil {
		t.Fatal("missing file loaded")
	}
}

// TestErrorsNeverShowReferencedValues: a value that came from ${file:} or
// ${env:} never shows in an error, whatever field it is in, however the
// error quotes it: whole, escaped, line by line or as list elements.
func TestErrorsNeverShowReferencedValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "root:x:0:0:canary-root:/root:/bin/bash\ndaemon:x:1:1:\"canary-daemon\":/usr/sbin\n")
	write("list.txt", "canary-type-one\ncanary-type-two\n")
	src := "sources:\n  - name: acme\n    type: openai_audit_logs\n    api_key: k\n"
	sinks := "sinks:\n  - {name: out, type: file, path: a.jsonl}\n"
	for _, tc := range []struct {
		name, yaml string
		env        []string
	}{
		{"a file in an environment override", src + sinks, []string{"AUDITRELAY_LOG__LEVEL=${file:passwd}"}},
		{"a file in a plain field", src + sinks + "log: {level: '${file:passwd}'}\n", nil},
		{"a file in a list field", src + "    event_types: ${file:list.txt}\n    tenant_only: true\n" + sinks, nil},
		{"an environment variable in a duration", src + "    poll_interval: ${env:CANARY}\n" + sinks, []string{"CANARY=canary-env-value\nsecond-canary-line"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml), dir, registry(t), tc.env)
			if err == nil {
				t.Fatal("the config was accepted")
			}
			if strings.Contains(err.Error(), "canary") || strings.Contains(err.Error(), "root:x") {
				t.Fatalf("a referenced value shows in the error:\n%v", err)
			}
		})
	}
	t.Run("a list from a file in the effective config", func(t *testing.T) {
		write("list.txt", "canary-type-one,canary-type-two\n")
		cfg, err := config.Parse([]byte(src+"    event_types: ${file:list.txt}\n"+sinks), dir, registry(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		if out := fmt.Sprint(cfg.Effective()); strings.Contains(out, "canary") {
			t.Fatalf("a referenced value shows in the effective config:\n%s", out)
		}
	})
}

// TestWarningsForSecretsInClear: a source whose admin key would go over
// plain http is valid but warned about, under its key; https and a
// loopback address are not.
func TestWarningsForSecretsInClear(t *testing.T) {
	for _, tc := range []struct {
		base string
		want string
	}{
		{"http://api.example.com/v1", "sources[0].base_url: http://api.example.com/v1 sends the admin key in clear"},
		{"https://api.example.com/v1", ""},
		{"http://127.0.0.1:8080/v1", ""},
		{"http://localhost:8080/v1", ""},
	} {
		yml := "sources:\n  - {name: acme, type: openai_audit_logs, api_key: k, base_url: '" + tc.base + "'}\nsinks:\n  - {name: o, type: file, path: a}\n"
		cfg, err := config.Parse([]byte(yml), t.TempDir(), registry(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(cfg.Warnings, "\n")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: warnings %q, want %q", tc.base, got, tc.want)
		}
	}
}
