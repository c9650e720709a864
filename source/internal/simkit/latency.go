package simkit

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Latency is the distribution of the time an answer takes: log-normal,
// fixed by its median and 99th percentile, the two numbers a latency
// dashboard shows. Real response times are skewed like that: most answers
// near a typical time, a few many times longer, which is what makes
// timeouts and retries fire.
type Latency struct {
	// Median is the typical delay; 0 disables latency.
	Median time.Duration
	// P99 is the 99th percentile; 0 means 4*Median. It must not be below
	// Median (equal gives a constant delay).
	P99 time.Duration
}

// z99 is the standard normal's 99th percentile.
const z99 = 2.3263478740408408

// P99OrDefault is P99, or 4*Median when P99 is 0.
func (l Latency) P99OrDefault() time.Duration {
	if l.P99 == 0 {
		return 4 * l.Median
	}
	return l.P99
}

// Sample turns two draws of r into a delay: median * exp(sigma*z), z
// standard normal (Box-Muller), so that P(delay <= P99) is 0.99.
func (l Latency) Sample(r *RNG) time.Duration {
	if l.Median <= 0 {
		return 0
	}
	sigma := math.Log(float64(l.P99OrDefault())/float64(l.Median)) / z99
	u1 := 1 - r.Float() // (0, 1]: the logarithm stays finite
	u2 := r.Float()
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	return time.Duration(float64(l.Median) * math.Exp(sigma*z))
}

// Problem says what is wrong with l; "" when it is valid.
func (l Latency) Problem() string {
	switch {
	case l.Median < 0 || l.P99 < 0:
		return fmt.Sprintf("median and p99 must be >= 0, got %s and %s", l.Median, l.P99)
	case l.Median == 0 && l.P99 != 0:
		return fmt.Sprintf("p99 %s without a median", l.P99)
	case l.P99 != 0 && l.P99 < l.Median:
		return fmt.Sprintf("p99 %s is below the median %s", l.P99, l.Median)
	}
	return ""
}

// Delays draws the latency of each answer from one seeded stream, in the
// order requests arrive: one client sees a reproducible sequence.
type Delays struct {
	mu  sync.Mutex
	r   RNG
	lat Latency
}

// NewDelays is the stream of l's draws seeded with seed.
func NewDelays(l Latency, seed uint64) *Delays { return &Delays{r: NewRNG(seed), lat: l} }

// Wait holds the request for the next draw; false when the client went
// away first.
func (d *Delays) Wait(r *http.Request) bool {
	d.mu.Lock()
	w := d.lat.Sample(&d.r)
	d.mu.Unlock()
	return Sleep(r, w)
}

// Sleep waits d, or less if the client goes away first; false then. It
// waits on the real clock (or a synctest bubble's), whatever clock the
// simulator's records follow.
func Sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// DrawFault decides from r whether a request is faulted (with probability
// rate) and how (one of kinds, uniformly); draw is a further number for
// the fault's variant. The draws are taken in that order, so that a
// simulator's seeded fault sequence stays what it was.
func DrawFault[K any](r RNG, rate float64, kinds []K) (kind K, draw uint64, ok bool) {
	if !r.Chance(rate) {
		return kind, 0, false
	}
	return kinds[r.Intn(len(kinds))], r.Next(), true
}

// NextFault draws the fault of a simulator's next request that may be
// faulted: the n-th such request, counted by seq in arrival order, draws
// from the stream Hash(key, 0xfa, n), so that one client sees a
// deterministic sequence. At rate 0 it neither draws nor counts.
func NextFault[K any](seq *atomic.Uint64, key uint64, rate float64, kinds []K) (kind K, draw uint64) {
	if rate <= 0 {
		return kind, 0
	}
	kind, draw, _ = DrawFault(NewRNG(Hash(key, 0xfa, seq.Add(1))), rate, kinds)
	return kind, draw
}

// KindsOrAll is a copy of the fault kinds a simulator draws from: kinds,
// or all when kinds is empty. The copy keeps a caller that changes its
// slice afterwards from changing the faults being drawn.
func KindsOrAll[K any](kinds, all []K) []K {
	if len(kinds) == 0 {
		kinds = all
	}
	return slices.Clone(kinds)
}

// ResetConn drops the connection under w without an answer, with a TCP
// reset where it can: the failure a client meets when a proxy or the
// server dies mid-request.
func ResetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // best effort: send a RST
	}
	conn.Close()
}
