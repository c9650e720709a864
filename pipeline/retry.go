package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// RetryPolicy is the one retry policy of every sink: exponential backoff with
// jitter between InitialInterval and MaxInterval, the delay a destination
// asked for (RetryAfterError) taking precedence. Sinks do not retry on their
// own; they classify their errors and the runner retries.
type RetryPolicy struct {
	// InitialInterval is the first wait (default 500ms).
	InitialInterval time.Duration `koanf:"initial_interval"`
	// MaxInterval caps every wait, including a server's Retry-After
	// (default 30s).
	MaxInterval time.Duration `koanf:"max_interval"`
	// Multiplier grows the wait after each failure (default 2).
	Multiplier float64 `koanf:"multiplier"`
	// MaxElapsed gives up on a batch after this long; 0 (the default)
	// retries until shutdown, which stalls the pipeline instead of losing
	// anything. A batch given up on is retried later by its source.
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

// retryingSink wraps a sink with the retry policy, telemetry and the
// dead-letter path.
type retryingSink struct {
	name       string
	sink       Consumer
	policy     RetryPolicy
	deadLetter Consumer // nil: rejected events stop the pipeline
	tel        Telemetry
	log        *slog.Logger
}

func (r *retryingSink) Consume(ctx context.Context, b Batch) error {
	start := time.Now()
	r.tel.InFlight(1)
	defer r.tel.InFlight(-1)
	for attempt := 0; ; attempt++ {
		t0 := time.Now()
		err := r.sink.Consume(ctx, b)
		r.tel.SinkBatch(r.name, len(b.Events), b.Bytes(), time.Since(t0), err)
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("sink %q: %w", r.name, ctxErr)
		}
		var rej *RejectedError
		if errors.As(err, &rej) {
			return r.deadLetterRejected(ctx, b, rej)
		}
		if IsPermanent(err) {
			return fmt.Errorf("sink %q: %w", r.name, err)
		}
		if r.policy.MaxElapsed > 0 && time.Since(start) > r.policy.MaxElapsed {
			return fmt.Errorf("sink %q: giving up after %v: %w", r.name, r.policy.MaxElapsed, err)
		}
		wait := r.policy.Wait(err, attempt)
		r.tel.Retried(r.name, "sink", wait)
		r.log.Warn("sink failed, retrying", "sink", r.name, "attempt", attempt+1, "wait", wait, "err", err)
		if err := Sleep(ctx, wait); err != nil {
			return fmt.Errorf("sink %q: %w", r.name, err)
		}
	}
}

// deadLetterEntry is the JSON object the dead-letter sink receives for each
// rejected event: the event untouched plus why and where it was refused.
type deadLetterEntry struct {
	Sink   string          `json:"sink"`
	Reason string          `json:"reason"`
	Time   time.Time       `json:"rejected_at"`
	Event  json.RawMessage `json:"event"`
}

func (r *retryingSink) deadLetterRejected(ctx context.Context, b Batch, rej *RejectedError) error {
	if r.deadLetter == nil {
		return fmt.Errorf("no dead_letter sink configured: %w", Permanent(rej))
	}
	dl := Batch{Source: b.Source, Events: make([]Event, 0, len(rej.Rejected))}
	now := time.Now().UTC()
	for _, rj := range rej.Rejected {
		raw, err := json.Marshal(deadLetterEntry{Sink: r.name, Reason: rj.Reason, Time: now, Event: json.RawMessage(rj.Event.Raw)})
		if err != nil {
			return Permanent(fmt.Errorf("dead-letter entry for %s: %w", rj.Event.ID, err))
		}
		ev := rj.Event
		ev.SetRaw(raw)
		ev.Schema = "auditrelay.dead_letter"
		dl.Events = append(dl.Events, ev)
	}
	if err := r.deadLetter.Consume(ctx, dl); err != nil {
		return fmt.Errorf("dead-letter for sink %q: %w", r.name, err)
	}
	r.tel.DeadLettered(r.name, len(dl.Events))
	r.log.Warn("events rejected by sink went to the dead-letter sink", "sink", r.name, "events", len(dl.Events), "first_reason", rej.Rejected[0].Reason)
	return nil
}
