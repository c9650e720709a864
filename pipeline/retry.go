package pipeline

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy is the one retry policy of every sink: exponential backoff with
// jitter between InitialInterval and MaxInterval, the delay a destination
// asked for (RetryAfterError) taking precedence. Sinks do not retry on their
// own; they classify their errors and the engine retries the sink that
// failed, alone.
type RetryPolicy struct {
	// InitialInterval is the first wait (default 500ms).
	InitialInterval time.Duration `koanf:"initial_interval"`
	// MaxInterval caps every wait, including a server's Retry-After
	// (default 30s).
	MaxInterval time.Duration `koanf:"max_interval"`
	// Multiplier grows the wait after each failure (default 2).
	Multiplier float64 `koanf:"multiplier"`
	// MaxElapsed gives up on a window after retrying a sink this long; 0
	// (the default) retries until shutdown, which stalls the pipeline
	// instead of losing anything. A window given up on is not committed:
	// `run --once` then exits 1, a daemon runs the source again from its
	// cursor after a back-off (and the sinks that had taken the window
	// take it again).
	MaxElapsed time.Duration `koanf:"max_elapsed"`
}

// DefaultRetryPolicy returns the defaults documented on RetryPolicy.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{InitialInterval: 500 * time.Millisecond, MaxInterval: 30 * time.Second, Multiplier: 2}
}

// Validate implements Config.
func (p *RetryPolicy) Validate() error {
	var errs []error
	if p.InitialInterval <= 0 {
		errs = append(errs, FieldError("initial_interval", "must be > 0"))
	}
	if p.MaxInterval < p.InitialInterval {
		errs = append(errs, FieldError("max_interval", "must be >= initial_interval"))
	}
	if p.Multiplier < 1 {
		errs = append(errs, FieldError("multiplier", "must be >= 1"))
	}
	if p.MaxElapsed < 0 {
		errs = append(errs, FieldError("max_elapsed", "must be >= 0"))
	}
	return errors.Join(errs...)
}

// Backoff returns the wait before retry number attempt (0 for the first
// retry), with +-20% jitter.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	d := float64(p.InitialInterval)
	for i := 0; i < attempt && d < float64(p.MaxInterval); i++ {
		d *= p.Multiplier
	}
	d = min(d, float64(p.MaxInterval))
	d *= 0.8 + 0.4*rand.Float64()
	return time.Duration(d)
}

// Wait returns how long to wait after err on retry number attempt: the
// server's delay when it gave one (capped at MaxInterval), otherwise Backoff.
func (p RetryPolicy) Wait(err error, attempt int) time.Duration {
	if d, ok := RetryDelay(err); ok && d > 0 {
		return min(d, p.MaxInterval)
	}
	return p.Backoff(attempt)
}

// Sleep waits d or until ctx is done, and reports ctx's error in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
