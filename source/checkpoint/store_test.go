package checkpoint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestStores(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) pipeline.CursorStore{
		"file":   func(t *testing.T) pipeline.CursorStore { return NewFile(filepath.Join(t.TempDir(), "state")) },
		"memory": func(*testing.T) pipeline.CursorStore { return NewMemory() },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx, "acme")
			if err != nil || got != nil {
				t.Fatalf("Load on empty store = %q, %v; want nil, nil", got, err)
			}
			for i := range 3 {
				want := fmt.Appendf(nil, `{"v":%d}`, i)
				if err := s.Save(ctx, "acme", want); err != nil {
					t.Fatal(err)
				}
				got, err := s.Load(ctx, "acme")
				if err != nil || string(got) != string(want) {
					t.Fatalf("Load = %q, %v; want %q", got, err, want)
				}
			}
			// Names with path characters stay separate and inside the dir.
			var wg sync.WaitGroup
			for _, n := range []string{"a/b", "../x", "a b", "ä"} {
				wg.Go(func() {
					if err := s.Save(ctx, n, []byte(n)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for _, n := range []string{"a/b", "../x", "a b", "ä"} {
				if got, _ := s.Load(ctx, n); string(got) != n {
					t.Errorf("Load(%q) = %q", n, got)
				}
			}
			if err := s.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Shutdown(ctx); err != nil {
				t.Fatal("second Shutdown:", err)
			}
		})
	}
}

func TestFileStoreLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := NewFile(dir)
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := s.Save(ctx, "acme", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"acme.json", "lock"}) {
		t.Fatalf("dir holds %v, want only acme.json and the lock", names)
	}
}

func TestFileStoreUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores permissions; use a path below a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		if err := NewFile(filepath.Join(f, "state")).Start(context.Background()); err == nil {
			t.Fatal("Start under a regular file succeeded")
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	if err := NewFile(filepath.Join(dir, "state")).Start(context.Background()); err == nil {
		t.Fatal("Start in read-only dir succeeded")
	}
}

// TestFileStoreLock: a second store on a directory another one holds
// refuses to start, with a setup error naming the directory and the
// holder's pid; once the first shuts down (as a killed process's lock goes
// with it), the directory is free.
func TestFileStoreLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first := NewFile(dir)
	if err := first.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := first.Start(t.Context()); err != nil {
		t.Fatalf("a store started twice: %v", err)
	}
	err := NewFile(dir).Start(t.Context())
	if !pipeline.IsSetup(err) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second store on %s: %v; want a setup error naming the directory and pid %d", dir, err, os.Getpid())
	}
	if err := first.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	second := NewFile(dir)
	if err := second.Start(t.Context()); err != nil {
		t.Fatalf("after the first shut down: %v", err)
	}
	second.Shutdown(t.Context())
}
