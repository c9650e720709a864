package openai

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func testConfig(base string) Config {
	c := *defaultConfig()
	c.BaseURL = base
	c.APIKey = "sk-admin-test"
	c.StartAt = StartAt{Time: t0.Add(-time.Minute)}
	c.RetryWaitMin = time.Millisecond
	c.RetryWaitMax = 20 * time.Millisecond
	c.MaxServerWait = 50 * time.Millisecond
	c.Timeout = 5 * time.Second
	c.PollInterval = 10 * time.Millisecond
	c.MaxWindowEvents = 500
	c.BatchSize = 70
	return c
}

func newSource(t *testing.T, cfg Config, now func() time.Time) *AuditSource {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := NewAuditSource(pipeline.Settings{Name: "acme"}, cfg, nil)
	if now != nil {
		s.now = now
	}
	return s
}

func startSim(t *testing.T, o openaisim.Options) (*openaisim.Server, string) {
	t.Helper()
	if o.APIKey == "" {
		o.APIKey = "sk-admin-test"
	}
	return openaisimtest.Start(t, o)
}

// TestTimeWindowContract runs the contract of every time-window source
// against the audit-log source and the OpenAI simulator.
func TestTimeWindowContract(t *testing.T) {
	sourcetest.Contract(t, sourcetest.Vendor{
		Noun: "events",
		Serve: func(t *testing.T, h sourcetest.History) sourcetest.Simulator {
			if h.Repeats > 0 {
				t.Fatal("the OpenAI simulator sends no page twice")
			}
			sim, base := startSim(t, openaisim.Options{Seed: h.Seed, Events: h.Records, Span: h.Span, Start: h.Start,
				Rate: h.Rate, LateFraction: h.LateFraction, LateDelay: h.LateDelay, Now: h.Now})
			return contractSim{sim, base}
		},
		Source: func(t *testing.T, base string, k sourcetest.Settings, now func() time.Time) pipeline.Source {
			cfg := testConfig(base)
			cfg.StartAt = StartAt{Time: k.StartAt}
			cfg.PageSize, cfg.MaxWindowEvents, cfg.BatchSize = k.PageSize, k.MaxWindowEvents, k.BatchSize
			cfg.Overlap, cfg.Settle = k.Overlap, k.Settle
			return newSource(t, cfg, now)
		},
	})
}

// contractSim is the OpenAI simulator as the contract sees it.
type contractSim struct {
	*openaisim.Server
	base string
}

func (s contractSim) Base() string                      { return s.base }
func (s contractSim) Visible(before time.Time) []string { return s.VisibleIDs(before) }

func TestPermanentErrorsAreClearAndSaveNothing(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	_, base := startSim(t, openaisim.Options{Seed: 1, Events: 10, Span: time.Minute, Start: t0, Now: clk.Now})
	for _, tc := range []struct {
		name, key, path, want string
	}{
		{"wrong key", "sk-admin-wrong", "", "admin key was refused (401)"},
		{"wrong base url", "sk-admin-test", "/nope", "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(base + tc.path)
			cfg.APIKey = pipeline.Secret(tc.key)
			store := checkpoint.NewMemory()
			err := sourcetest.RunOnce(t, newSource(t, cfg, clk.Now), &sourcetest.Collector{}, store)
			if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want a permanent error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.key) {
				t.Fatal("the key appears in the error")
			}
			if raw, _ := store.Load(context.Background(), "acme"); raw != nil {
				t.Fatalf("cursor saved after a failure: %s", raw)
			}
		})
	}
}

func TestEveryFaultKindAtTenPercent(t *testing.T) {
	for _, kind := range openaisim.AllFaultKinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
			sim, base := startSim(t, openaisim.Options{Seed: 5, Events: 2000, Span: 24 * time.Hour, Start: t0, Now: clk.Now,
				Faults: openaisim.Faults{Rate: 0.1, Kinds: []openaisim.FaultKind{kind}, RetryAfter: 10 * time.Millisecond, SlowDelay: 300 * time.Millisecond}})
			cfg := testConfig(base)
			cfg.Timeout = 200 * time.Millisecond // "slow" answers time out and are retried
			var c sourcetest.Collector
			if err := sourcetest.RunOnce(t, newSource(t, cfg, clk.Now), &c, checkpoint.NewMemory()); err != nil {
				t.Fatal(err)
			}
			sourcetest.CheckExactlyOnce(t, c.IDs, sim.VisibleIDs(clk.Now().Add(-cfg.Settle)))
			if st := sim.Stats(); st.Faults[kind] == 0 {
				t.Fatalf("no %s fault was injected (%d requests)", kind, st.Requests)
			}
		})
	}
}

func TestGarbledPagesNeverMoveTheCursor(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	sim, base := startSim(t, openaisim.Options{Seed: 1, Events: 100, Span: time.Hour, Start: t0, Now: clk.Now,
		Faults: openaisim.Faults{Rate: 1, Kinds: []openaisim.FaultKind{openaisim.FaultGarbled, openaisim.FaultEnvelope, openaisim.FaultTruncated}}})
	cfg := testConfig(base)
	cfg.MaxRetries = 2
	store := checkpoint.NewMemory()
	var c sourcetest.Collector
	// Every answer is broken: each request is retried, then the source
	// reports the broken page and stops, having moved nothing.
	err := sourcetest.RunOnce(t, newSource(t, cfg, clk.Now), &c, store)
	if err == nil || !strings.Contains(err.Error(), "not a valid page") || pipeline.IsPermanent(err) {
		t.Fatalf("err = %v; want a retryable error naming the broken page", err)
	}
	if raw, _ := store.Load(context.Background(), "acme"); raw != nil {
		t.Fatalf("cursor moved despite garbled pages: %s", raw)
	}
	if len(c.IDs) != 0 {
		t.Fatalf("%d events delivered from garbled pages", len(c.IDs))
	}
	// The first request and its MaxRetries retries, then no more: a broken
	// answer taken for a page would have ended the retries early (or moved
	// on to another request), and the seeded faults give each attempt
	// another kind of breakage, so each kind was refused.
	st := sim.Stats()
	if want := int64(1 + cfg.MaxRetries); st.Requests != want {
		t.Fatalf("%d requests, want %d: the first attempt and %d retries", st.Requests, want, cfg.MaxRetries)
	}
	for _, k := range []openaisim.FaultKind{openaisim.FaultGarbled, openaisim.FaultEnvelope, openaisim.FaultTruncated} {
		if st.Faults[k] != 1 {
			t.Errorf("%s answered %d times, want once (faults %v)", k, st.Faults[k], st.Faults)
		}
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("giving up after %d attempt(s)", 1+cfg.MaxRetries)) {
		t.Errorf("err = %v; want it to say the request gave up after %d attempts", err, 1+cfg.MaxRetries)
	}
}

// TestEndlessPageStopsTheSource: an API that answers the same page forever
// with has_more: true makes the source stop with a clear error after a
// bounded number of requests, with nothing delivered and the cursor
// unmoved.
func TestEndlessPageStopsTheSource(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
	sim, base := startSim(t, openaisim.Options{Seed: 5, Events: 2000, Span: 24 * time.Hour, Start: t0, Now: clk.Now,
		Faults: openaisim.Faults{Rate: 1, Kinds: []openaisim.FaultKind{openaisim.FaultLoop}}})
	cfg := testConfig(base)
	cfg.MaxRetries = 3
	store := checkpoint.NewMemory()
	var c sourcetest.Collector
	err := sourcetest.RunOnce(t, newSource(t, cfg, clk.Now), &c, store)
	if err == nil || !strings.Contains(err.Error(), "the API repeated a page") {
		t.Fatalf("err = %v; want the repeated page named", err)
	}
	if len(c.IDs) != 0 {
		t.Fatalf("%d events delivered from a looping API", len(c.IDs))
	}
	if raw, _ := store.Load(context.Background(), "acme"); raw != nil {
		t.Fatalf("cursor moved: %s", raw)
	}
	// Every walk stops at its second page, retried MaxRetries times; the
	// walks are the first page of the range and the stretches the
	// limiter let run (at most 16).
	if n := sim.Stats().Requests; n > int64(1+16*(2+cfg.MaxRetries)) {
		t.Fatalf("%d requests to a looping API", n)
	}
}

// TestOversizePagesAreRefused: pages of 300,000 events when 100 were asked
// for are refused before they are read whole, retried, then reported.
func TestOversizePagesAreRefused(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	_, base := startSim(t, openaisim.Options{Seed: 5, Events: 500, Span: time.Hour, Start: t0, Now: clk.Now,
		Faults: openaisim.Faults{Rate: 1, Kinds: []openaisim.FaultKind{openaisim.FaultOversize}}})
	cfg := testConfig(base)
	cfg.MaxRetries = 2
	store := checkpoint.NewMemory()
	var c sourcetest.Collector
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	err := sourcetest.RunOnce(t, newSource(t, cfg, clk.Now), &c, store)
	if err == nil || !strings.Contains(err.Error(), "larger than the") {
		t.Fatalf("err = %v; want the oversized page named", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// Each of the 3 attempts reads at most the bound of a page of 100
	// events (6.4 MiB, in a buffer that doubles as it grows, more under
	// -race); a body read whole would be about 200 MiB each time.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 200<<20 {
		t.Fatalf("%d MiB allocated to refuse oversized pages", grew>>20)
	}
	if len(c.IDs) != 0 {
		t.Fatalf("%d events delivered", len(c.IDs))
	}
	if raw, _ := store.Load(context.Background(), "acme"); raw != nil {
		t.Fatalf("cursor moved: %s", raw)
	}
}

// poisoning serves the simulator at base with the effective_at of the
// events of sim given in spoil (by index) replaced, as a broken API might
// send them.
func poisoning(t *testing.T, sim *openaisim.Server, base string, spoil map[int]string) string {
	t.Helper()
	var pairs [][2][]byte
	for k, at := range spoil {
		good := sim.Event(k)
		bad := regexp.MustCompile(`"effective_at":[0-9]+`).ReplaceAll(good, []byte(`"effective_at":`+at))
		if bytes.Equal(good, bad) {
			t.Fatal("the event has no effective_at to spoil")
		}
		pairs = append(pairs, [2][]byte{good, bad})
	}
	return sourcetest.Rewriting(t, base, pairs)
}

// TestPoisonEvent: events that can never be indexed (effective_at a
// word) or that the API returns outside the window asked for stall the
// source by default (retried, reported, the cursor short of them), and with
// on_invalid_event: dead_letter go to the dead-letter sink while every
// other event is delivered and the source goes on.
func TestPoisonEvent(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
	sim, base := startSim(t, openaisim.Options{Seed: 9, Events: 600, Span: 24 * time.Hour, Start: t0, Now: clk.Now})
	poisoned := poisoning(t, sim, base, map[int]string{300: `"yesterday"`, 150: "946684800"})
	var want []string
	for _, id := range sim.VisibleIDs(clk.Now().Add(-testConfig(base).Settle)) {
		if id != sim.EventID(300) && id != sim.EventID(150) {
			want = append(want, id)
		}
	}

	t.Run("stall", func(t *testing.T) {
		cfg := testConfig(poisoned)
		cfg.MaxRetries = 1
		var c sourcetest.Collector
		err := sourcetest.RunOnce(t, newSource(t, cfg, clk.Now), &c, checkpoint.NewMemory())
		if err == nil || !strings.Contains(err.Error(), "outside the requested window") && !strings.Contains(err.Error(), "without a valid effective_at") {
			t.Fatalf("err = %v; want the event named", err)
		}
		if len(c.IDs) >= len(want) {
			t.Fatalf("%d events delivered past the poison", len(c.IDs))
		}
	})
	t.Run("dead_letter", func(t *testing.T) {
		cfg := testConfig(poisoned)
		cfg.OnInvalidEvent = InvalidDeadLetter
		var c, dead sourcetest.Collector
		p := pipeline.Assemble(pipeline.Parts{
			Sources: map[string]pipeline.Source{"acme": newSource(t, cfg, clk.Now)}, Sinks: map[string]pipeline.Consumer{"sink": &c},
			DeadLetter: &dead, Store: checkpoint.NewMemory(), DrainTimeout: time.Second,
		})
		if err := p.Run(t.Context(), pipeline.RunOptions{Once: true}); err != nil {
			t.Fatal(err)
		}
		sourcetest.CheckExactlyOnce(t, c.IDs, want)
		sourcetest.CheckExactlyOnce(t, dead.IDs, []string{sim.EventID(150), sim.EventID(300)})
	})
}
