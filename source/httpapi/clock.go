package httpapi

import (
	"net/http"
	"sync"
	"time"
)

// Clock is the API's clock as its answers tell it (the Date header): a
// source plans its windows on it, not on the machine's clock, so that a
// machine whose clock runs ahead does not end a window, and move a cursor,
// past events the API does not show yet. Safe for concurrent use.
//
// A Date header is whole seconds, written before the answer travelled: the
// API's time when the answer arrived is at least Date. The clock keeps the
// largest such lower bound of the offset to the local clock seen over the
// last observations, so Now never runs ahead of the API (it may lag it by
// up to a second plus the latency, which a window's settle absorbs).
type Clock struct {
	local func() time.Time

	mu     sync.Mutex
	recent [16]time.Duration // offsets of the last observations, a ring
	n      int               // observations so far
}

// NewClock returns a clock over local (the machine's clock; time.Now when
// nil).
func NewClock(local func() time.Time) *Clock {
	if local == nil {
		local = time.Now
	}
	return &Clock{local: local}
}

// Observe records the Date header of an answer that arrived now. A missing
// or unreadable header is ignored.
func (c *Clock) Observe(date string) {
	if date == "" {
		return
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return
	}
	off := t.Sub(c.local())
	c.mu.Lock()
	c.recent[c.n%len(c.recent)] = off
	c.n++
	c.mu.Unlock()
}

// Now returns the API's time, and false (with the local time) while no
// answer has told it yet.
func (c *Clock) Now() (time.Time, bool) {
	c.mu.Lock()
	n := min(c.n, len(c.recent))
	var off time.Duration
	for i := range n {
		if i == 0 || c.recent[i] > off {
			off = c.recent[i]
		}
	}
	c.mu.Unlock()
	now := c.local()
	if n == 0 {
		return now, false
	}
	return now.Add(off), true
}
