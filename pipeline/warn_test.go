package pipeline

import (
	"strings"
	"testing"
)

func TestInClear(t *testing.T) {
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"http://siem.example:8088", true},
		{"http://user:hunter2@siem.example:8088", true},
		{"https://siem.example:8088", false},
		{"http://127.0.0.1:8088", false},
		{"http://[::1]:8088", false},
		{"http://localhost:8088", false},
		{"siem.example:4317", false},
	} {
		err := InClear("endpoint", tc.url, "the token")
		if (err != nil) != tc.warn {
			t.Errorf("%s: %v, want a warning: %v", tc.url, err, tc.warn)
		}
		if err != nil && (!strings.HasPrefix(err.Error(), "endpoint: ") || strings.Contains(err.Error(), "hunter2")) {
			t.Errorf("%s: %v: want the key named and no password", tc.url, err)
		}
	}
}
