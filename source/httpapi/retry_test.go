package httpapi

import (
	"strings"
	"testing"
	"time"
)

// TestRetryValidate: the defaults hold, and each impossible value is
// reported under its own key, the key a user writes.
func TestRetryValidate(t *testing.T) {
	def := DefaultRetry()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		key    string
		change func(r *Retry)
	}{
		{"timeout", func(r *Retry) { r.Timeout = 0 }},
		{"max_retries", func(r *Retry) { r.MaxRetries = -1 }},
		{"retry_wait_min", func(r *Retry) { r.RetryWaitMin = 0 }},
		{"retry_wait_max", func(r *Retry) { r.RetryWaitMax = r.RetryWaitMin - time.Millisecond }},
		{"max_retry_after", func(r *Retry) { r.MaxServerWait = -time.Second }},
	} {
		r := DefaultRetry()
		tc.change(&r)
		err := r.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+": ") || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%s: err = %v, want one error naming the key", tc.key, err)
		}
	}
}
