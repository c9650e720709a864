package config_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/auditrelay/auditrelay/config"
)

// TestEffectiveShowsWhatRuns: the effective config shows a file mode in
// octal, as it is written, and the log level and format that apply when
// the file leaves them out or empty, not "" or the decimal 384.
func TestEffectiveShowsWhatRuns(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"defaults", "", []string{`mode: "0600"`, "format: text", "level: info"}},
		{"written empty", "log: {level: '', format: ''}\n", []string{"format: text", "level: info"}},
		{"set", "log: {level: debug, format: json}\n", []string{"format: json", "level: debug"}},
		{"a mode set", "", []string{`mode: "0640"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := valid + tc.extra
			if tc.name == "a mode set" {
				yml = strings.Replace(yml, "path: audit.jsonl\n", "path: audit.jsonl\n    mode: 0640\n", 1)
			}
			c, err := config.Parse([]byte(yml), t.TempDir(), registry(t), env)
			if err != nil {
				t.Fatal(err)
			}
			out, err := yaml.Marshal(c.Effective())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("effective config lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), `format: ""`) || strings.Contains(string(out), "mode: 384") {
				t.Errorf("effective config shows an empty format or a decimal mode:\n%s", out)
			}
		})
	}
}
