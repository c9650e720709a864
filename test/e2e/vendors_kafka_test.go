//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim/anthropicsimtest"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// TestOpenAIAndAnthropicIntoOneTopic runs one auditrelay with an OpenAI
// audit-log source and an Anthropic activity-feed source into one Kafka
// topic (a kfake broker in its own process) and reads it back with kcat:
// every event of both vendors once, as the vendor sent it, under the same
// header names for vendor, type and id, keyed by id.
func TestOpenAIAndAnthropicIntoOneTopic(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatal("kcat is not on PATH: `apt-get install kcat` (.ci/run installs it)")
	}
	const n = 1500
	osim, obase := openaisimtest.Start(t, openaisim.Options{Seed: 11, Events: n, Span: 48 * time.Hour, APIKey: "sk-admin-e2e-test"})
	const anthropicKey = "sk-ant-api01-e2e-test"
	asim, abase := anthropicsimtest.Start(t, anthropicsim.Options{Seed: 12, Activities: n, Span: 48 * time.Hour,
		Start: time.Now().Add(-49 * time.Hour), Keys: []anthropicsim.Key{{Secret: anthropicKey}}})
	addr := startKfakeBroker(t, "audit")

	want := map[string]string{} // id -> value
	vendor := map[string]string{}
	for id, v := range visibleEvents(t, osim, n) {
		want[id], vendor[id] = v, "openai"
	}
	for i := range asim.Count() {
		id := asim.ActivityID(i)
		want[id], vendor[id] = string(asim.Activity(i)), "anthropic"
	}
	if len(want) < 2*n*9/10 {
		t.Fatalf("the simulators show only %d events", len(want))
	}

	cfg := writeConfig(t, fmt.Sprintf(`
sources:
  - name: openai-acme
    type: openai_audit_logs
    base_url: %s
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: 720h
  - name: anthropic-acme
    type: anthropic_compliance_activities
    base_url: %s
    api_key: %s
    start_at: 720h
sinks:
  - name: kafka
    type: kafka
    brokers: [%s]
    topic: audit
    key: id
checkpoint:
  %s
`, obase, abase, anthropicKey, addr, fileCheckpoint))
	if _, stderr, exit := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once"); exit != 0 {
		t.Fatalf("auditrelay exited %d:\n%s", exit, stderr)
	}

	recs := kcatConsume(t, addr, "audit")
	byVendor := map[string]int{}
	for i, ev := range deliveredOnce(t, recs, want, "one per event of both vendors, none twice") {
		r := recs[i]
		if _, ok := want[ev.ID]; !ok {
			continue // deliveredOnce failed the test
		}
		for k, v := range map[string]string{"event.vendor": vendor[ev.ID], "event.type": ev.Type, "event.id": ev.ID} {
			if r.headers[k] != v || v == "" {
				t.Errorf("header %s of %s = %q, want %q", k, ev.ID, r.headers[k], v)
			}
		}
		byVendor[r.headers["event.vendor"]]++
	}
	if byVendor["openai"] == 0 || byVendor["anthropic"] == 0 {
		t.Fatalf("records by vendor: %v", byVendor)
	}
	t.Logf("records by vendor: %v", byVendor)
}
