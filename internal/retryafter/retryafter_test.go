package retryafter

import (
	"net/http"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"  ", 0, false}, {"7", 7 * time.Second, true}, {" 7 ", 7 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true}, {"0", 0, true}, {"-1", 0, false}, {"NaN", 0, false},
		{"+Inf", 0, false}, {"1e300", 0, false}, {"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		if got, ok := Parse(c.in, now); got != c.want || ok != c.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
