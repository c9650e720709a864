package anthropic

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim/anthropicsimtest"
	"github.com/auditrelay/auditrelay/source/openai"
)

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
