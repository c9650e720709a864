package file

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

func batch(ids ...string) pipeline.Batch {
	b := pipeline.Batch{Source: "acme"}
	for _, id := range ids {
		b.Events = append(b.Events, pipeline.Event{ID: id, Type: "login.failed", Time: time.Unix(1700000000, 0),
			Raw: []byte(`{"id":"` + id + `","type":"login.failed","x":{"unknown":[1,2.50,"é"]}}`)})
	}
	return b
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// start returns a started jsonl sink writing to path with mode 0600.
func start(t *testing.T, path string, fsync bool) *Sink {
	t.Helper()
	s := New(path, "jsonl", fsync, 0o600)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWritesRawBytesAndAppends(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "audit.jsonl")
	for round := range 2 {
		s := start(t, path, true)
		if err := s.Consume(ctx, batch("a", "b")); err != nil {
			t.Fatal(err)
		}
		if err := s.Consume(ctx, pipeline.Batch{}); err != nil {
			t.Fatal("empty batch:", err)
		}
		if err := s.CommitWindow(ctx, "acme", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal("second shutdown:", err)
		}
		lines := readLines(t, path)
		if len(lines) != 2*(round+1) {
			t.Fatalf("round %d: %d lines, want %d", round, len(lines), 2*(round+1))
		}
		if want := `{"id":"a","type":"login.failed","x":{"unknown":[1,2.50,"é"]}}`; lines[0] != want {
			t.Fatalf("line changed:\n got %s\nwant %s", lines[0], want)
		}
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestConcurrentBatchesKeepLinesWhole(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := start(t, path, false)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := s.Consume(ctx, batch("x", "y", "z")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	s.Shutdown(ctx)
	lines := readLines(t, path)
	if len(lines) != 8*50*3 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"id":"`) || !strings.HasSuffix(l, `}}`) {
			t.Fatalf("torn line %q", l)
		}
	}
}

func TestConsumeBeforeStartIsPermanent(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "x"), "jsonl", true, 0o600)
	err := s.Consume(context.Background(), batch("a"))
	if !pipeline.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestStartFailsOnBadPath(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if err := New(filepath.Join(f, "audit.jsonl"), "jsonl", true, 0o600).Start(context.Background()); err == nil {
		t.Fatal("Start below a regular file succeeded")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Format: "jsonl", Mode: 0o600}, "path: must be set"},
		{Config{Path: "x", Format: "xml", Mode: 0o600}, "format: must be jsonl or text"},
		{Config{Path: "x", Format: "text", Mode: 0o1777}, "mode:"},
	} {
		err := tc.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
	if err := defaultConfig().Validate(); err == nil {
		t.Error("default config without path validated")
	}
}

// TestStartKeepsWhatTheFileHeld: Start never removes a byte of an
// existing file. One that does not end with a newline (a line a crash cut
// short, or something a user wrote) gets one, so that the next record
// starts a line of its own; an existing file takes the configured mode.
func TestStartKeepsWhatTheFileHeld(t *testing.T) {
	for _, tc := range []struct{ before, after string }{
		{"", ""},
		{"{\"id\":\"a\"}\n", "{\"id\":\"a\"}\n"},
		{"{\"id\":\"a\"}\n{\"id\":\"b", "{\"id\":\"a\"}\n{\"id\":\"b\n"},
		{"notes a person wrote, without a newline", "notes a person wrote, without a newline\n"},
	} {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		if tc.before != "" {
			if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s := start(t, path, true)
		if err := s.Consume(context.Background(), batch("c")); err != nil {
			t.Fatal(err)
		}
		s.Shutdown(context.Background())
		got, _ := os.ReadFile(path)
		if want := tc.after + `{"id":"c","type":"login.failed","x":{"unknown":[1,2.50,"é"]}}` + "\n"; string(got) != want {
			t.Errorf("after Start and one event on %q:\n got %q\nwant %q", tc.before, got, want)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want the configured 0600", st.Mode().Perm())
		}
	}
}

// TestDurableAtCommit checks what moves a cursor: after CommitWindow,
// everything written is on disk; Consume alone does not sync.
func TestDurableAtCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := start(t, path, true)
	defer s.Shutdown(ctx)
	if err := s.Consume(ctx, batch("a", "b")); err != nil {
		t.Fatal(err)
	}
	if !s.unsynced {
		t.Fatal("a consumed batch was synced or not recorded")
	}
	if err := s.CommitWindow(ctx, "acme", nil); err != nil {
		t.Fatal(err)
	}
	if s.unsynced {
		t.Fatal("CommitWindow did not sync")
	}
	if got := readLines(t, path); len(got) != 2 {
		t.Fatalf("%d lines", len(got))
	}
}
