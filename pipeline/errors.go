package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix (a refused key, an
// invalid topic). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// setupError marks an error of the setup rather than of a run.
type setupError struct{ permanentError }

// Setup marks err as one of the setup a user must change (a state
// directory another process holds): permanent, and the process exits 2 as
// for an invalid config. Setup(nil) is nil.
func Setup(err error) error {
	if err == nil {
		return nil
	}
	return setupError{permanentError{err}}
}

// IsSetup reports whether err or any error it wraps was marked Setup.
func IsSetup(err error) bool {
	var s setupError
	return errors.As(err, &s)
}

// IsPermanent reports whether err or any error it wraps was marked Permanent.
// A RejectedError is permanent too.
func IsPermanent(err error) bool {
	var p permanentError
	if errors.As(err, &p) {
		return true
	}
	var r *RejectedError
	return errors.As(err, &r)
}

// RetryAfterError is a retryable error that carries the delay the other side
// asked for (HTTP Retry-After, gRPC RetryInfo, Kafka throttling).
type RetryAfterError struct {
	Err   error
	Delay time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", e.Err, e.Delay)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the delay the destination asked for.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, Delay: d}
}

// RetryDelay returns the delay carried by a RetryAfterError in err's chain.
func RetryDelay(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.Delay, true
	}
	return 0, false
}

// Rejection is one event a destination refused for its content.
type Rejection struct {
	Event  Event
	Reason string
}

// RejectedError reports that a sink refused some events permanently (too
// large, malformed for the destination) while it delivered all the others.
// The engine hands the rejected events to the dead-letter sink, or stops
// the source when there is none: they are never dropped silently.
type RejectedError struct {
	Sink     string
	Rejected []Rejection
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sink %q rejected %d event(s)", e.Sink, len(e.Rejected))
	for i, r := range e.Rejected {
		if i == 3 {
			fmt.Fprintf(&b, "; ...")
			break
		}
		fmt.Fprintf(&b, "; %s: %s", r.Event.ID, r.Reason)
	}
	return b.String()
}

// RedeliverError is what a cursor store that is also a sink returns from
// Save when the window's records were lost with its failed commit (a Kafka
// transaction aborted): the engine sends the window to that sink again,
// then saves again.
type RedeliverError struct {
	Sink string
	Err  error
}

func (e *RedeliverError) Error() string {
	return fmt.Sprintf("%v (the window is sent to sink %q again)", e.Err, e.Sink)
}
func (e *RedeliverError) Unwrap() error { return e.Err }

// ErrInterrupted is wrapped by the error of a source whose window in
// delivery could not be committed before the shutdown's drain ended: it is
// delivered again at the next start.
var ErrInterrupted = errors.New("stopped before the window in delivery was committed")
