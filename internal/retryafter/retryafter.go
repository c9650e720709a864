// Package retryafter reads the Retry-After header the way every HTTP
// client of the project honours it.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Parse reads a Retry-After value: seconds (fractions accepted, as some
// servers send them) or an HTTP date, which counts from now (a date in the
// past is a wait of zero). ok is false for an empty, negative, absurdly
// large or unreadable value.
func Parse(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s >= 0 && s < 1e9 { // NaN and +Inf fail too
			return time.Duration(s * float64(time.Second)), true
		}
		return 0, false
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
