package anthropic

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
	"github.com/auditrelay/auditrelay/source/openai"
)

// bySource is a consumer that records the ids delivered for each source.
type bySource struct {
	mu  sync.Mutex
	ids map[string][]string
}

func (c *bySource) Consume(_ context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range b.Events {
		c.ids[b.Source] = append(c.ids[b.Source], e.ID)
	}
	return nil
}

// TestSharedBudgetBackfill: two sources of one parent organization, each
// with a key of its own, back-fill the organization's 200,000 activities
// in one process, against the simulator's budget of 600 requests a minute
// shared by every key (a token bucket of 600 refilled at 10 a second) and
// answers of a median of 300 ms (p99 1.2 s). Pages of 100 make the budget,
// not the latency, what bounds the back-fill: at least 4,000 requests, of
// which the first 600 the bucket holds, the rest at 10 a second, so no
// reader can finish sooner than (4000 - 600) / 10 = 340 s. The sources
// pace themselves by the rate-limit headers through the limiter they
// share: not one 429, and within 1.3 times that bound.
//
// It runs in a synctest bubble: the simulator's latency and budget, the
// limiter, the retries and the planner all wait on the bubble's clock, so
// the measurement is the same on a busy machine (and takes seconds of CPU,
// not minutes).
func TestSharedBudgetBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("a back-fill of 400,000 activities")
	}
	const (
		activities = 200_000
		pageSize   = 100
		sources    = 2
		burst      = anthropicsim.DefaultRequestsPerMinute // the bucket holds a minute's worth
		perSecond  = anthropicsim.DefaultRequestsPerMinute / 60.0
	)
	synctest.Test(t, func(t *testing.T) {
		span := 30 * 24 * time.Hour
		start := time.Now().Add(-span - time.Hour)
		keys := []anthropicsim.Key{{Secret: "sk-ant-api01-first"}, {Secret: "sk-ant-admin01-second"}}
		sim := anthropicsim.New(anthropicsim.Options{Seed: 42, Activities: activities, Span: span, Start: start,
			Latency: anthropicsim.Latency{Median: 300 * time.Millisecond, P99: 1200 * time.Millisecond}, Keys: keys})
		lims := httpapi.NewLimiters()
		srcs := map[string]pipeline.Source{}
		for i, k := range keys {
			cfg := *defaultConfig()
			cfg.BaseURL = "http://api.anthropic.test"
			cfg.APIKey = pipeline.Secret(k.Secret)
			cfg.StartAt = openai.StartAt{Time: start.Add(-time.Minute)}
			cfg.PageSize = pageSize
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("org-%d", i)
			srcs[name] = newSource(pipeline.Settings{Name: name}, cfg, lims, handlerTransport{sim.Handler()})
		}
		sink := &bySource{ids: map[string][]string{}}
		p := pipeline.Assemble(pipeline.Parts{Sources: srcs, Sinks: map[string]pipeline.Consumer{"sink": sink},
			Store: checkpoint.NewMemory(), DrainTimeout: time.Second})
		began := time.Now()
		if err := p.Run(t.Context(), pipeline.RunOptions{Once: true}); err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)

		want := sim.Truth().IDs
		if len(want) != activities {
			t.Fatalf("the simulator shows %d activities, want %d", len(want), activities)
		}
		for name := range srcs {
			sourcetest.CheckExactlyOnce(t, sink.ids[name], want)
		}
		st := sim.Stats()
		least := sources * int(math.Ceil(activities/float64(pageSize)))
		bound := time.Duration(float64(least-burst) / perSecond * float64(time.Second))
		spentBound := time.Duration(float64(st.BudgetSpent-burst) / perSecond * float64(time.Second))
		t.Logf("%d activities x %d sources in %v: %d requests (at least %d), %d answered 429; the budget allows %v for %d requests, %v for the %d made (%.2fx, %.2fx)",
			activities, sources, took.Round(time.Second), st.Requests, least, st.RateLimited, bound, least, spentBound.Round(time.Second),
			st.BudgetSpent, took.Seconds()/bound.Seconds(), took.Seconds()/spentBound.Seconds())
		if st.RateLimited != 0 || st.Statuses[429] != 0 {
			t.Errorf("%d requests answered 429", st.RateLimited)
		}
		// The slack is the tail of the last answers: a few latencies.
		if limit := time.Duration(1.3*float64(bound)) + 5*time.Second; took > limit {
			t.Errorf("the back-fill took %v, more than 1.3 x %v + 5s = %v", took, bound, limit)
		}
	})
}
