package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// The test binary doubles as the auditrelay binary, so that the crash
// tests can kill a real process without building one.
func TestMain(m *testing.M) {
	if os.Getenv("TEST_RUN_AS_AUDITRELAY") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func auditrelayCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TEST_RUN_AS_AUDITRELAY=1", "OPENAI_ADMIN_KEY=sk-admin-crash-test")
	return cmd
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readIDs reads a JSONL file and returns the id of every line; a line that
// is not a JSON object fails the test.
func readIDs(t *testing.T, path string) []string {
	t.Helper()
	ids, torn := readIDsTorn(t, path)
	if torn > 0 {
		t.Fatalf("%s holds %d lines cut short", path, torn)
	}
	return ids
}

// readIDsTorn is readIDs for a file a crash may have cut: it counts the
// lines that are the start of an event object cut short (the file sink
// ends such a line and writes the event again whole) instead of failing.
func readIDsTorn(t *testing.T, path string) (ids []string, torn int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var ev struct {
			ID string `json:"id"`
		}
		err := json.Unmarshal(sc.Bytes(), &ev)
		if err != nil && strings.HasPrefix(sc.Text(), `{"id":"`) && !json.Valid(sc.Bytes()) {
			torn++
			continue
		}
		if err != nil || ev.ID == "" {
			t.Fatalf("%s line %d is not an event: %v: %.80q", path, n, err, sc.Text())
		}
		ids = append(ids, ev.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids, torn
}

// acmeYAML is the source section of the process tests' configs: the
// organization acme of the simulator at base, its key from the
// environment, read from startAt back without settle, in windows of at
// most maxWindow events, with quick request retries.
func acmeYAML(base, startAt string, maxWindow int) string {
	return fmt.Sprintf(`
sources:
  - name: acme
    type: openai_audit_logs
    base_url: %s
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: %s
    settle: 0s
    max_window_events: %d
    retry_wait_min: 5ms
    retry_wait_max: 50ms
`, base, startAt, maxWindow)
}

func crashConfig(base string, maxWindow int) string {
	return acmeYAML(base, "800h", maxWindow) + `    batch_size: 100
sinks:
  - name: archive
    type: file
    path: out/audit.jsonl
checkpoint:
  type: file
  dir: state
log:
  level: warn
`
}

// interruptRuns runs `auditrelay run --once` on cfg again and again, each
// time interrupting it with sig at a random point of its progress: after a
// random number (0..2) of committed windows plus a random delay of up to
// 40 ms. Measuring the point in windows rather than wall time keeps the
// test meaningful on a fast machine and finite on a slow one. It returns
// how many runs were interrupted once a run finished by itself.
func interruptRuns(t *testing.T, cfg string, sig syscall.Signal, seed uint64) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	interrupted := 0
	for run := 0; ; run++ {
		if run > 200 {
			t.Fatalf("not finished after %d runs", run)
		}
		cmd := auditrelayCmd(context.Background(), "run", "-c", cfg, "--once", "--log-level", "info")
		// Signal only once main has installed its handlers (it logs
		// "auditrelay starting" after that), and after the chosen number
		// of windows.
		stderr := &watcher{want: "window committed", target: rng.IntN(3), seen: make(chan struct{})}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-stderr.seen:
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d failed: %v\n%s", run, err, stderr.String())
			}
			return interrupted
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d failed: %v\n%s", run, err, stderr.String())
			}
			return interrupted
		case <-time.After(time.Duration(rng.IntN(40)) * time.Millisecond):
		}
		cmd.Process.Signal(sig)
		err := <-done
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("SIGTERM: exit %v, want 0\n%s", err, stderr.String())
		}
		interrupted++
	}
}

// countIDs counts each id and returns the counts and the number of
// duplicate lines.
func countIDs(ids []string) (map[string]int, int) {
	count := map[string]int{}
	dups := 0
	for _, id := range ids {
		count[id]++
		if count[id] > 1 {
			dups++
		}
	}
	return count, dups
}

// TestKillDashNineAtRandomPoints runs the real binary against the simulator,
// kills it with SIGKILL at random points of a multi-window backfill, and
// restarts it until it finishes. Every event must be in the file, whole,
// duplicates are bounded by one window per kill, and a kill cuts at most
// one line short.
func TestKillDashNineAtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test skipped in -short mode")
	}
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 42, Events: 20000, Span: 720 * time.Hour,
		Faults: openaisim.Faults{Rate: 0.05, Kinds: []openaisim.FaultKind{openaisim.Fault429, openaisim.Fault500, openaisim.FaultReset}, RetryAfter: 10 * time.Millisecond}})
	const maxWindow = 1000
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", crashConfig(base, maxWindow))
	kills := interruptRuns(t, cfg, syscall.SIGKILL, 7)
	if kills < 5 {
		t.Fatalf("only %d kills", kills)
	}
	want := sim.VisibleIDs(time.Now())
	// A kill in the middle of a write leaves a line cut short, which the
	// next start ends with a newline (no byte of the file is removed) and
	// whose event is written again whole: at most one per kill.
	ids, torn := readIDsTorn(t, filepath.Join(dir, "out", "audit.jsonl"))
	if torn > kills {
		t.Fatalf("%d lines cut short after %d kills", torn, kills)
	}
	count, dups := countIDs(ids)
	for _, id := range want {
		if count[id] == 0 {
			t.Fatalf("%s missing after %d kills", id, kills)
		}
	}
	if len(count) != len(want) {
		t.Fatalf("%d distinct ids in the file, the simulator has %d", len(count), len(want))
	}
	// Windows are fetched ahead but delivered one at a time: a kill
	// replays at most the part of one window that was delivered but not
	// committed.
	if bound := kills * maxWindow; dups > bound {
		t.Fatalf("%d duplicates after %d kills: more than one window per kill (%d)", dups, kills, bound)
	}
	t.Logf("%d events, %d kills, %d duplicates", len(want), kills, dups)
}

// TestSIGTERMCommitsAndExitsZero stops the run with SIGTERM at random
// points; each stop must exit 0 after committing the window in flight, so
// the restarts deliver no duplicate at all.
func TestSIGTERMCommitsAndExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("process test skipped in -short mode")
	}
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 43, Events: 20000, Span: 720 * time.Hour})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", crashConfig(base, 1000))
	stops := interruptRuns(t, cfg, syscall.SIGTERM, 8)
	if stops < 3 {
		t.Fatalf("only %d stops", stops)
	}
	count, dups := countIDs(readIDs(t, filepath.Join(dir, "out", "audit.jsonl")))
	if dups > 0 {
		t.Fatalf("%d duplicates across %d graceful stops; want none", dups, stops)
	}
	if want := sim.VisibleIDs(time.Now()); len(count) != len(want) {
		t.Fatalf("%d events delivered, simulator has %d", len(count), len(want))
	}
	t.Logf("%d stops, no duplicate", stops)
}

// watcher is a stderr that closes seen once want has been written target
// times or more after main logged its start. Log lines arrive one per
// Write.
type watcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	want   string
	target int
	seen   chan struct{}
	isUp   bool
	n      int // writes of want since the start
	done   bool
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.isUp && bytes.Contains(p, []byte("auditrelay starting")) {
		w.isUp = true
	}
	if w.isUp {
		w.n += bytes.Count(p, []byte(w.want))
	}
	if w.isUp && !w.done && w.n >= w.target {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestValidateExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", crashConfig("http://127.0.0.1:1/v1", 1000))
	bad := writeFile(t, dir, "bad.yaml", "sources:\n  - {name: a, type: openai_audit_logs, api_key: 'sk-admin-visible?', page_size: 500, bogus: 1}\nsinks: []\n")
	for _, tc := range []struct {
		name     string
		args     []string
		env      []string
		code     int
		out, err []string
	}{
		{"valid", []string{"validate", "-c", good}, []string{"OPENAI_ADMIN_KEY=sk-admin-zzz-secret"}, 0, []string{"is valid", "api_key: '[redacted]'"}, nil},
		{"invalid", []string{"validate", "-c", bad}, nil, 2, nil, []string{"sources[0].page_size", "sources[0].bogus: unknown key", "sinks: at least one sink"}},
		{"missing file", []string{"validate", "-c", filepath.Join(dir, "nope.yaml")}, nil, 2, nil, []string{"nope.yaml"}},
		{"unknown command", []string{"frobnicate"}, nil, 2, nil, []string{"unknown command"}},
		{"bad flag", []string{"run", "--bogus"}, nil, 2, nil, []string{"flag provided but not defined"}},
		{"version", []string{"version"}, nil, 0, []string{"auditrelay", "openai_audit_logs"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errb, Environ: tc.env}
			if code := m.Run(context.Background(), tc.args); code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.err {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
			all := out.String() + errb.String()
			if strings.Contains(all, "zzz-secret") || strings.Contains(all, "visible?") {
				t.Fatalf("a secret was printed:\n%s", all)
			}
		})
	}
}

func TestRunOnceAndDemo(t *testing.T) {
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 44, Events: 3000, Span: 72 * time.Hour})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", crashConfig(base, 1000))
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Environ: []string{"OPENAI_ADMIN_KEY=sk-admin-run-once"}}
	if code := m.Run(context.Background(), []string{"run", "-c", cfg, "--once"}); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if got, want := len(readIDs(t, filepath.Join(dir, "out", "audit.jsonl"))), len(sim.VisibleIDs(time.Now())); got != want {
		t.Fatalf("%d events written, want %d", got, want)
	}
	if strings.Contains(errb.String(), "sk-admin-run-once") {
		t.Fatal("key in logs")
	}

	out.Reset()
	errb.Reset()
	jsonl := filepath.Join(dir, "demo.jsonl")
	m = &Main{Stdout: &out, Stderr: &errb}
	if code := m.Run(context.Background(), []string{"demo", "--events", "30", "--out", jsonl}); code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errb.String())
	}
	if n := len(readIDs(t, jsonl)); n < 30 {
		t.Fatalf("demo wrote %d events, want >= 30", n)
	}
	if !strings.Contains(out.String(), "events delivered") {
		t.Fatalf("demo summary missing:\n%s", out.String())
	}
}
