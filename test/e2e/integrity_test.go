//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// TestArchiveIntegrityAcrossKills back-fills 1,000,000 audit events from
// the simulator (of 1,020,000: the tenant.* ones are not read) into a file sink with integrity: sha256-chain (rotated
// into parts of 128 MiB) and kills the binary with SIGKILL 20 times at
// random points, each restart resuming from its checkpoint. After every
// few kills `verify` must find the archive intact, or intact with an
// uncommitted tail, never broken; after a last run finishes, `verify`
// must find it intact (exit 0) with every event of the simulator in it,
// no line cut short (each start cuts what follows the last signed head),
// and at most one window of copies per kill.
func TestArchiveIntegrityAcrossKills(t *testing.T) {
	const (
		events    = 1_020_000
		kills     = 20
		maxWindow = 5000
	)
	start := time.Now()
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 22, Events: events, Span: 30 * 24 * time.Hour, APIKey: "sk-admin-e2e-test"})
	var sample int
	for i := range 1000 {
		sample += len(sim.Event(i * (events / 1000)))
	}
	expect := int64(sample+1000) * (events / 1000) // bytes of the whole archive
	dir := t.TempDir()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, "signing.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "auditrelay.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
sources:
  - name: acme
    type: openai_audit_logs
    base_url: %s
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: 800h
    settle: 0s
    max_window_events: %d
sinks:
  - name: archive
    type: file
    path: out/audit.jsonl
    integrity: sha256-chain
    signing_key: ${file:signing.pem}
    rotate_bytes: 134217728
checkpoint:
  type: file
  dir: state
log:
  level: warn
`, base, maxWindow)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	archiveSize := func() (n int64) {
		files, _ := filepath.Glob(filepath.Join(out, "*.jsonl"))
		for _, f := range files {
			n += fileSize(f)
		}
		return n
	}
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 22))
	t.Logf("%d events, about %d MiB; kill seed %d", events, expect>>20, seed)

	var verified []string
	for k := range kills {
		cmd, logs, exited := startOnce(t, cfg)
		// Spread the kills over what is left, at random: some early in a
		// run (while it cuts and resumes), most in the middle of a window.
		at := archiveSize()
		share := (expect - at) / int64(kills-k+1)
		target := at + share/2 + rng.Int64N(share)
		if rng.IntN(5) == 0 {
			target = at + rng.Int64N(1<<20)
		}
		pollUntil(exited, 2*time.Minute, func() bool { return archiveSize() >= target })
		select {
		case err := <-exited:
			t.Fatalf("run %d ended (%v) before kill %d: the machine is too fast for %d kills\n%s", k, err, k+1, kills, logs.String())
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if k%5 == 4 {
			stdout, stderr, code := runAuditrelay(t, time.Minute, "verify", "-c", cfg)
			if code != 0 && code != 3 {
				t.Fatalf("verify after kill %d exited %d:\n%s%s", k+1, code, stdout, stderr)
			}
			verified = append(verified, fmt.Sprintf("kill %d: exit %d", k+1, code))
		}
	}
	killed := time.Since(start)
	if _, stderr, code := runAuditrelay(t, 5*time.Minute, "run", "-c", cfg, "--once"); code != 0 {
		t.Fatalf("the last run exited %d:\n%s", code, stderr)
	}
	verifyStart := time.Now()
	stdout, stderr, code := runAuditrelay(t, 2*time.Minute, "verify", "-c", cfg)
	verifyTook := time.Since(verifyStart)
	if code != 0 || !strings.Contains(stdout, "intact: ") {
		t.Fatalf("verify of the finished archive exited %d:\n%s%s", code, stdout, stderr)
	}
	t.Logf("verify after the kills: %s; at the end (%v):\n%s", strings.Join(verified, ", "), verifyTook.Round(time.Millisecond), stdout)

	// Every event is there, whole.
	count := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(out, "*.jsonl"))
	lines := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines++
			id, ok := bytes.CutPrefix(sc.Bytes(), []byte(`{"id":"`))
			end := bytes.IndexByte(id, '"')
			if !ok || end < 0 || !bytes.HasSuffix(sc.Bytes(), []byte("}")) {
				t.Fatalf("%s line %d is not a whole event: %.80s", f, lines, sc.Bytes())
			}
			count[string(id[:end])]++
		}
		fh.Close()
	}
	want := sim.VisibleIDs(time.Now())
	for _, id := range want {
		if count[id] == 0 {
			t.Fatalf("%s missing from the archive after %d kills", id, kills)
		}
	}
	if len(count) != len(want) {
		t.Fatalf("%d distinct ids in the archive, the simulator has %d", len(count), len(want))
	}
	if lines < 1_000_000 {
		t.Fatalf("%d lines in the archive, want at least 1,000,000", lines)
	}
	dups := lines - len(count)
	if dups > kills*maxWindow {
		t.Fatalf("%d copies after %d kills: more than a window (%d) per kill", dups, kills, maxWindow)
	}
	t.Logf("%d events in %d lines of %d files, %d copies after %d kills; %v killing, %v in all",
		len(want), lines, len(files), dups, kills, killed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
