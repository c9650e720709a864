//go:build e2e

// Package e2e holds the system tests: the built auditrelay binary against
// real peers (the simulator over HTTP, a Kafka broker in its own process
// read back with kcat, a real OpenTelemetry Collector, an SMTP server,
// aiosmtpd, storing mails in a Maildir). Run with `make e2e`.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

var binPath string

// repoRoot is the module root (two levels above this directory).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestMain(m *testing.M) {
	dir, bins, err := benchkit.Build("auditrelay-e2e-*", map[string]string{"auditrelay": filepath.Join(repoRoot(), "cmd", "auditrelay")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = bins["auditrelay"]
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// auditrelayBin returns the path of the auditrelay binary built for this run.
func auditrelayBin(t testing.TB) string {
	t.Helper()
	return binPath
}

// visibleEvents returns the first n events of sim that it shows now, by
// id, as it serves them. A simulator showing fewer than nine in ten fails
// the test: there would be too little to check delivery against.
func visibleEvents(t testing.TB, sim *openaisim.Server, n int) map[string]string {
	t.Helper()
	visible := map[string]bool{}
	for _, id := range sim.VisibleIDs(time.Now()) {
		visible[id] = true
	}
	out := map[string]string{}
	for i := range n {
		if visible[sim.EventID(i)] {
			out[sim.EventID(i)] = string(sim.Event(i))
		}
	}
	if len(out) < n*9/10 {
		t.Fatalf("the simulator shows only %d of %d events", len(out), n)
	}
	return out
}

// backfillConfig is a config reading the organization acme from the
// simulator at base, from 720h back, into sinks (the items of the sinks
// section) with checkpoint (the body of the checkpoint section).
func backfillConfig(base, sinks, checkpoint string) string {
	return fmt.Sprintf(`
sources:
  - name: acme
    type: openai_audit_logs
    base_url: %s
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: 720h
sinks:
%s
checkpoint:
  %s
`, base, sinks, checkpoint)
}

// fileCheckpoint is the body of a checkpoint section keeping the cursors
// in files of the directory state.
const fileCheckpoint = "type: file\n  dir: state"

// writeConfig writes yaml as auditrelay.yaml in a new temporary directory
// and returns its path; relative paths in it resolve to that directory.
func writeConfig(t testing.TB, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "auditrelay.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runAuditrelay runs the binary with args and the test's environment plus
// OPENAI_ADMIN_KEY, and returns its output and exit code.
func runAuditrelay(t testing.TB, timeout time.Duration, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, auditrelayBin(t), args...)
	cmd.Env = append(os.Environ(), "OPENAI_ADMIN_KEY=sk-admin-e2e-test")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	default:
		t.Fatalf("running auditrelay: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("auditrelay %v did not finish within %v; stderr:\n%s", args, timeout, errb.String())
	}
	return out.String(), errb.String(), exit
}

// daemon is the binary running as a daemon (`run` without --once).
type daemon struct {
	cmd    *exec.Cmd
	logs   *benchkit.Output // what it writes to stdout and stderr
	exited chan error       // its exit, once
}

// startDaemon starts `auditrelay run -c cfg` in dir ("": the test's own)
// with env (nil: the test's environment plus OPENAI_ADMIN_KEY). A daemon
// the test did not stop is killed at its end; a failed test shows its log.
func startDaemon(t testing.TB, cfg string, env []string, dir string) *daemon {
	t.Helper()
	if env == nil {
		env = append(os.Environ(), "OPENAI_ADMIN_KEY=sk-admin-e2e-test")
	}
	d := &daemon{cmd: exec.Command(auditrelayBin(t), "run", "-c", cfg), logs: &benchkit.Output{}, exited: make(chan error, 1)}
	d.cmd.Env, d.cmd.Dir = env, dir
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill() // nothing once it exited
		d.exited <- <-d.exited
		if t.Failed() {
			t.Logf("the daemon's log:\n%s", d.logs.String())
		}
	})
	return d
}

// stop sends SIGTERM and returns the daemon's exit (nil: status 0). An
// exit later than 30 s fails the test.
func (d *daemon) stop(t testing.TB) error {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		d.exited <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
		return nil
	}
}

// serving is auditrelay's log line (text or JSON) saying where its metrics
// and health server listens: a daemon given server.listen 127.0.0.1:0
// binds a free port and tells it there.
var serving = regexp.MustCompile(`serving /metrics, /healthz and /readyz"?[ ,]"?addr"?[=:]"?([^"\s]+)`)

// committed matches auditrelay's log line of a committed window.
var committed = regexp.MustCompile(`window committed`)

// servingAddr waits for the daemon whose log is out to say where its
// server listens.
func servingAddr(t testing.TB, out *benchkit.Output) string {
	t.Helper()
	m, err := out.Await(serving, 30*time.Second)
	if err != nil {
		t.Fatalf("the daemon did not say where it serves /metrics: %v", err)
	}
	return m[1]
}

// scrape is the client of a daemon's server: one that does not answer
// fails the test instead of hanging it.
var scrape = &http.Client{Timeout: 10 * time.Second}

// startOnce starts `auditrelay run -c cfg --once` with the test's Admin
// key, its output gathered in logs; exited receives its end. A kill -9
// test kills cmd.Process at a moment of its choosing.
func startOnce(t *testing.T, cfg string) (cmd *exec.Cmd, logs *benchkit.Output, exited chan error) {
	t.Helper()
	cmd = exec.Command(auditrelayBin(t), "run", "-c", cfg, "--once")
	cmd.Env = append(os.Environ(), "OPENAI_ADMIN_KEY=sk-admin-e2e-test")
	logs = &benchkit.Output{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, logs, done
}
