package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/source/openai"
)

// sourcesOnly has a sink whose secret the environment does not give and a
// section that would be refused: a query command needs neither.
const sourcesOnly = `
sources:
  - name: acme
    type: openai_audit_logs
    api_key: ${env:ACME_KEY}
    base_url: ${file:base_url.txt}
sinks:
  - name: archive
    type: file
    path: ${env:UNSET_SINK_PATH}
    bogus: 1
`

func TestLoadSources(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auditrelay.yaml")
	if err := os.WriteFile(path, []byte(sourcesOnly), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "base_url.txt"), []byte("http://127.0.0.1:1/v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const key = "sk-admin-sources-s3cr3t"
	for _, tc := range []struct {
		name    string
		environ []string
		wantErr []string
	}{
		{"sinks not resolved", []string{"ACME_KEY=" + key}, nil},
		{"override of a source", []string{"ACME_KEY=x", "AUDITRELAY_SOURCES__0__API_KEY=" + key}, nil},
		{"overrides of other sections ignored", []string{"ACME_KEY=" + key, "AUDITRELAY_SINKS__NAME=" + key, "AUDITRELAY_PORT=tcp://10.0.0.1:80"}, nil},
		{"missing source key", nil, []string{"sources[0].api_key", "ACME_KEY is not set"}},
		{"bad override", []string{"ACME_KEY=" + key, "AUDITRELAY_SOURCES__0__PAGE_SIZE=" + key}, []string{"sources[0].page_size (from AUDITRELAY_SOURCES__0__PAGE_SIZE)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := config.LoadSources(path, registry(t), tc.environ)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				c := specs[0].Config.(*openai.Config)
				if len(specs) != 1 || specs[0].Name != "acme" || c.APIKey.Value() != key || c.BaseURL != "http://127.0.0.1:1/v1" {
					t.Fatalf("got %+v", specs)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("a secret in the error: %v", err)
			}
		})
	}
	// The whole file is refused, as run must refuse it.
	if _, err := config.Load(path, registry(t), []string{"ACME_KEY=" + key}); err == nil {
		t.Fatal("Load accepted the unset sink variable")
	}
	if _, err := config.LoadSources(filepath.Join(dir, "none.yaml"), registry(t), nil); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Fatalf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, []byte("sinks: []\n"), 0o600)
	if _, err := config.LoadSources(empty, registry(t), nil); err == nil || !strings.Contains(err.Error(), "sources: at least one source") {
		t.Fatalf("no sources: %v", err)
	}
}
