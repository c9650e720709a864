package pipeline

import (
	"path"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"login.*", "login.failed", true},
		{"login.*", "logout.failed", false},
		{"tenant.*", "tenant.user.added", true}, // '*' crosses dots
		{"*.deleted", "api_key.deleted", true},
		{"*.deleted", "api_key.deleted.x", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*@contractor.example", "ana@contractor.example", true},
		{"proj_[ab]*", "proj_b12", true},
		{"proj_[ab]*", "proj_c12", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
		{"a/*", "a/b/c", false},         // the one character '*' does not cross
		{"proj_[ab", "proj_[ab", false}, // malformed: matches nothing
		{"*a*a*a*a*b", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		if got := Match(tt.pat, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
	if ValidPattern("proj_[ab") == nil || ValidPattern("login.*") != nil {
		t.Error("ValidPattern does not tell a malformed pattern")
	}
}

// FuzzMatch holds Match to path.Match, whose meaning it documents: the
// literal head it checks first must never change an answer.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"login.*", "login.failed"}, {"a\\*b", "a*b"}, {"x[", "x["}, {"", ""}, {"ab?", "abc"}, {"a/b", "a/b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		ok, err := path.Match(pattern, name)
		if want := ok && err == nil; Match(pattern, name) != want {
			t.Fatalf("Match(%q, %q) = %v, path.Match says %v (%v)", pattern, name, !want, ok, err)
		}
	})
}
