//go:build e2e

package e2e

import (
	"bytes"
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
)

// TestFileReplayOfAnExport is the backfill story: `auditrelay export -o
// jsonl` writes a month of audit logs, a `file` source replays it through
// the binary into a file sink byte for byte, a second --once run after
// more lines were appended delivers only those, and stdin replays too.
func TestFileReplayOfAnExport(t *testing.T) {
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 11, Events: 3000, OrgLogEvents: 100, Span: 48 * time.Hour, APIKey: "sk-admin-e2e-test"})
	cfg := writeConfig(t, `sources:
  - name: backfill
    type: file
    path: exports/*.jsonl
    batch_size: 250
`+archiveSink)
	dir := filepath.Dir(cfg)
	if err := os.Mkdir(filepath.Join(dir, "exports"), 0o700); err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "exports", "a.jsonl")
	if _, stderr, code := runAuditrelay(t, 2*time.Minute, "export", "--base-url", base, "--since", "720h",
		"-o", "jsonl", "--out", export); code != 0 {
		t.Fatalf("export exit %d:\n%s", code, stderr)
	}
	want := readLines(t, export)
	if len(want) < 2900 {
		t.Fatalf("export holds %d lines", len(want))
	}

	if _, stderr, code := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once"); code != 0 {
		t.Fatalf("replay exit %d:\n%s", code, stderr)
	}
	archive := filepath.Join(dir, "archive.jsonl")
	if got := readLines(t, archive); !equalLines(got, want) {
		t.Fatalf("archive holds %d lines, the export %d; not the same bytes in the same order", len(got), len(want))
	}

	// A second file, of request logs, and a rerun: only the new lines
	// arrive.
	var more bytes.Buffer
	for i := range 100 {
		more.Write(sim.Log(i))
		more.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "exports", "b.jsonl"), more.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once"); code != 0 {
		t.Fatalf("second replay exit %d:\n%s", code, stderr)
	}
	want = append(want, bytes.Split(bytes.TrimSuffix(more.Bytes(), []byte("\n")), []byte("\n"))...)
	if got := readLines(t, archive); !equalLines(got, want) {
		t.Fatalf("after the second run the archive holds %d lines, want %d", len(got), len(want))
	}
	var cp struct {
		Files map[string]struct{ Offset, Size int64 }
	}
	raw, err := os.ReadFile(filepath.Join(dir, "state", "backfill.json"))
	if err != nil || json.Unmarshal(raw, &cp) != nil || len(cp.Files) != 2 {
		t.Fatalf("checkpoint %s (%v)", raw, err)
	}
	for p, pos := range cp.Files {
		if pos.Offset != pos.Size {
			t.Errorf("%s: offset %d of %d", p, pos.Offset, pos.Size)
		}
	}

	t.Run("stdin", func(t *testing.T) {
		cfg := writeConfig(t, `sources:
  - name: piped
    type: file
    path: "-"
`+archiveSink)
		in, err := os.Open(export)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		cmd := exec.Command(auditrelayBin(t), "run", "-c", cfg, "--once")
		cmd.Stdin = in
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v:\n%s", err, stderr.String())
		}
		got := readLines(t, filepath.Join(filepath.Dir(cfg), "archive.jsonl"))
		if !equalLines(got, readLines(t, export)) {
			t.Fatalf("stdin replay wrote %d lines", len(got))
		}
	})

	t.Run("invalid line names file and line", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "exports", "c.jsonl"), []byte(fmt.Sprintf("%s\n{oops\n", sim.Event(0))), 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once")
		if code == 0 || !strings.Contains(stderr, "c.jsonl:2") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// archiveSink is the rest of the replay configs: every event into
// archive.jsonl, the offsets read in the directory state.
const archiveSink = `sinks:
  - name: archive
    type: file
    path: archive.jsonl
checkpoint:
  type: file
  dir: state
`

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func equalLines(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
