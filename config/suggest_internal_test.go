package config

import "testing"

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"timeout", "timeout", 0},
		{"tmeout", "timeout", 1},    // a letter left out
		{"timeoutt", "timeout", 1},  // one too many
		{"tinemout", "timeout", 2},  // one wrong, one too many
		{"nmae", "name", 1},         // two letters swapped
		{"endpiont", "endpoint", 1}, // two letters swapped
		{"kitten", "sitting", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}
