//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

// startKfakeBroker builds test/kfakebroker and runs it as its own process on
// a free loopback port (it binds port 0 and prints the address it got)
// with topics; it returns the broker's address.
func startKfakeBroker(t *testing.T, topics ...string) string {
	t.Helper()
	dir, bins, err := benchkit.Build("kfakebroker-*", map[string]string{"kfakebroker": filepath.Join(repoRoot(), "test", "kfakebroker")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := benchkit.StartBroker(bins["kfakebroker"], 3, topics...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b.Addr
}

// kcatRecord is one record as kcat prints it with -f '%k\t%h\t%s\n'.
type kcatRecord struct {
	key     string
	headers map[string]string
	value   string
}

// kcatConsume reads topic from the beginning to its end with kcat, which
// reads committed records only.
func kcatConsume(t *testing.T, addr, topic string) []kcatRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q", "-f", `%k\t%h\t%s\n`)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -C %s: %v\n%s", topic, err, stderr.String())
	}
	var recs []kcatRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("kcat line without key, headers and value: %q", sc.Text())
		}
		r := kcatRecord{key: parts[0], headers: map[string]string{}, value: parts[2]}
		for h := range strings.SplitSeq(parts[1], ",") {
			if k, v, ok := strings.Cut(h, "="); ok {
				r.headers[k] = v
			}
		}
		recs = append(recs, r)
	}
	return recs
}

// kafkaEvent is the event a record's value holds, as far as the checks
// of its key and headers need it.
type kafkaEvent struct{ ID, Type string }

// deliveredOnce checks that recs hold the events of want (by id, as the
// simulators served them) each exactly once, as its record's value, the
// record keyed by the event's id; what says what recs should be. It
// returns the event of each record.
func deliveredOnce(t *testing.T, recs []kcatRecord, want map[string]string, what string) []kafkaEvent {
	t.Helper()
	if len(recs) != len(want) {
		t.Errorf("kcat read %d records, want %d (%s)", len(recs), len(want), what)
	}
	seen := map[string]bool{}
	evs := make([]kafkaEvent, len(recs))
	for i, r := range recs {
		ev := &evs[i]
		if err := json.Unmarshal([]byte(r.value), ev); err != nil {
			t.Fatalf("value is not JSON: %v: %q", err, r.value)
		}
		if seen[ev.ID] {
			t.Errorf("event %s delivered twice", ev.ID)
		}
		seen[ev.ID] = true
		if w, ok := want[ev.ID]; !ok {
			t.Errorf("record for unknown event %s", ev.ID)
		} else if r.value != w {
			t.Errorf("value of %s differs from the simulator's event:\n got %s\nwant %s", ev.ID, r.value, w)
		}
		if r.key != ev.ID {
			t.Errorf("key of %s = %q", ev.ID, r.key)
		}
	}
	return evs
}

// TestKafkaSinkWithKcat runs `auditrelay run --once` from the simulator
// into a kfake broker in its own process, at-least-once with a file
// checkpoint and exactly-once with the Kafka checkpoint store, and reads the
// topics back with kcat (librdkafka, read_committed): one record per
// visible event, keyed by id, with the configured headers, the value equal
// to the event as the simulator served it. A second run resumes from the
// cursor and writes nothing new.
func TestKafkaSinkWithKcat(t *testing.T) {
	// A missing kcat fails the test: the Kafka sink must never pass by
	// being skipped.
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatal("kcat is not on PATH: `apt-get install kcat` (.ci/run installs it)")
	}
	const n = 3000
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 11, Events: n, Span: 48 * time.Hour, APIKey: "sk-admin-e2e-test"})
	addr := startKfakeBroker(t, "audit-plain", "audit-eos")
	want := visibleEvents(t, sim, n)
	for _, tc := range []struct {
		name, topic, extra, checkpoint string
	}{
		{"at_least_once", "audit-plain", "", fileCheckpoint},
		{"exactly_once", "audit-eos", "exactly_once: true\n    create_topics: true", "type: kafka\n  sink: kafka\n  topic: auditrelay-checkpoints"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, backfillConfig(base, fmt.Sprintf(`  - name: kafka
    type: kafka
    brokers: [%s]
    topic: %s
    key: id
    compression: zstd
    headers:
      static: {env: e2e}
    %s
    retry: {initial_interval: 50ms, max_interval: 500ms}
`, addr, tc.topic, tc.extra), tc.checkpoint))
			for run := range 2 {
				if _, stderr, exit := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once"); exit != 0 {
					t.Fatalf("run %d: auditrelay exited %d:\n%s", run, exit, stderr)
				}
			}
			recs := kcatConsume(t, addr, tc.topic)
			for i, ev := range deliveredOnce(t, recs, want, "one per visible event, none twice") {
				r := recs[i]
				for k, v := range map[string]string{"event.id": ev.ID, "event.type": ev.Type, "event.source": "acme", "event.schema": "openai.audit_log", "env": "e2e"} {
					if r.headers[k] != v {
						t.Errorf("header %s of %s = %q, want %q", k, ev.ID, r.headers[k], v)
					}
				}
			}
		})
	}
}
