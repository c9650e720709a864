package chatgpt

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// handlers carries requests to the handler of their host, in memory: a
// test on synctest's clock cannot use the network.
type handlers map[string]http.Handler

func (h handlers) RoundTrip(r *http.Request) (*http.Response, error) {
	hd, ok := h[r.URL.Host]
	if !ok {
		return nil, fmt.Errorf("no host %s", r.URL.Host)
	}
	rec := httptest.NewRecorder()
	hd.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// TestPollAndBackoffOnTheClock runs the source with its default poll
// interval and retry waits on synctest's clock, against the simulator
// answering a tenth of the requests with 429 (Retry-After: 1s or none),
// 5xx, slow answers and changed downloads: it catches up a day, then each
// poll delivers the files that appeared since the one before, each record
// once, without a real second passing.
func TestPollAndBackoffOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		types := []string{"AUTH_LOG", "CODEX_LOG"}
		sim := chatgptsim.New(chatgptsim.Options{Seed: 18, APIKey: testKey, Types: types, DuplicateFraction: 0.3,
			Faults: chatgptsim.Faults{Rate: 0.1, Kinds: []chatgptsim.FaultKind{chatgptsim.Fault429, chatgptsim.Fault429Bare,
				chatgptsim.Fault500, chatgptsim.Fault503, chatgptsim.FaultSlow, chatgptsim.FaultMultiDoc, chatgptsim.FaultDigest}}})
		sim.SetDownloadBase("https://downloads.sim")
		rt := handlers{"api.sim": sim.Handler(), "downloads.sim": sim.DownloadHandler()}
		cfg := *DefaultConfig() // poll_interval 5m, retries from 500ms, Retry-After honoured
		cfg.BaseURL, cfg.APIKey, cfg.WorkspaceID, cfg.EventTypes = "https://api.sim/v1/compliance", testKey, sim.WorkspaceID(), types
		cfg.StartAt.Ago = 48 * time.Hour
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s, err := newSourceWith(pipeline.Settings{Name: "acme"}, cfg, nil, rt)
		if err != nil {
			t.Fatal(err)
		}
		var c collector
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		began := time.Now()
		go func() { done <- sourcetest.Run(ctx, s, &c, checkpoint.NewMemory(), false, time.Second) }()

		// settle lets the clock run, a second at a time, until every id of
		// want is delivered.
		settle := func(want []string) {
			t.Helper()
			for range 600 {
				synctest.Wait()
				select {
				case err := <-done:
					t.Fatalf("the source stopped: %v", err)
				default:
				}
				got := map[string]bool{}
				for _, id := range c.ids() {
					got[id] = true
				}
				if !slices.ContainsFunc(want, func(id string) bool { return !got[id] }) {
					return
				}
				time.Sleep(time.Second)
			}
			t.Fatalf("%d delivered after 10 minutes, waiting for %d", len(c.ids()), len(want))
		}
		settle(sim.Truth().EventIDs) // the back-fill of a day
		if sim.Stats().Faults[chatgptsim.Fault429] == 0 || time.Since(began) < time.Second {
			t.Fatalf("the back-fill took %v with faults %v: no Retry-After was waited for", time.Since(began), sim.Stats().Faults)
		}
		for range 12 { // an hour of polls: six new files a type
			time.Sleep(cfg.PollInterval)
			settle(sim.Truth().EventIDs)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		visible := sim.Truth().EventIDs
		got := c.ids()
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] || !slices.Contains(visible, id) {
				t.Fatalf("%s delivered twice, or not a record of the simulator", id)
			}
			seen[id] = true
		}
		if n := len(sim.Files("AUTH_LOG")); n < 145 {
			t.Fatalf("only %d files of AUTH_LOG", n)
		}
		t.Logf("%d records over %v of the clock, faults %v", len(got), time.Since(began).Round(time.Second), sim.Stats().Faults)
	})
}
