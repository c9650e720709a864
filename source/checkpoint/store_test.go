package checkpoint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	if len(ents) != 1 || ents[0].Name() != "acme.json" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("dir holds %v, want only acme.json", names)
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
