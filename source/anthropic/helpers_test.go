package anthropic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim/anthropicsimtest"
	"github.com/auditrelay/auditrelay/source/openai"
)

// clock is a settable time source shared by the simulator and the source.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// collector is a consumer that records what was delivered and can fail.
type collector struct {
	mu      sync.Mutex
	ids     []string
	times   []time.Time
	batches int
	fail    func(b pipeline.Batch) error
}

func (c *collector) Consume(_ context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		if err := c.fail(b); err != nil {
			return err
		}
	}
	c.batches++
	for _, e := range b.Events {
		c.ids = append(c.ids, e.ID)
		c.times = append(c.times, e.Time)
	}
	return nil
}

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const testKey = "sk-ant-api01-test"

func testConfig(base string) Config {
	c := *defaultConfig()
	c.BaseURL = base
	c.APIKey = testKey
	c.StartAt = openai.StartAt{Time: t0.Add(-time.Minute)}
	c.RetryWaitMin = time.Millisecond
	c.RetryWaitMax = 20 * time.Millisecond
	c.MaxServerWait = 50 * time.Millisecond
	c.Timeout = 5 * time.Second
	c.PollInterval = 10 * time.Millisecond
	c.PageSize = 100
	c.MaxWindowEvents = 500
	c.BatchSize = 70
	return c
}

func newTestSource(t *testing.T, cfg Config, now func() time.Time) *Source {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := NewSource(pipeline.Settings{Name: "acme"}, cfg, nil)
	if now != nil {
		s.now = now
	}
	return s
}

// startSim serves a simulator without a request budget unless o sets one
// (the budget has its own tests), accepting testKey.
func startSim(t *testing.T, o anthropicsim.Options) (*anthropicsim.Server, string) {
	t.Helper()
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = -1
	}
	if o.Keys == nil {
		o.Keys = []anthropicsim.Key{{Secret: testKey}}
	}
	return anthropicsimtest.Start(t, o)
}

func runOnce(t *testing.T, s pipeline.Source, next pipeline.Consumer, store pipeline.CursorStore) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return runSource(ctx, s, next, store, true, time.Second)
}

// runSource runs s as the source "acme" through the engine into next.
func runSource(ctx context.Context, s pipeline.Source, next pipeline.Consumer, store pipeline.CursorStore, once bool, drain time.Duration) error {
	p := pipeline.Assemble(pipeline.Parts{
		Sources: map[string]pipeline.Source{"acme": s}, Sinks: map[string]pipeline.Consumer{"sink": next}, Store: store,
		Retry: pipeline.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, Multiplier: 2}, DrainTimeout: drain,
	})
	return p.Run(ctx, pipeline.RunOptions{Once: once})
}

// visibleBefore returns the ids of the activities of sim visible now whose
// created_at is before t, oldest first: what a complete reader that caught
// up to t delivers.
func visibleBefore(t *testing.T, sim *anthropicsim.Server, now, before time.Time) []string {
	t.Helper()
	var ids []string
	for i := range sim.Count() {
		if sim.VisibleAt(i).After(now) {
			continue
		}
		ev, err := schema.Parse(sim.Activity(i), "", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Time.Before(before) {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

// checkExactlyOnce fails unless got holds every id of want exactly once.
func checkExactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	var missing, dups []string
	for _, id := range want {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range seen {
		if n > 1 {
			dups = append(dups, id)
		}
	}
	if len(missing) > 0 || len(dups) > 0 || len(got) != len(want) {
		t.Fatalf("delivered %d, want %d: %d missing (e.g. %v), %d duplicated (e.g. %v)",
			len(got), len(want), len(missing), head(missing), len(dups), head(dups))
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// handlerTransport serves requests with a handler in the caller's
// goroutine, without a network: inside a synctest bubble every wait of the
// simulator (latency, the budget) then runs on the bubble's clock.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
