package anthropic

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
	"github.com/auditrelay/auditrelay/source/openai"
)

// TestTimeWindowContract runs the contract of every time-window source
// against the activity-feed source and the Compliance API's simulator,
// whose pages may come twice.
func TestTimeWindowContract(t *testing.T) {
	sourcetest.Contract(t, sourcetest.Vendor{
		Noun: "activities",
		Serve: func(t *testing.T, h sourcetest.History) sourcetest.Simulator {
			o := anthropicsim.Options{Seed: h.Seed, Activities: h.Records, Span: h.Span, Start: h.Start,
				Rate: h.Rate, LateFraction: h.LateFraction, MaxLate: h.LateDelay, Now: h.Now}
			if h.Repeats > 0 {
				o.Faults = anthropicsim.Faults{Rate: h.Repeats, Kinds: []anthropicsim.FaultKind{anthropicsim.FaultRepeat}}
			}
			sim, base := startSim(t, o)
			return contractSim{t, sim, base, h.Now}
		},
		Source: func(t *testing.T, base string, k sourcetest.Settings, now func() time.Time) pipeline.Source {
			cfg := testConfig(base)
			cfg.StartAt = openai.StartAt{Time: k.StartAt}
			cfg.PageSize, cfg.MaxWindowEvents, cfg.BatchSize = k.PageSize, k.MaxWindowEvents, k.BatchSize
			cfg.Overlap, cfg.Settle = k.Overlap, k.Settle
			return newTestSource(t, cfg, now)
		},
		Repeats: 0.05,
	})
}

// contractSim is the Compliance API's simulator as the contract sees it.
type contractSim struct {
	t    *testing.T
	sim  *anthropicsim.Server
	base string
	now  func() time.Time
}

func (s contractSim) Base() string { return s.base }
func (s contractSim) Visible(before time.Time) []string {
	return visibleBefore(s.t, s.sim, s.now(), before)
}

// TestRefusedKeysStopTheSourceWithWhatToDo: a key the API refuses (401),
// a key without the scope (403) and a wrong base URL stop the source with
// a permanent error that carries the API's message and what to do, never
// the key, and save nothing.
func TestRefusedKeysStopTheSourceWithWhatToDo(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	const noScope = "sk-ant-admin01-no-scope"
	_, base := startSim(t, anthropicsim.Options{Seed: 1, Activities: 10, Span: time.Minute, Start: t0, Now: clk.Now,
		Keys: []anthropicsim.Key{{Secret: testKey}, {Secret: noScope, Scopes: []string{"read:compliance_user_data"}}}})
	for _, tc := range []struct {
		name, key, path string
		want            []string
	}{
		{"unknown key", "sk-ant-api01-wrong", "", []string{"compliance key was refused (401)", "API says: The API key provided is invalid or has been revoked."}},
		{"key without the scope", noScope, "", []string{"(403)", "the key needs the scope read:compliance_activities", "Needed: ['read:compliance_activities']"}},
		{"base url with /v1 twice", testKey, "/v1", []string{"404", "check base_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(base)
			cfg.BaseURL += tc.path
			cfg.APIKey = pipeline.Secret(tc.key)
			s := NewSource(pipeline.Settings{Name: "acme"}, cfg, nil) // a /v1 base URL does not validate
			s.now = clk.Now
			sourcetest.Refused(t, "activities", s, tc.key, tc.want...)
		})
	}
}

// TestEveryFaultKindAtTenPercent: every fault the simulator injects, at one
// request in ten (a repeat at three in ten). Transient ones (502, 503, 504, 529, slow answers, reset
// connections, truncated bodies) are retried by the client; a repeated
// activity is dropped by id; a 500 the API marks x-should-retry: false is
// not asked again but stops the source with a permanent error, which a
// daemon restarts from its checkpoint (here: the loop). Every activity is
// delivered exactly once.
func TestEveryFaultKindAtTenPercent(t *testing.T) {
	for _, kind := range anthropicsim.AllFaultKinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			// A repeat applies only to a page asked for with a cursor,
			// about half of them: it comes more often, so that it
			// surely comes.
			rate := 0.1
			if kind == anthropicsim.FaultRepeat {
				rate = 0.3
			}
			clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
			sim, base := startSim(t, anthropicsim.Options{Seed: 5, Activities: 2000, Span: 24 * time.Hour, Start: t0, Now: clk.Now,
				Faults: anthropicsim.Faults{Rate: rate, Kinds: []anthropicsim.FaultKind{kind}, SlowDelay: 300 * time.Millisecond}})
			cfg := testConfig(base)
			if kind != anthropicsim.Fault500 { // each 500 stops a run: fewer, larger pages
				cfg.PageSize = 37
			}
			if kind == anthropicsim.FaultSlow || kind == anthropicsim.Fault504 {
				cfg.Timeout = 200 * time.Millisecond // slow answers time out and are retried
			}
			store := checkpoint.NewMemory()
			var c sourcetest.Collector
			stops := 0
			for {
				err := sourcetest.RunOnce(t, newTestSource(t, cfg, clk.Now), &c, store)
				if err == nil {
					break
				}
				if kind != anthropicsim.Fault500 || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP 500") {
					t.Fatal(err)
				}
				if stops++; stops > 100 {
					t.Fatalf("no progress after %d stops: %v", stops, err)
				}
			}
			sourcetest.CheckExactlyOnce(t, c.IDs, visibleBefore(t, sim, clk.Now(), clk.Now().Add(-cfg.Settle)))
			st := sim.Stats()
			if st.Faults[kind] == 0 {
				t.Fatalf("no %s fault was injected (%d requests)", kind, st.Requests)
			}
			if kind == anthropicsim.Fault500 && stops == 0 {
				t.Fatalf("no answer marked x-should-retry: false stopped the source (%d of them, %v): it was retried", st.Faults[kind], st.Statuses)
			}
		})
	}
}

// TestServerErrorNotToRetryIsNotRetried: a 500 with x-should-retry: false
// costs one request and stops the source with a permanent error.
func TestServerErrorNotToRetryIsNotRetried(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	sim, base := startSim(t, anthropicsim.Options{Seed: 1, Activities: 100, Span: time.Hour, Start: t0, Now: clk.Now,
		Faults: anthropicsim.Faults{Rate: 1, Kinds: []anthropicsim.FaultKind{anthropicsim.Fault500}}})
	err := sourcetest.RunOnce(t, newTestSource(t, testConfig(base), clk.Now), &sourcetest.Collector{}, checkpoint.NewMemory())
	if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "Internal server error") {
		t.Fatalf("err = %v; want a permanent error with the API's message", err)
	}
	if n := sim.Stats().Requests; n != 1 {
		t.Fatalf("%d requests; want 1", n)
	}
}

func TestGarbledPagesNeverMoveTheCursor(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	sim, base := startSim(t, anthropicsim.Options{Seed: 1, Activities: 100, Span: time.Hour, Start: t0, Now: clk.Now,
		Faults: anthropicsim.Faults{Rate: 1, Kinds: []anthropicsim.FaultKind{anthropicsim.FaultTruncated}}})
	cfg := testConfig(base)
	cfg.MaxRetries = 2
	sourcetest.Garbled(t, "activities", newTestSource(t, cfg, clk.Now), cfg.MaxRetries, func() int64 { return sim.Stats().Requests })
	if st, want := sim.Stats(), int64(1+cfg.MaxRetries); st.Faults[anthropicsim.FaultTruncated] != want {
		t.Fatalf("%d answers truncated, want %d (of %d requests)", st.Faults[anthropicsim.FaultTruncated], want, st.Requests)
	}
}

// serveFake serves handler for a test and returns its base URL.
func serveFake(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestEndlessPageStopsTheSource: an API that answers the same page forever
// with has_more: true makes the source stop with a clear error after a
// bounded number of requests, with nothing delivered and the cursor
// unmoved.
func TestEndlessPageStopsTheSource(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
	sim := anthropicsim.New(anthropicsim.Options{Seed: 5, Activities: 10, Span: time.Hour, Start: t0, Now: clk.Now})
	var mu sync.Mutex
	requests := 0
	base := serveFake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		// One activity at the last second of the range asked for, again
		// and again: a valid page each time, that never ends.
		lt, err := time.Parse(time.RFC3339, r.URL.Query().Get("created_at.lt"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a := regexp.MustCompile(`"created_at":"[^"]*"`).ReplaceAll(sim.Activity(9),
			[]byte(`"created_at":"`+lt.Add(-time.Second).Format(time.RFC3339)+`"`))
		id := sim.ActivityID(9)
		w.Header().Set("Date", clk.Now().UTC().Format(http.TimeFormat))
		fmt.Fprintf(w, `{"data":[%s],"has_more":true,"first_id":%q,"last_id":%q}`, a, id, id)
	})
	cfg := testConfig(base)
	cfg.StartAt = openai.StartAt{Time: t0}
	cfg.MaxRetries = 3
	sourcetest.Endless(t, "activities", newTestSource(t, cfg, clk.Now), cfg.MaxRetries, func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return int64(requests)
	})
}

// TestOversizePagesAreRefused: pages of 200,000 activities when 100 were
// asked for are refused before they are read whole, retried, then
// reported.
func TestOversizePagesAreRefused(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(time.Hour))
	sim := anthropicsim.New(anthropicsim.Options{Seed: 5, Activities: 10, Span: time.Minute, Start: t0, Now: clk.Now})
	one := sim.Activity(0)
	var page bytes.Buffer
	page.WriteString(`{"data":[`)
	for i := range 200_000 {
		if i > 0 {
			page.WriteByte(',')
		}
		page.Write(one)
	}
	page.WriteString(`],"has_more":false,"first_id":null,"last_id":null}`)
	body := page.Bytes()
	base := serveFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clk.Now().UTC().Format(http.TimeFormat))
		w.Write(body) //nolint:errcheck // the client gives up reading
	})
	cfg := testConfig(base)
	cfg.MaxRetries = 2
	// Each of the 3 attempts reads at most the bound of a page of 100
	// activities (1.6 MiB, in a buffer that doubles as it grows, more under
	// -race); a body read whole would be about 150 MiB each time.
	sourcetest.Oversize(t, "activities", newTestSource(t, cfg, clk.Now), 100<<20)
}

// TestPoisonActivity: activities whose created_at is a word, or a time
// outside the window asked for, stall the source or go to the dead-letter
// sink (sourcetest.Poison).
func TestPoisonActivity(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
	sim, base := startSim(t, anthropicsim.Options{Seed: 9, Activities: 600, Span: 24 * time.Hour, Start: t0, Now: clk.Now})
	poisoned := sourcetest.Spoiled(t, base, regexp.MustCompile(`"created_at":"[^"]*"`), map[string]string{
		string(sim.Activity(300)): `"created_at":"yesterday"`, string(sim.Activity(150)): `"created_at":"2000-01-01T00:00:00Z"`})
	sourcetest.Poison(t, sourcetest.Poisoned{
		Noun: "activities",
		Source: func(t *testing.T, deadLetter bool) pipeline.Source {
			cfg := testConfig(poisoned)
			if deadLetter {
				cfg.OnInvalidEvent = InvalidDeadLetter
			} else {
				cfg.MaxRetries = 1
			}
			return newTestSource(t, cfg, clk.Now)
		},
		Visible: visibleBefore(t, sim, clk.Now(), clk.Now().Add(-testConfig(base).Settle)),
		Bad:     []string{sim.ActivityID(150), sim.ActivityID(300)},
		Errors:  []string{"outside the requested window", "not an RFC 3339 time"},
	})
}
