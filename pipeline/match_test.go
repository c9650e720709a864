package pipeline

import (
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
