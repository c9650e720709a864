//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim/anthropicsimtest"
)

// anthropicCanary is a recognisable fake compliance key: it must never
// appear in any output, log line, metric or file the binary writes.
const anthropicCanary = "sk-ant-api01-CANARY-4c1e8d7b93a2f605"

// TestSecretsNeverLeakAnthropic is TestSecretsNeverLeak for the Anthropic
// activity-feed source's key: in the environment and in a secret file, on
// success and on failure (a key the API refuses, one without the scope,
// an invalid config that quotes it), at debug level, as a daemon serving
// /metrics; everything it produced is searched for the key.
func TestSecretsNeverLeakAnthropic(t *testing.T) {
	_, base := anthropicsimtest.Start(t, anthropicsim.Options{Seed: 21, Activities: 500, Span: 24 * time.Hour, Rate: 5,
		Keys: []anthropicsim.Key{{Secret: anthropicCanary}}})
	_, refusing := anthropicsimtest.Start(t, anthropicsim.Options{Seed: 21, Activities: 10, Span: time.Hour,
		Keys: []anthropicsim.Key{{Secret: "sk-ant-api01-other"}}})
	_, noScope := anthropicsimtest.Start(t, anthropicsim.Options{Seed: 21, Activities: 10, Span: time.Hour,
		Keys: []anthropicsim.Key{{Secret: anthropicCanary, Scopes: []string{"read:compliance_user_data"}}}})
	env := append(os.Environ(), "ANTHROPIC_COMPLIANCE_KEY="+anthropicCanary)
	h := newLeakHunt(t, anthropicCanary, env)
	// extra goes into the source.
	config := func(name, base, key, extra string) string {
		return h.config(name, fmt.Sprintf(`sources:
  - name: claude
    type: anthropic_compliance_activities
    base_url: %s
    api_key: %s
    start_at: 24h
    settle: 0s
    max_retries: 1
%s
transforms:
  - name: enrich
    type: enrich
  - name: redact
    type: redact
`, base, key, extra), "")
	}
	good := config("good", base, "${env:ANTHROPIC_COMPLIANCE_KEY}", "")
	fromFile := config("file", base, "${file:key.txt}", "")
	refused := config("refused", refusing, "${env:ANTHROPIC_COMPLIANCE_KEY}", "")
	scopeless := config("scopeless", noScope, "${file:key.txt}", "")
	// Invalid: a key with white space around a quote of it, and the key
	// read into a list of activity types as well as a plain field.
	invalid := config("invalid", base+"/v1", "${env:ANTHROPIC_COMPLIANCE_KEY}",
		"    page_size: 0\n    activity_types: [\"${file:key.txt}\"]\n    exclude_activity_types: [x]\n    on_invalid_event: ${file:key.txt}")
	daemonCfg := config("daemon", base, "${env:ANTHROPIC_COMPLIANCE_KEY}", "")
	appendFile(t, daemonCfg, "server:\n  listen: 127.0.0.1:0\n", "  level: debug\n")

	h.run(0, "validate", "-c", good)
	h.run(0, "run", "-c", good, "--once")
	h.run(0, "run", "-c", fromFile, "--once", "--log-format", "json")
	h.run(1, "run", "-c", refused, "--once")
	h.run(1, "run", "-c", scopeless, "--once")
	h.run(2, "validate", "-c", invalid)
	for i, want := range map[int]string{3: "compliance key was refused (401)", 4: "read:compliance_activities", 5: "exclude_activity_types"} {
		if !strings.Contains(h.outputs[i], want) {
			t.Errorf("%.200s... does not say %q", h.outputs[i], want)
		}
	}

	d := startDaemon(t, daemonCfg, env, h.dir)
	addr := servingAddr(t, d.logs)
	if _, err := d.logs.Await(committed, 30*time.Second); err != nil {
		t.Errorf("the daemon committed no window: %v", err)
	}
	h.scrape(addr, "/metrics", "/readyz")
	if err := d.stop(t); err != nil {
		t.Errorf("the daemon's exit after SIGTERM: %v", err)
	}
	h.outputs = append(h.outputs, "daemon:\n"+d.logs.String())
	h.check(3, []string{anthropicCanary, "CANARY"}, "key.txt")
}
