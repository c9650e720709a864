//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// TestOperationsBinary drives the built binary as a daemon: /metrics and
// /readyz answer, a real SIGHUP with a broken config is refused and the
// process keeps delivering, a valid one switches the sink, and SIGTERM
// exits 0.
func TestOperationsBinary(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 5, Events: 200, Span: time.Hour, Rate: 20, APIKey: "sk-admin-e2e-test"})
	cfgText := func(out string) string {
		return fmt.Sprintf(`sources:
  - name: acme
    type: openai_audit_logs
    base_url: %s
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: 2h
    poll_interval: 200ms
    settle: 0s
    overlap: 2s
sinks:
  - name: archive
    type: file
    path: %s
checkpoint:
  type: file
  dir: state
log:
  format: json
server:
  listen: 127.0.0.1:0
`, base, out)
	}
	cfg := writeConfig(t, cfgText("first.jsonl"))
	dir := filepath.Dir(cfg)
	d := startDaemon(t, cfg, nil, "")
	stderr := d.logs
	addr := servingAddr(t, stderr)
	get := func(path string) (int, string) {
		resp, err := scrape.Get("http://" + addr + path)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// wait checks cond now and each time the daemon logs a line (a
	// committed window, a reload): what the test waits for follows such a
	// step.
	wait := func(what string, cond func() bool) {
		t.Helper()
		if err := stderr.Until(func(string) bool { return cond() }, 30*time.Second); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	lines := func(name string) int {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return bytes.Count(b, []byte("\n"))
	}
	// Once a window is committed the pipeline runs and its source has
	// made progress: the daemon must say it is ready.
	if _, err := stderr.Await(committed, 30*time.Second); err != nil {
		t.Fatalf("no window committed: %v", err)
	}
	if c, body := get("/readyz"); c != 200 {
		t.Fatalf("/readyz = %d after a committed window, want 200:\n%s", c, body)
	}
	wait("events delivered", func() bool { return lines("first.jsonl") >= 150 })
	if _, m := get("/metrics"); !strings.Contains(m, `auditrelay_events_delivered_total{sink="archive"}`) {
		t.Fatalf("/metrics lacks the delivered counter:\n%.2000s", m)
	}

	if err := os.WriteFile(cfg, []byte(cfgText("first.jsonl")+"unknown_section: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	if _, err := stderr.Await(regexp.MustCompile(`reload refused`), 30*time.Second); err != nil {
		t.Fatalf("the broken config was not refused: %v", err)
	}
	n := lines("first.jsonl")
	wait("still delivering", func() bool { return lines("first.jsonl") > n })

	if err := os.WriteFile(cfg, []byte(cfgText("second.jsonl")), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	wait("new sink receiving", func() bool { return lines("second.jsonl") >= 10 })

	if err := d.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
