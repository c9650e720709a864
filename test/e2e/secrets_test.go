//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
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
	env := append(os.Environ(), "OPENAI_ADMIN_KEY="+canary, "OPENAI_BASE_URL="+base)
	h := newLeakHunt(t, canary, env)
	dir := h.dir
	config := func(name, base, key, extra string) string {
		return h.config(name, fmt.Sprintf(`sources:
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
`, base, key, base, key), extra)
	}
	// Every other secret field holds the canary too, through ${file:} and
	// ${env:}: validate prints the effective config of all of them.
	everySink := config("every-secret", base, "${env:OPENAI_ADMIN_KEY}", `dead_letter:
  type: file
  path: dlq.jsonl
`)
	appendFile(t, everySink, strings.ReplaceAll(`  - {name: siem, type: splunk_hec, endpoint: "https://127.0.0.1:1", token: "${file:key.txt}"}
  - {name: dd, type: datadog, endpoint: "https://127.0.0.1:1", api_key: "${env:OPENAI_ADMIN_KEY}"}
  - {name: hook, type: webhook, url: "https://127.0.0.1:1/x", secret: "${file:key.txt}", headers: {Authorization: "${env:OPENAI_ADMIN_KEY}"}}
  - {name: otel, type: otlp, endpoint: "127.0.0.1:1", headers: {x-api-key: "${file:key.txt}"}}
  - {name: kafka, type: kafka, brokers: ["127.0.0.1:1"], topic: audit, sasl: {mechanism: PLAIN, username: u, password: "${env:OPENAI_ADMIN_KEY}"}}
`, "\n", "\n"), "sinks:\n")
	// Invalid configs whose problems quote the canary: a secret file read
	// into a plain field (through the file and through an override), and
	// into a list.
	inPlainField := config("plain-field", base, "${env:OPENAI_ADMIN_KEY}", "")
	if err := os.WriteFile(filepath.Join(dir, "types.txt"), []byte(canary+"\nsecond-"+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inList := config("list", base, "${env:OPENAI_ADMIN_KEY}", "")
	replaceIn(t, inList, "    settle: 0s\n", "    settle: 0s\n    tenant_only: true\n    event_types: ${file:types.txt}\n")
	good := config("good", base, "${env:OPENAI_ADMIN_KEY}", "")
	fromFile := config("file", base, "${file:key.txt}", "")
	refused := config("refused", refusing, "${env:OPENAI_ADMIN_KEY}", "")
	misplaced := config("misplaced", base, "${env:OPENAI_ADMIN_KEY}", "server:\n  listen: ${env:OPENAI_ADMIN_KEY}\n")
	daemonCfg := config("daemon", base, "${env:OPENAI_ADMIN_KEY}", "server:\n  listen: 127.0.0.1:0\n")

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
		{0, []string{"validate", "-c", everySink}},
		{2, []string{"validate", "-c", inList}},
	} {
		h.run(tc.exit, tc.args...)
	}
	// The admin key as an environment override, and a secret file read into
	// log.level the same way.
	h.env = append(env, "AUDITRELAY_SOURCES__0__API_KEY=${file:key.txt}")
	h.run(0, "run", "-c", inPlainField, "--once")
	h.env = append(h.env, "AUDITRELAY_LOG__LEVEL=${file:key.txt}")
	h.run(2, "validate", "-c", inPlainField)
	h.env = env

	// The daemon: debug logs, /metrics, /readyz, then SIGTERM.
	d := startDaemon(t, daemonCfg, env, dir)
	logs := d.logs
	// Scrape once the daemon has committed a window: its metrics then
	// hold the series of its source and sink.
	addr := servingAddr(t, logs)
	if _, err := logs.Await(committed, 30*time.Second); err != nil {
		t.Errorf("the daemon committed no window: %v", err)
	}
	// A reload with a config whose problem quotes the key (a secret file
	// read into log.level) is refused without showing it.
	before, err := os.ReadFile(daemonCfg)
	if err != nil {
		t.Fatal(err)
	}
	replaceIn(t, daemonCfg, "  level: debug\n", "  level: ${file:key.txt}\n")
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	if _, err := logs.Await(regexp.MustCompile(`reload refused`), 30*time.Second); err != nil {
		t.Errorf("the reload was not refused: %v", err)
	}
	if err := os.WriteFile(daemonCfg, before, 0o600); err != nil {
		t.Fatal(err)
	}
	scraped := h.scrape(addr, "/metrics", "/readyz", "/healthz")
	if err := d.stop(t); err != nil {
		t.Errorf("the daemon's exit after SIGTERM: %v", err)
	}
	if len(scraped) < 3 {
		t.Fatalf("the daemon's server did not answer:\n%s", logs.String())
	}
	if !strings.Contains(scraped[0], "auditrelay_") {
		t.Errorf("/metrics has no auditrelay metrics:\n%.1000s", scraped[0])
	}
	h.outputs = append(h.outputs, "daemon:\n"+logs.String())
	h.check(4, []string{canary}, "key.txt", "types.txt")
}

// leakHunt runs commands of the binary in dir and keeps everything they
// wrote, to search it for a secret at the end.
type leakHunt struct {
	t       *testing.T
	dir     string
	env     []string
	outputs []string
}

// newLeakHunt starts a hunt for secret, which configs of its directory
// may read as ${file:key.txt}; env is the commands' environment.
func newLeakHunt(t *testing.T, secret string, env []string) *leakHunt {
	t.Helper()
	h := &leakHunt{t: t, dir: t.TempDir(), env: env}
	if err := os.WriteFile(filepath.Join(h.dir, "key.txt"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// config writes the config name.yaml to the hunt's directory: head (its
// sources and transforms), then a file sink that writes name.jsonl, a
// file checkpoint in state-name and debug logs, all searched at the end,
// then extra. It returns its path.
func (h *leakHunt) config(name, head, extra string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name+".yaml")
	y := head + fmt.Sprintf(`sinks:
  - name: archive
    type: file
    path: %s.jsonl
checkpoint:
  type: file
  dir: state-%s
log:
  level: debug
`, name, name) + extra
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// run runs auditrelay with args and keeps its output; wantExit < 0 takes
// any exit status.
func (h *leakHunt) run(wantExit int, args ...string) {
	t := h.t
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, auditrelayBin(t), args...)
	cmd.Env, cmd.Dir = h.env, h.dir
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
	h.outputs = append(h.outputs, fmt.Sprintf("auditrelay %v:\n%s", args, out))
}

// scrape gets the paths of a daemon's server at addr, keeps the answers
// and returns them.
func (h *leakHunt) scrape(addr string, paths ...string) []string {
	var got []string
	for _, p := range paths {
		resp, err := scrape.Get("http://" + addr + p)
		if err != nil {
			h.t.Errorf("the daemon's server did not answer %s: %v", p, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, p+":\n"+string(b))
	}
	h.outputs = append(h.outputs, got...)
	return got
}

// check fails the test where one of secrets appears in what the commands
// wrote, to their output or to a file of dir other than the configs and
// the inputs named; at least minFiles files must have been written.
func (h *leakHunt) check(minFiles int, secrets []string, inputs ...string) {
	t := h.t
	t.Helper()
	leaks := func(s string) bool {
		return slices.ContainsFunc(secrets, func(k string) bool { return strings.Contains(s, k) })
	}
	for _, o := range h.outputs {
		if leaks(o) {
			t.Errorf("the key appears in:\n%.3000s", o)
		}
	}
	files := 0
	filepath.WalkDir(h.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".yaml") || slices.Contains(inputs, filepath.Base(p)) {
			return err
		}
		files++
		if b, err := os.ReadFile(p); err == nil && leaks(string(b)) {
			t.Errorf("the key appears in the file %s", p)
		}
		return nil
	})
	if files < minFiles {
		t.Errorf("only %d files written: the commands did not run as expected", files)
	}
}

// appendFile adds text to the file at path after the first line that is
// after (a section's key): the sinks of a config, say.
func appendFile(t *testing.T, path, text, after string) {
	t.Helper()
	replaceIn(t, path, after, after+text)
}

// replaceIn replaces the first old in the file at path with new; a file
// without old fails the test, which would otherwise test something else.
func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}
