//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// canary is a recognisable fake admin key: it must never appear in any
// output, log line, metric or file the binary writes.
const canary = "sk-admin-CANARY-7f3a9e2b51d4c608"

// TestSecretsNeverLeak runs every command of the binary with the canary key
// (in the environment, in a secret file, and wrongly in a non-secret field),
// on success and failure paths (a refused key, an invalid config), at debug
// level, as a daemon serving /metrics, and greps everything it produced.
func TestSecretsNeverLeak(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 21, Events: 500, OrgLogEvents: 200, Span: 24 * time.Hour, Rate: 5, APIKey: canary})
	_, refusing := openaisimtest.Start(t, openaisim.Options{Seed: 21, Events: 10, Span: time.Hour, APIKey: "sk-admin-other"})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.txt"), []byte(canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(name, base, key, extra string) string {
		p := filepath.Join(dir, name+".yaml")
		y := fmt.Sprintf(`sources:
  - name: acme
    type: openai_audit_logs
    base_url: %s
    api_key: %s
    start_at: 24h
    settle: 0s
    max_retries: 1
transforms:
  - name: enrich
    type: enrich
    base_url: %s
    api_key: %s
  - name: redact
    type: redact
sinks:
  - name: archive
    type: file
    path: %s.jsonl
checkpoint:
  type: file
  dir: state-%s
log:
  level: debug
%s`, base, key, base, key, name, name, extra)
		if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := append(os.Environ(), "OPENAI_ADMIN_KEY="+canary, "OPENAI_BASE_URL="+base)
	good := config("good", base, "${env:OPENAI_ADMIN_KEY}", "")
	fromFile := config("file", base, "${file:key.txt}", "")
	refused := config("refused", refusing, "${env:OPENAI_ADMIN_KEY}", "")
	misplaced := config("misplaced", base, "${env:OPENAI_ADMIN_KEY}", "server:\n  listen: ${env:OPENAI_ADMIN_KEY}\n")
	daemonCfg := config("daemon", base, "${env:OPENAI_ADMIN_KEY}", "server:\n  listen: 127.0.0.1:0\n")

	var outputs []string
	runCmd := func(wantExit int, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, auditrelayBin(t), args...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		exit := 0
		if ee, ok := err.(*exec.ExitError); ok {
			exit = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if wantExit >= 0 && exit != wantExit {
			t.Errorf("auditrelay %v exited %d, want %d:\n%.2000s", args, exit, wantExit, out)
		}
		outputs = append(outputs, fmt.Sprintf("auditrelay %v:\n%s", args, out))
	}
	for _, tc := range []struct {
		exit int
		args []string
	}{
		{0, []string{"validate", "-c", good}},
		{0, []string{"validate", "-c", fromFile}},
		{-1, []string{"validate", "-c", misplaced}}, // the key in a field that is no secret
		{0, []string{"run", "-c", good, "--once"}},
		{0, []string{"run", "-c", fromFile, "--once", "--log-format", "json"}},
		{1, []string{"run", "-c", refused, "--once"}},
		{0, []string{"list", "-c", good, "--limit", "5"}},
		{0, []string{"list", "--api", "requests", "-o", "json", "--limit", "5"}},
		{-1, []string{"get", "-c", good, "audit_log-does-not-exist"}},
		{0, []string{"export", "-c", good, "--out", filepath.Join(dir, "export.csv")}},
		{0, []string{"stats", "-c", good, "--by", "actor"}},
		{0, []string{"version"}},
	} {
		runCmd(tc.exit, tc.args...)
	}

	// The daemon: debug logs, /metrics, /readyz, then SIGTERM.
	d := startDaemon(t, daemonCfg, env, dir)
	logs := d.logs
	// Scrape once the daemon has committed a window: its metrics then
	// hold the series of its source and sink.
	addr := servingAddr(t, logs)
	if _, err := logs.Await(committed, 30*time.Second); err != nil {
		t.Errorf("the daemon committed no window: %v", err)
	}
	var scraped []string
	for _, p := range []string{"/metrics", "/readyz", "/healthz"} {
		resp, err := scrape.Get("http://" + addr + p)
		if err != nil {
			t.Errorf("the daemon's server did not answer %s: %v", p, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		scraped = append(scraped, p+":\n"+string(b))
	}
	if err := d.stop(t); err != nil {
		t.Errorf("the daemon's exit after SIGTERM: %v", err)
	}
	if len(scraped) < 3 {
		t.Fatalf("the daemon's server did not answer:\n%s", logs.String())
	}
	if !strings.Contains(scraped[0], "auditrelay_") {
		t.Errorf("/metrics has no auditrelay metrics:\n%.1000s", scraped[0])
	}
	outputs = append(outputs, "daemon:\n"+logs.String())
	outputs = append(outputs, scraped...)

	for _, o := range outputs {
		if strings.Contains(o, canary) {
			t.Errorf("the key appears in:\n%.3000s", o)
		}
	}
	files := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == filepath.Join(dir, "key.txt") || strings.HasSuffix(p, ".yaml") {
			return err
		}
		files++
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), canary) {
			t.Errorf("the key appears in the file %s", p)
		}
		return nil
	})
	if files < 4 {
		t.Errorf("only %d files written: the commands did not run as expected", files)
	}
}
