package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// twoSinks is a config with a healthy file sink and a Splunk HEC sink at
// hec, given up on after maxElapsed. It reads from the simulator's oldest
// event on, so that its first window is not empty.
func twoSinks(base, hec string, maxElapsed, shutdown time.Duration) string {
	return acmeYAML(base, "48h", 400) + fmt.Sprintf(`sinks:
  - name: archive
    type: file
    path: out/audit.jsonl
  - name: siem
    type: splunk_hec
    endpoint: %s
    token: t0ken
    retry: {initial_interval: 100ms, max_interval: 1s, max_elapsed: %s}
checkpoint:
  type: file
  dir: state
shutdown_timeout: %s
log:
  level: info
`, hec, maxElapsed, shutdown)
}

// TestSinkDownGivesUpAfterMaxElapsed: with the HEC endpoint down for the
// whole of a `run --once`, the run gives up when the retry policy's
// max_elapsed runs out, exits 1 naming the sink, moves no cursor, and the
// healthy file sink holds each event at most once (the engine retries only
// the sink that failed).
func TestSinkDownGivesUpAfterMaxElapsed(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 4, Events: 3000, Span: 48 * time.Hour, APIKey: "sk-admin-crash-test"})
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", twoSinks(base, down.URL, 5*time.Second, 30*time.Second))
	var stderr bytes.Buffer
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &stderr, Environ: []string{"OPENAI_ADMIN_KEY=sk-admin-crash-test"}}
	start := time.Now()
	code := m.Run(context.Background(), []string{"run", "-c", cfg, "--once"})
	took := time.Since(start)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	if took > 15*time.Second {
		t.Fatalf("gave up after %v, want within 10 s of max_elapsed (5s)", took)
	}
	if out := stderr.String(); !strings.Contains(out, `sink \"siem\"`) || !strings.Contains(out, "max_elapsed") {
		t.Fatalf("the error does not name the sink and max_elapsed:\n%s", out)
	}
	ids := readIDs(t, filepath.Join(dir, "out", "audit.jsonl"))
	counts, dups := countIDs(ids)
	if len(ids) == 0 || dups > 0 {
		t.Fatalf("the healthy sink holds %d lines, %d distinct ids: want each event at most once", len(ids), len(counts))
	}
	if cur := filepath.Join(dir, "state"); dirHasFiles(t, cur) {
		t.Fatal("a cursor was saved although a sink never took the window")
	}
}

// TestSignalDuringAnUncommittableWindowExitsOne: a SIGTERM that interrupts
// a window which then cannot be committed within shutdown_timeout (the
// destination hangs) does not exit 0: 0 means everything delivered was
// committed.
func TestSignalDuringAnUncommittableWindowExitsOne(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 4, Events: 3000, Span: 48 * time.Hour, APIKey: "sk-admin-crash-test"})
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hang.Close()
	defer close(release)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", twoSinks(base, hang.URL, 0, time.Second))
	cmd := auditrelayCmd(context.Background(), "run", "-c", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the sink was never called\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != exitFailure {
		t.Fatalf("exit %v, want 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped before the window in delivery was committed") {
		t.Fatalf("no word of the uncommitted window:\n%s", stderr.String())
	}
}

// dirHasFiles reports whether dir holds any file (a missing dir holds none).
func dirHasFiles(t *testing.T, dir string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && e.Name() != "lock" { // the lock holds a pid, no cursor
			return true
		}
	}
	return false
}

// TestStateDirectoryInUse: a run whose checkpoint directory another
// process holds exits 2, naming the directory and the holder's pid, and
// delivers nothing (two processes on one directory deliver everything
// twice).
func TestStateDirectoryInUse(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 4, Events: 300, Span: 48 * time.Hour, APIKey: "sk-admin-crash-test"})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", acmeYAML(base, "48h", 400)+`sinks:
  - {name: archive, type: file, path: out/audit.jsonl}
checkpoint:
  type: file
  dir: state
`)
	holder := checkpoint.NewFile(filepath.Join(dir, "state"))
	if err := holder.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer holder.Shutdown(t.Context())
	var stderr bytes.Buffer
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &stderr, Environ: []string{"OPENAI_ADMIN_KEY=sk-admin-crash-test"}}
	if code := m.Run(t.Context(), []string{"run", "-c", cfg, "--once"}); code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s", code, stderr.String())
	}
	if out := stderr.String(); !strings.Contains(out, "state") || !strings.Contains(out, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("the error does not name the directory and the holder:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "audit.jsonl")); err == nil {
		if ids := readIDs(t, filepath.Join(dir, "out", "audit.jsonl")); len(ids) > 0 {
			t.Fatalf("%d events delivered by the run that could not take the directory", len(ids))
		}
	}
}
