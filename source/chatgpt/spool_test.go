package chatgpt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// TestSpoolLeavesNothingBehind checks that a spool file has no name in
// spool_dir from its creation on, while it is filled and read: a process
// killed then (kill -9, OOM, a node lost) cannot remove it, and before
// each restart left one more file of up to max_file_bytes behind.
func TestSpoolLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	empty := func(when string) {
		t.Helper()
		if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
			t.Fatalf("%s: %d files in the spool directory (%v); want none", when, len(left), err)
		}
	}
	sp, err := newSpool(dir, 1<<20, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	empty("created")
	body := "{\"event_id\":\"a\"}\n{\"event_id\":\"b\"}\n"
	if err := sp.fill(strings.NewReader(body), File{ID: "eclf_t", Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	empty("filled")
	lr, err := sp.lines()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		l, err := lr.next()
		if err != nil {
			break
		}
		got = append(got, string(l))
	}
	if strings.Join(got, "\n")+"\n" != body {
		t.Fatalf("read back %q", got)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	empty("closed")
}

// TestSpoolDirCreated: a spool_dir that does not exist yet, its parents
// neither, is created at start with mode 0700 (it holds what people wrote
// while a file is read), as the checkpoint directory is; the source then
// reads every record through it and leaves it empty. A spool_dir that
// cannot be created fails the start, naming the key.
func TestSpoolDirCreated(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 4, Types: []string{"AUDIT_LOG", "CONVERSATION_MESSAGE"}})
	cfg := testConfig(sim, base, "AUDIT_LOG", "CONVERSATION_MESSAGE")
	cfg.SpoolDir = filepath.Join(t.TempDir(), "state", "spool")
	s := newSource(t, cfg, clk)
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("start with a spool_dir to create: %v", err)
	}
	fi, err := os.Stat(cfg.SpoolDir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("spool_dir after start: %v, %v; want a directory of mode 0700", fi, err)
	}
	var c collector
	if err := sourcetest.RunOnce(t, s, &c, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
	if left, err := os.ReadDir(cfg.SpoolDir); err != nil || len(left) != 0 {
		t.Fatalf("%d files left in the spool directory (%v)", len(left), err)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.SpoolDir = filepath.Join(file, "spool")
	if err := newSource(t, cfg, clk).Start(t.Context()); err == nil || !strings.Contains(err.Error(), "spool_dir") {
		t.Fatalf("start with a spool_dir under a file: %v, want an error naming spool_dir", err)
	}
}
