//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/sinks/datadog/ddtest"
	"github.com/auditrelay/auditrelay/sinks/splunkhec/hectest"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// TestHECAndDatadog runs the binary into the in-project Splunk HEC (with
// indexer acknowledgement) and Datadog intake while both inject every
// retryable failure class: every visible event arrives at both, as sent.
func TestHECAndDatadog(t *testing.T) {
	const n = 4000
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 8, Events: n, Span: 48 * time.Hour, APIKey: "sk-admin-e2e-test"})
	hec := hectest.New(hectest.Options{Token: "hec-token-e2e", Ack: true, AckAfterPolls: 2, Indexes: []string{"audit"}})
	defer hec.Close()
	dd := ddtest.New(ddtest.Options{APIKey: "dd-key-e2e"})
	defer dd.Close()
	for range 3 {
		hec.Inject(hectest.FaultBusy, "", hectest.FaultReset, hectest.FaultInternal, hectest.FaultUnhealthy, "", hectest.FaultAckLost)
		dd.Inject(ddtest.Fault429, "", ddtest.FaultReset, ddtest.Fault500, ddtest.Fault503, ddtest.Fault408)
	}
	cfg := writeConfig(t, backfillConfig(base, fmt.Sprintf(`  - name: splunk
    type: splunk_hec
    endpoint: %s
    token: hec-token-e2e
    index: audit
    max_events: 300
    ack: {enabled: true, poll_interval: 20ms, timeout: 1s}
    retry: {initial_interval: 50ms, max_interval: 500ms}
  - name: dd
    type: datadog
    endpoint: %s
    api_key: dd-key-e2e
    tags: [env:e2e]
    max_events: 300
    retry: {initial_interval: 50ms, max_interval: 500ms}
`, hec.URL(), dd.URL()), fileCheckpoint))
	_, stderr, exit := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once")
	if exit != 0 {
		t.Fatalf("auditrelay exited %d:\n%s", exit, stderr)
	}
	want := visibleEvents(t, sim, n)
	t.Run("splunk_hec", func(t *testing.T) {
		got := map[string]string{}
		for _, e := range hec.Events() {
			var o struct{ ID string }
			if err := json.Unmarshal(e.Event, &o); err != nil {
				t.Fatal(err)
			}
			got[o.ID] = string(e.Event)
			if e.Index != "audit" || e.Sourcetype != "openai:audit" || e.Fields["auditrelay_source"] != "acme" {
				t.Fatalf("event metadata %+v", e)
			}
		}
		checkSameEvents(t, want, got)
		if st := hec.Statuses(); st[503] == 0 || st[500] == 0 {
			t.Errorf("faults not exercised: %v", st)
		}
	})
	t.Run("datadog", func(t *testing.T) {
		got := map[string]string{}
		for _, l := range dd.Logs() {
			var o struct{ ID string }
			if err := json.Unmarshal([]byte(l.Message), &o); err != nil {
				t.Fatal(err)
			}
			got[o.ID] = l.Message
		}
		checkSameEvents(t, want, got)
		if st := dd.Statuses(); st[429] == 0 || st[500] == 0 || st[503] == 0 || st[408] == 0 {
			t.Errorf("faults not exercised: %v", st)
		}
		if dd.Truncated() != 0 {
			t.Errorf("%d entries truncated", dd.Truncated())
		}
	})
}

func checkSameEvents(t *testing.T, want, got map[string]string) {
	t.Helper()
	missing, changed := 0, 0
	for id, raw := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing++
		case g != raw:
			changed++
		}
	}
	if missing > 0 || changed > 0 {
		t.Errorf("%d of %d events missing, %d not byte for byte", missing, len(want), changed)
	}
}
