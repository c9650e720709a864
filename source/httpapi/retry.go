package httpapi

import (
	"errors"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Retry is how one request to a vendor's API is bounded and retried: the
// keys every API source takes, squashed into its config. The vendor's
// client reads what its API says about a failure (the status, the wait it
// asks for, whether it marks the error final); these keys bound the rest.
type Retry struct {
	// Timeout bounds one HTTP request, body included (default 60s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxRetries is the number of retries of one request (default 10) after
	// a transport error, 408, 409, 429, a 5xx the API does not mark as
	// final, or an answer that cannot be what was asked for (a garbled
	// page, a download cut short); past them the source fails and, in a
	// daemon, starts again from its checkpoint after a back-off. A refused
	// key (401, 403) and other 4xx answers are not retried.
	MaxRetries int `koanf:"max_retries"`
	// RetryWaitMin is the wait before the first retry of a request
	// (default 500ms); it doubles after each failure, with jitter.
	RetryWaitMin time.Duration `koanf:"retry_wait_min"`
	// RetryWaitMax caps the wait between retries of a request (default
	// 30s); a wait the API asks for is capped by max_retry_after instead.
	RetryWaitMax time.Duration `koanf:"retry_wait_max"`
	// MaxServerWait caps a wait the API asks for (Retry-After, or the
	// vendor's own header; default 5m).
	MaxServerWait time.Duration `koanf:"max_retry_after"`
}

// DefaultRetry is where every API source's retry keys start.
func DefaultRetry() Retry {
	return Retry{Timeout: 60 * time.Second, MaxRetries: 10, RetryWaitMin: 500 * time.Millisecond,
		RetryWaitMax: 30 * time.Second, MaxServerWait: 5 * time.Minute}
}

// Validate reports the keys that hold an impossible value, each by name.
func (r *Retry) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	if r.Timeout <= 0 {
		add("timeout", "must be > 0")
	}
	if r.MaxRetries < 0 {
		add("max_retries", "must be >= 0")
	}
	if r.RetryWaitMin <= 0 {
		add("retry_wait_min", "must be > 0")
	}
	if r.RetryWaitMax < r.RetryWaitMin {
		add("retry_wait_max", "must be >= retry_wait_min")
	}
	if r.MaxServerWait <= 0 {
		add("max_retry_after", "must be > 0")
	}
	return errors.Join(errs...)
}
