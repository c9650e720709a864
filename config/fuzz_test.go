package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai"
)

// FuzzParse feeds any bytes to the config parser: it never panics, it
// returns either a config or a *config.Error, and neither the error nor the
// effective config ever shows the secret the environment holds.
func FuzzParse(f *testing.F) {
	reg, err := pipeline.NewRegistry(openai.NewFactory(nil), file.NewFactory(), checkpoint.NewFileFactory(), checkpoint.NewMemoryFactory())
	if err != nil {
		f.Fatal(err)
	}
	base := f.TempDir()
	f.Add([]byte(valid))
	for _, s := range []string{
		"", "---\n", "sources: 3", "sources: [{}]", "[1, 2]", "a: &a [*a]",
		"sources:\n  - name: x\n    type: nope\n",
		"sources:\n  - name: acme\n    type: openai_audit_logs\n    api_key: ${file:/nonexistent}\n",
		"sources:\n  - name: acme\n    type: openai_audit_logs\n    api_key: ${env:OPENAI_ADMIN_KEY}\n    start_at: 1h\n    timeout: -5s\n    page_size: 1000\n",
		valid + "log: {level: debug, format: json}\nextra: 1\n",
		strings.ReplaceAll(valid, "720h", "\"2024-01-01T00:00:00Z\""),
		"checkpoint: {type: file, dir: ''}\nsinks: [{name: a, type: file, path: x}, {name: a, type: file, path: y}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte("s3cr3t")) {
			return // the input itself holds the secret's text
		}
		cfg, err := config.Parse(data, base, reg, env)
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T, want *config.Error: %v", err, err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("the error shows the secret: %v", err)
			}
			return
		}
		if cfg == nil {
			t.Fatal("nil config without an error")
		}
		if eff := fmt.Sprint(cfg.Effective()); strings.Contains(eff, "s3cr3t") {
			t.Fatalf("the effective config shows the secret: %s", eff)
		}
	})
}
