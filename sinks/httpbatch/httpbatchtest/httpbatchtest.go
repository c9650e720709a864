// Package httpbatchtest is what the tests of the sinks share. Intake,
// Reset and ReadBody (intake.go) are the vendor-neutral half of the fake
// destinations of the HTTP sinks (ddtest, hectest). The rest are checks:
// how the runner reads an error of Consume (Outcome, WantOutcome),
// delivering as the runner does (Deliver, DeliverAll) and that nothing was
// lost on the way (AllReceived), starting a sink for a test (StartSink)
// and benchmarking it (BenchConsume), what the error of a config names
// (NamesKeys, ValidateCases) and which events a sink refused
// (WantRejected); and the events they send (Events).
package httpbatchtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Events returns n audit events of type typ, a step apart from 2026-01-01
// on, with the ids audit_log-000000 and on, of source "acme". The member
// of typ holds fields (JSON members) and a padding that brings the event
// to size bytes.
func Events(n, size int, typ string, step time.Duration, fields string) []pipeline.Event {
	evs := make([]pipeline.Event, n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range evs {
		id := fmt.Sprintf("audit_log-%06d", i)
		raw := fmt.Appendf(nil, `{"id":%q,"type":%q,"effective_at":%d,%q:{%s,"pad":"`, id, typ, t0.Unix()+int64(i), typ, fields)
		raw = append(raw, strings.Repeat("x", max(size-len(raw)-3, 0))...)
		evs[i] = pipeline.Event{ID: id, Type: typ, Time: t0.Add(time.Duration(i) * step), Source: "acme", Raw: append(raw, `"}}`...)}
	}
	return evs
}

// Outcome is how the runner treats an error of Consume: "ok", "rejected N"
// (N events go to the dead-letter path), "permanent", "retry after D" (the
// destination's delay) or "retry".
func Outcome(err error) string {
	var rej *pipeline.RejectedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &rej):
		return fmt.Sprintf("rejected %d", len(rej.Rejected))
	case pipeline.IsPermanent(err):
		return "permanent"
	}
	if d, ok := pipeline.RetryDelay(err); ok {
		return "retry after " + d.String()
	}
	return "retry"
}

// WantOutcome checks that the runner treats err as want (see Outcome).
func WantOutcome(t testing.TB, err error, want string) {
	t.Helper()
	if got := Outcome(err); got != want {
		t.Errorf("outcome %q (%v), want %q", got, err, want)
	}
}

// retries is the runner's policy, shortened for tests.
var retries = pipeline.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, Multiplier: 2}

// Deliver has c consume b as the runner does: it retries a retryable
// error, after a backoff of a few milliseconds, up to 50 times, and
// returns the last error (nil once c took b).
func Deliver(ctx context.Context, c pipeline.Consumer, b pipeline.Batch) error {
	for attempt := 0; ; attempt++ {
		err := c.Consume(ctx, b)
		if err == nil || pipeline.IsPermanent(err) || attempt == 50 {
			return err
		}
		if err := pipeline.Sleep(ctx, retries.Wait(err, attempt)); err != nil {
			return err
		}
	}
}

// DeliverAll delivers evs from workers goroutines at once, each a share of
// them in one batch of source (see Deliver), and fails t when an error
// outlasts the retries.
func DeliverAll(t testing.TB, c pipeline.Consumer, source string, evs []pipeline.Event, workers int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			b := pipeline.Batch{Source: source, Events: evs[w*len(evs)/workers : (w+1)*len(evs)/workers]}
			if err := Deliver(context.Background(), c, b); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// AllReceived fails t unless every event of evs is among got, what a fake
// destination received, each of which raw turns into the event's JSON as
// it was sent.
func AllReceived[T any](t testing.TB, evs []pipeline.Event, got []T, raw func(T) string) {
	t.Helper()
	seen := map[string]bool{}
	for _, g := range got {
		seen[raw(g)] = true
	}
	for _, ev := range evs {
		if !seen[string(ev.Raw)] {
			t.Fatalf("event %s lost", ev.ID)
		}
	}
}

// BenchConsume measures c consuming batch, over and over, in bytes and
// events per second.
func BenchConsume(b *testing.B, c pipeline.Consumer, batch pipeline.Batch) {
	b.Helper()
	b.SetBytes(int64(batch.Bytes()))
	for b.Loop() {
		if err := c.Consume(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Events))/b.Elapsed().Seconds(), "events/s")
}

// StartSink validates c, has newSink make a sink of it and starts the
// sink, which is shut down when the test ends.
func StartSink[C pipeline.Config, S pipeline.Sink](t testing.TB, set pipeline.Settings, c C, newSink func(pipeline.Settings, C) (S, error)) S {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := newSink(set, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// NamesKeys checks err, the error of a config's Validate: nil when keys is
// empty, otherwise naming each of keys (such as "endpoint:").
func NamesKeys(t testing.TB, err error, keys []string) {
	t.Helper()
	if len(keys) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want an error naming %q", keys)
	}
	for _, k := range keys {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("%q does not name %q", err, k)
		}
	}
}

// ConfigCase is a change of a default config and the keys the error of
// its Validate must then name (none: the config is valid).
type ConfigCase[C any] struct {
	Name string
	Mod  func(C)
	Want []string
}

// ValidateCases runs each case as a subtest: a config of newConfig,
// changed by its Mod, is validated and the error checked with NamesKeys.
// Neither the error nor the config printed with %+v may show any of
// secrets.
func ValidateCases[C pipeline.Config](t *testing.T, newConfig func() C, cases []ConfigCase[C], secrets ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			c := newConfig()
			tc.Mod(c)
			err := c.Validate()
			NamesKeys(t, err, tc.Want)
			for _, s := range secrets {
				if strings.Contains(fmt.Sprintf("%v %+v", err, c), s) {
					t.Errorf("the error or the config print shows the secret %q: %v", s, err)
				}
			}
		})
	}
}

// WantRejected checks that err is a *pipeline.RejectedError that gives
// back the events ids, in order, and nothing else.
func WantRejected(t testing.TB, err error, ids ...string) {
	t.Helper()
	var rej *pipeline.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("got %v, want the events %q rejected", err, ids)
	}
	got := make([]string, len(rej.Rejected))
	for i, r := range rej.Rejected {
		got[i] = r.Event.ID
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("got %v, want only the events %q rejected", err, ids)
	}
}
