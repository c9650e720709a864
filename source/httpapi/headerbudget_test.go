package httpapi

import (
	"testing"
	"time"
)

// TestHeaderBudgetCountsRequestsInFlight: the remaining count of an answer
// says nothing of the requests still in flight when it came, which a
// server that counts a request when it answers it counts later: they are
// not in the budget.
func TestHeaderBudgetCountsRequestsInFlight(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b headerBudget
	b.update(rateLimitInfo{Limit: 600, Remaining: 6, Reset: time.Minute}, 10, 3, now)
	// 6 left, 3 in flight, 1 admitted since: 2 requests may go, the last
	// token is the reserve.
	if got := b.budget(now, 11); got != 2 {
		t.Fatalf("budget %v, want 2", got)
	}
	if w := b.wait(now, 11); w != 0 {
		t.Fatalf("wait %v with a budget of 2", w)
	}
	if w := b.wait(now, 12); w <= 0 {
		t.Fatal("no wait with the budget down to the reserve")
	}
}
