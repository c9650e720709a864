package chatgpt

import (
	"os"
	"strings"
	"testing"
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
