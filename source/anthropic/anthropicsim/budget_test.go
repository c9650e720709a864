package anthropicsim_test

import (
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// budgetAnswer is what a request learned of the budget.
type budgetAnswer struct {
	code                    int
	limit, remaining, reset string
	retryAfter              string
	err                     apiError
}

func ask(t *testing.T, c *http.Client, u, k string) budgetAnswer {
	t.Helper()
	code, h, b := get(t, c, u, nil, "x-api-key", k)
	a := budgetAnswer{code: code, limit: h.Get("anthropic-ratelimit-requests-limit"), remaining: h.Get("anthropic-ratelimit-requests-remaining"),
		reset: h.Get("anthropic-ratelimit-requests-reset"), retryAfter: h.Get("retry-after")}
	if code != http.StatusOK && code != http.StatusUnauthorized {
		a.err = decodeError(t, b)
	}
	return a
}

// TestBudgetIsSharedByTheKeysOfTheOrganization runs in a synctest bubble:
// requests take no time on its clock, so every count and every header
// below is exact. The budget is 10 requests a minute: a bucket of 10, one
// more every 6 s.
func TestBudgetIsSharedByTheKeysOfTheOrganization(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const a, b = "sk-ant-api01-collector-a", "sk-ant-admin01-collector-b"
		sim, u, c := serveInBubble(t, anthropicsim.Options{Seed: 7, Activities: 20, Span: time.Hour, RequestsPerMinute: 10,
			Keys: []anthropicsim.Key{{Secret: a}, {Secret: b}}})
		begin := time.Now()
		resetAt := func(d time.Duration) string { return begin.Add(d).UTC().Format(time.RFC3339) }

		// A key the organization does not have spends nothing.
		for range 5 {
			if r := ask(t, c, u, "sk-ant-api01-stranger"); r.code != 401 || r.limit != "" {
				t.Fatalf("stranger: %+v", r)
			}
		}
		// Six requests of a, four of b: the remaining count goes down by
		// one for each, whichever key asks; the bucket is full again a
		// minute after the last request took from it (6 s a request).
		for i := range 10 {
			k := a
			if i >= 6 {
				k = b
			}
			r := ask(t, c, u, k)
			want := budgetAnswer{code: 200, limit: "10", remaining: strconv.Itoa(9 - i), reset: resetAt(time.Duration(i+1) * 6 * time.Second)}
			if r != want {
				t.Fatalf("request %d (%s): %+v, want %+v", i, k, r, want)
			}
		}
		// The eleventh is refused, whoever asks: the bucket is the
		// organization's, not the key's.
		for _, k := range []string{a, b} {
			r := ask(t, c, u, k)
			if r.code != 429 || r.retryAfter != "6" || r.remaining != "0" || r.limit != "10" || r.reset != resetAt(time.Minute) ||
				r.err.Error.Type != "rate_limit_error" ||
				r.err.Error.Message != "Compliance API rate limit of 10 requests per minute per parent organization has been exceeded. Please retry after the time given in the retry-after header." {
				t.Fatalf("%s over the budget: %+v", k, r)
			}
		}
		// After retry-after, one more; then refused again, and the wait
		// rounds up to whole seconds.
		time.Sleep(6 * time.Second)
		if r := ask(t, c, u, b); r.code != 200 || r.remaining != "0" || r.reset != resetAt(time.Minute+6*time.Second) {
			t.Fatalf("after 6 s: %+v", r)
		}
		time.Sleep(1500 * time.Millisecond)
		if r := ask(t, c, u, a); r.code != 429 || r.retryAfter != "5" { // 4.5 s to go
			t.Fatalf("1.5 s later: %+v", r)
		}
		// A minute of quiet fills the bucket: 9 left after one request.
		time.Sleep(time.Minute)
		if r := ask(t, c, u, a); r.code != 200 || r.remaining != "9" {
			t.Fatalf("after a quiet minute: %+v", r)
		}
		st := sim.Stats()
		if st.BudgetSpent != 12 || st.RateLimited != 3 || st.Statuses[429] != 3 || st.Statuses[401] != 5 || st.Statuses[200] != 12 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// TestBudgetDefaultsTo600 and can be switched off.
func TestBudgetDefaultsTo600(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, u, c := serveInBubble(t, anthropicsim.Options{Seed: 8})
		for i := range 600 {
			if r := ask(t, c, u, key); r.code != 200 || r.limit != "600" || r.remaining != strconv.Itoa(599-i) {
				t.Fatalf("request %d: %+v", i, r)
			}
		}
		if r := ask(t, c, u, key); r.code != 429 || r.retryAfter != "1" { // one every 100 ms
			t.Fatalf("601st: %+v", r)
		}
		_, u, c = serveInBubble(t, anthropicsim.Options{Seed: 8, RequestsPerMinute: -1})
		for range 700 {
			if r := ask(t, c, u, key); r.code != 200 || r.limit != "" {
				t.Fatalf("without a budget: %+v", r)
			}
		}
	})
}
