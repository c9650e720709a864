package openai

import (
	"regexp"
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
			sourcetest.Refused(t, "events", newSource(t, cfg, clk.Now), tc.key, tc.want)
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
	sourcetest.Garbled(t, "events", newSource(t, cfg, clk.Now), cfg.MaxRetries, func() int64 { return sim.Stats().Requests })
	// The seeded faults give each attempt another kind of breakage, so
	// each kind was refused.
	st := sim.Stats()
	for _, k := range []openaisim.FaultKind{openaisim.FaultGarbled, openaisim.FaultEnvelope, openaisim.FaultTruncated} {
		if st.Faults[k] != 1 {
			t.Errorf("%s answered %d times, want once (faults %v)", k, st.Faults[k], st.Faults)
		}
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
	sourcetest.Endless(t, "events", newSource(t, cfg, clk.Now), cfg.MaxRetries, func() int64 { return sim.Stats().Requests })
}

// TestOversizePagesAreRefused: pages of 300,000 events when 100 were asked
// for are refused before they are read whole, retried, then reported.
func TestOversizePagesAreRefused(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	_, base := startSim(t, openaisim.Options{Seed: 5, Events: 500, Span: time.Hour, Start: t0, Now: clk.Now,
		Faults: openaisim.Faults{Rate: 1, Kinds: []openaisim.FaultKind{openaisim.FaultOversize}}})
	cfg := testConfig(base)
	cfg.MaxRetries = 2
	// Each of the 3 attempts reads at most the bound of a page of 100
	// events (6.4 MiB, in a buffer that doubles as it grows, more under
	// -race); a body read whole would be about 200 MiB each time.
	sourcetest.Oversize(t, "events", newSource(t, cfg, clk.Now), 200<<20)
}

// TestPoisonEvent: events whose effective_at is a word, or a time
// outside the window asked for, stall the source or go to the dead-letter
// sink (sourcetest.Poison).
func TestPoisonEvent(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
	sim, base := startSim(t, openaisim.Options{Seed: 9, Events: 600, Span: 24 * time.Hour, Start: t0, Now: clk.Now})
	poisoned := sourcetest.Spoiled(t, base, regexp.MustCompile(`"effective_at":[0-9]+`), map[string]string{
		string(sim.Event(300)): `"effective_at":"yesterday"`, string(sim.Event(150)): `"effective_at":946684800`})
	sourcetest.Poison(t, sourcetest.Poisoned{
		Noun: "events",
		Source: func(t *testing.T, deadLetter bool) pipeline.Source {
			cfg := testConfig(poisoned)
			if deadLetter {
				cfg.OnInvalidEvent = InvalidDeadLetter
			} else {
				cfg.MaxRetries = 1
			}
			return newSource(t, cfg, clk.Now)
		},
		Visible: sim.VisibleIDs(clk.Now().Add(-testConfig(base).Settle)),
		Bad:     []string{sim.EventID(150), sim.EventID(300)},
		Errors:  []string{"outside the requested window", "without a valid effective_at"},
	})
}
