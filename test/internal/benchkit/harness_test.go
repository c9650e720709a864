package benchkit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRewriteSection(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.md")
	if err := RewriteSection(p, "x", "one\n"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("head\n<!-- x:begin -->\nold\n<!-- x:end -->\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RewriteSection(p, "x", "new\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if want := "head\n<!-- x:begin -->\nnew\n<!-- x:end -->\ntail\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
