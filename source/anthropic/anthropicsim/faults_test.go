package anthropicsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

func only(kind anthropicsim.FaultKind) anthropicsim.Faults {
	return anthropicsim.Faults{Rate: 1, Kinds: []anthropicsim.FaultKind{kind}, SlowDelay: 3 * time.Second}
}

// TestFaultKinds: each kind is what it says, over real HTTP, and counted.
// The slow ones run in a synctest bubble, where their delay is exact.
func TestFaultKinds(t *testing.T) {
	type answer struct {
		code int
		h    http.Header
		body []byte
		err  error
		took time.Duration
	}
	jsonError := func(status int, typ, retry string) func(t *testing.T, a answer) {
		return func(t *testing.T, a answer) {
			if a.err != nil || a.code != status || a.h.Get("x-should-retry") != retry {
				t.Fatalf("status %d, x-should-retry %q, err %v; want %d and %q", a.code, a.h.Get("x-should-retry"), a.err, status, retry)
			}
			if e := decodeError(t, a.body); e.Error.Type != typ {
				t.Fatalf("error type %s, want %s", e.Error.Type, typ)
			}
		}
	}
	html := func(status int, wait time.Duration) func(t *testing.T, a answer) {
		return func(t *testing.T, a answer) {
			if a.err != nil || a.code != status || a.h.Get("Content-Type") != "text/html" || !strings.Contains(string(a.body), strconv.Itoa(status)) ||
				a.took != wait || a.h.Get("x-should-retry") != "true" {
				t.Fatalf("status %d (%s) after %s: %s", a.code, a.h.Get("Content-Type"), a.took, a.body)
			}
		}
	}
	for _, tc := range []struct {
		kind  anthropicsim.FaultKind
		check func(t *testing.T, a answer)
	}{
		{anthropicsim.Fault500, jsonError(500, "api_error", "false")},
		{anthropicsim.Fault502, html(502, 0)},
		{anthropicsim.Fault503, jsonError(503, "api_error", "true")},
		{anthropicsim.Fault504, html(504, 3*time.Second)},
		{anthropicsim.Fault529, jsonError(529, "overloaded_error", "true")},
		{anthropicsim.FaultSlow, func(t *testing.T, a answer) {
			if a.err != nil || a.code != 200 || a.took != 3*time.Second || !json.Valid(a.body) {
				t.Fatalf("status %d after %s, err %v", a.code, a.took, a.err)
			}
		}},
		{anthropicsim.FaultReset, func(t *testing.T, a answer) {
			if a.err == nil {
				t.Fatalf("status %d, want the connection dropped", a.code)
			}
		}},
		{anthropicsim.FaultTruncated, func(t *testing.T, a answer) {
			if a.err != nil || a.code != 200 || json.Valid(a.body) || a.h.Get("Content-Length") != strconv.Itoa(len(a.body)) || len(a.body) < 100 {
				t.Fatalf("status %d, %d bytes (Content-Length %s), valid JSON %v", a.code, len(a.body), a.h.Get("Content-Length"), json.Valid(a.body))
			}
		}},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim, u, c := serveInBubble(t, anthropicsim.Options{Seed: 12, Activities: 50, Span: time.Hour, Faults: only(tc.kind)})
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u+"?limit=20", nil)
				req.Header.Set("x-api-key", key)
				req.Header.Set("anthropic-version", anthropicsim.Version)
				begin := time.Now()
				var a answer
				resp, err := c.Do(req)
				if a.err = err; err == nil {
					a.code, a.h = resp.StatusCode, resp.Header
					a.body, a.err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				a.took = time.Since(begin)
				tc.check(t, a)
				if a.err == nil && (a.h.Get("anthropic-ratelimit-requests-limit") != "600" || a.h.Get("request-id") == "") {
					t.Errorf("a faulted answer lacks the rate-limit headers or request-id: %v", a.h)
				}
				synctest.Wait()
				if n := sim.Stats().Faults[tc.kind]; n != 1 {
					t.Errorf("%d %s faults counted", n, tc.kind)
				}
			})
		})
	}
}

// TestRepeatFault: a page with a cursor starts again with the cursor's
// activity (at least once delivery); a reader that drops ids it has loses
// nothing. A first page has no cursor and is left alone.
func TestRepeatFault(t *testing.T) {
	sim, u := history(t, 13, 300, time.Hour)
	all := reversed(sim.Truth().IDs)
	if err := sim.SetFaults(only(anthropicsim.FaultRepeat)); err != nil {
		t.Fatal(err)
	}
	_, first := list(t, http.DefaultClient, u, url.Values{"limit": {"10"}})
	if len(first) != 10 || first[0].ID != all[0] || sim.Stats().Faults[anthropicsim.FaultRepeat] != 0 {
		t.Fatalf("first page starts at %s, repeat faults %d", first[0].ID, sim.Stats().Faults[anthropicsim.FaultRepeat])
	}
	_, next := list(t, http.DefaultClient, u, url.Values{"limit": {"10"}, "after_id": {all[9]}})
	if len(next) != 10 || next[0].ID != all[9] || next[1].ID != all[10] || next[9].ID != all[18] {
		t.Fatalf("after_id page: %v", ids(next))
	}
	// Going forward with before_id, the cursor comes last (where it stands
	// in the order); the newest of the page is first_id, the next cursor.
	_, back := list(t, http.DefaultClient, u, url.Values{"limit": {"4"}, "before_id": {all[20]}})
	if got := ids(back); !slices.Equal(got, all[17:21]) {
		t.Fatalf("before_id page %v, want %v", got, all[17:21])
	}
	// A reader that drops duplicates reads everything once.
	got := walk(t, http.DefaultClient, u, url.Values{"limit": {"25"}}, "after_id", "")
	var dedup []string
	for _, id := range got {
		if !slices.Contains(dedup, id) {
			dedup = append(dedup, id)
		}
	}
	if !slices.Equal(dedup, all) || len(got) == len(all) {
		t.Fatalf("%d ids, %d distinct, want all %d with repeats", len(got), len(dedup), len(all))
	}
}

func ids(acts []activity) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.ID
	}
	return out
}

// TestFaultSequence: which requests are faulted is a seeded sequence,
// the same for the same seed; SetFaults changes it while serving; the
// checks before the fault (key, budget, headers) draw nothing.
func TestFaultSequence(t *testing.T) {
	codes := func() []int {
		_, u := start(t, anthropicsim.Options{Seed: 14, Activities: 50, Span: time.Hour,
			Faults: anthropicsim.Faults{Rate: 0.5, Kinds: []anthropicsim.FaultKind{anthropicsim.Fault500, anthropicsim.Fault529}}})
		var out []int
		for range 40 {
			get(t, http.DefaultClient, u, nil, "x-api-key", "") // refused before any draw
			code, _, _ := get(t, http.DefaultClient, u, nil)
			out = append(out, code)
		}
		return out
	}
	a, b := codes(), codes()
	if !slices.Equal(a, b) || !slices.Contains(a, 200) || !slices.Contains(a, 500) || !slices.Contains(a, 529) {
		t.Fatalf("sequences %v and %v: want equal, with 200, 500 and 529", a, b)
	}
	sim, u := start(t, anthropicsim.Options{Seed: 14, Faults: only(anthropicsim.Fault529)})
	if code, _, _ := get(t, http.DefaultClient, u, nil); code != 529 {
		t.Fatalf("status %d", code)
	}
	if err := sim.SetFaults(anthropicsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(t, http.DefaultClient, u, nil); code != 200 {
		t.Fatalf("after SetFaults: status %d", code)
	}
	if err := sim.SetFaults(anthropicsim.Faults{Rate: 2}); err == nil {
		t.Fatal("SetFaults accepted a rate of 2")
	}
}

// TestLatencyIsLogNormalAndSeeded: on a synctest bubble's clock every
// answer takes a draw of the distribution, the same draws for the same
// seed; a client that gives up is counted as gone.
func TestLatencyIsLogNormalAndSeeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lat := anthropicsim.Latency{Median: 300 * time.Millisecond, P99: 3 * time.Second}
		took := func() []time.Duration {
			_, u, c := serveInBubble(t, anthropicsim.Options{Seed: 15, Activities: 20, Span: time.Hour, Latency: lat})
			var ds []time.Duration
			for range 201 {
				begin := time.Now()
				if code, _, b := get(t, c, u, url.Values{"limit": {"1"}}); code != 200 {
					t.Fatalf("status %d: %s", code, b)
				}
				ds = append(ds, time.Since(begin))
			}
			return ds
		}
		a, b := took(), took()
		if !slices.Equal(a, b) {
			t.Fatal("the same seed drew other delays")
		}
		slices.Sort(a)
		if med, p99 := a[100], a[198]; med < 200*time.Millisecond || med > 450*time.Millisecond || p99 < time.Second || p99 > 8*time.Second {
			t.Fatalf("median %s, p99 %s: want about 300ms and 3s", med, p99)
		}
		// Refusals wait too.
		_, u, c := serveInBubble(t, anthropicsim.Options{Seed: 16, Latency: anthropicsim.Latency{Median: time.Second, P99: time.Second}})
		begin := time.Now()
		if code, _, _ := get(t, c, u, nil, "x-api-key", ""); code != 401 || time.Since(begin) != time.Second {
			t.Fatalf("401 after %s", time.Since(begin))
		}
		// A client that gives up ends the wait.
		sim, u, c := serveInBubble(t, anthropicsim.Options{Seed: 17, Latency: anthropicsim.Latency{Median: 5 * time.Second, P99: 5 * time.Second}})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the client's deadline", err)
		}
		synctest.Wait()
		if n := sim.Stats().Statuses[anthropicsim.StatusClientGone]; n != 1 {
			t.Fatalf("%d requests counted as given up", n)
		}
	})
}
