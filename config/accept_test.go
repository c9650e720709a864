package config_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai"
	"github.com/auditrelay/auditrelay/transform/detect"
)

func detectRegistry(t *testing.T) *pipeline.Registry {
	t.Helper()
	r, err := pipeline.NewRegistry(openai.NewFactory(nil), file.NewFactory(), checkpoint.NewFileFactory(),
		checkpoint.NewMemoryFactory(), detect.NewFactory())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const withAlerts = `
sources:
  - name: acme
    type: openai_audit_logs
    api_key: ${env:OPENAI_ADMIN_KEY}
transforms:
  - type: detect
sinks:
  - name: archive
    type: file
    path: audit.jsonl
  - name: alerts
    type: file
    path: alerts.jsonl
    accept:
      types: [auditrelay.alert]
      exclude_types: ["auditrelay.alert.test"]
checkpoint:
  type: %s
`

// TestAcceptAndDetectState: a sink's accept section is decoded into its
// spec (and shown by validate), the detect state goes beside the file
// checkpoint's cursors, and lives in memory with the memory checkpoint.
func TestAcceptAndDetectState(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Parse([]byte(strings.Replace(withAlerts, "%s", "file\n  dir: state", 1)), dir, detectRegistry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Spec.Sinks[1].Accept; !slices.Equal(a.Types, []string{"auditrelay.alert"}) || len(a.ExcludeTypes) != 1 {
		t.Errorf("alerts accept %+v", a)
	}
	if !c.Spec.Sinks[0].Accept.All() {
		t.Errorf("archive accept %+v, want every event", c.Spec.Sinks[0].Accept)
	}
	if got := c.Spec.Transforms[0].Config.(*detect.Config).StateDir; got != filepath.Join("state", "detect") {
		t.Errorf("state_dir %q, want state/detect", got)
	}
	eff := c.Effective()
	sinks := eff["sinks"].([]any)
	if _, ok := sinks[1].(map[string]any)["accept"]; !ok {
		t.Errorf("the effective config shows no accept: %v", sinks[1])
	}
	two := strings.Replace(withAlerts, "  - type: detect\n", "  - type: detect\n  - name: strict\n    type: detect\n", 1)
	c2, err := config.Parse([]byte(strings.Replace(two, "%s", "file\n  dir: state", 1)), dir, detectRegistry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Spec.Transforms[1].Config.(*detect.Config).StateDir; got != filepath.Join("state", "detect-strict") {
		t.Errorf("a second detect's state_dir %q, want state/detect-strict", got)
	}
	m, err := config.Parse([]byte(strings.Replace(withAlerts, "%s", "memory", 1)), dir, detectRegistry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Spec.Transforms[0].Config.(*detect.Config).StateDir; got != "" {
		t.Errorf("state_dir %q with the memory checkpoint, want none", got)
	}
}

// TestAcceptAndDetectErrors: every bad key is named with its path.
func TestAcceptAndDetectErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{strings.Replace(withAlerts, "types: [auditrelay.alert]", "types: [\"[bad\"]", 1), "sinks[1].accept.types[0]"},
		{strings.Replace(withAlerts, "exclude_types:", "exclude_typs:", 1), "sinks[1].accept.exclude_typs"},
		{withAlerts + "dead_letter:\n  type: file\n  path: dl.jsonl\n  accept:\n    types: [x]\n", "dead_letter.accept"},
		{strings.Replace(withAlerts, "  - type: detect\n", "  - type: detect\n    packs: [nope]\n", 1), "transforms[0].packs[0]"},
		{strings.Replace(withAlerts, "  - type: detect\n", "  - type: detect\n    rules:\n      - name: r\n        types: [x]\n        threshold: {count: 1, within: 0s}\n", 1),
			"transforms[0].rules[0].threshold.count"},
		{strings.Replace(withAlerts, "  - type: detect\n", "  - type: detect\n    rules:\n      - name: r\n        types: [x]\n        group_by: nationality\n", 1),
			"transforms[0].rules[0].group_by"},
		{strings.Replace(withAlerts, "  - type: detect\n", "  - type: detect\n    rules:\n      - name: openai-user-deleted\n        types: [x]\n", 1),
			`transforms[0].rules: rule "openai-user-deleted"`},
	} {
		_, err := config.Parse([]byte(strings.Replace(tc.yaml, "%s", "file\n  dir: state", 1)), t.TempDir(), detectRegistry(t), env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %s", err, tc.want)
		}
	}
}
