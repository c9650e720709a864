package openaisim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The behaviour of an API under load: answers take time (Options.Latency)
// and a client that asks too fast is refused (Options.RateLimit).

// limiter is a token bucket per API key whose rate follows a schedule. It
// runs on the wall clock: it paces real requests.
type limiter struct {
	base  float64 // rate before the first step
	steps []RateStep
	epoch atomic.Int64 // wall-clock Unix ns the schedule counts from

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   int64 // wall-clock Unix ns of the last refill
}

func newLimiter(rate float64, steps []RateStep, now time.Time) *limiter {
	l := &limiter{base: rate, steps: append([]RateStep(nil), steps...), buckets: map[string]*bucket{}}
	l.epoch.Store(now.UnixNano())
	return l
}

// enabled reports whether any part of the schedule limits anything.
func (l *limiter) enabled() bool {
	if l.base > 0 {
		return true
	}
	for _, st := range l.steps {
		if st.Rate > 0 {
			return true
		}
	}
	return false
}

// rateAt is the limit at offset t (ns since the epoch); 0 = unlimited.
func (l *limiter) rateAt(t int64) float64 {
	r := l.base
	for _, st := range l.steps {
		if int64(st.At) > t {
			break
		}
		r = st.Rate
	}
	return r
}

// burst is what a full bucket holds: one second's worth, at least 1.
func burst(rate float64) float64 { return max(rate, 1) }

// earned is the number of tokens the schedule grants over [a, b) (offsets
// since the epoch), +Inf when part of it is unlimited: a bucket is full
// again after any unlimited stretch.
func (l *limiter) earned(a, b int64) float64 {
	var sum float64
	rate, from := l.base, int64(math.MinInt64)
	for i := 0; i <= len(l.steps); i++ {
		to := int64(math.MaxInt64)
		if i < len(l.steps) {
			to = int64(l.steps[i].At)
		}
		if lo, hi := max(a, from), min(b, to); lo < hi {
			if rate == 0 {
				return math.Inf(1)
			}
			sum += rate * float64(hi-lo) / 1e9
		}
		if i < len(l.steps) {
			rate, from = l.steps[i].Rate, to
		}
	}
	return sum
}

// take spends one of key's tokens at wall time now. When there is none it
// returns false, the time until one will be there at the current rate, and
// the current rate.
func (l *limiter) take(key string, now time.Time) (ok bool, wait time.Duration, rate float64) {
	epoch := l.epoch.Load()
	t := now.UnixNano()
	rate = l.rateAt(t - epoch)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: burst(rate), last: t}
		l.buckets[key] = b
	}
	if t > b.last {
		b.tokens += l.earned(b.last-epoch, t-epoch)
		b.last = t
	}
	if rate == 0 {
		b.tokens = math.Inf(1)
		return true, 0, 0
	}
	b.tokens = min(b.tokens, burst(rate))
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, rate
	}
	return false, time.Duration((1 - b.tokens) / rate * 1e9), rate
}

// bearer is the API key a request is counted against: its bearer token,
// or the whole Authorization header when it is not Bearer auth.
func bearer(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if k, ok := strings.CutPrefix(auth, "Bearer "); ok {
		return k
	}
	return auth
}

// noRetryAfter is the share of rate-limited answers sent without
// Retry-After: real APIs do not always say when to come back, and a client
// must then choose its own backoff.
const noRetryAfter = 0.2

// rateLimited answers 429 and returns true when r's key has no token left.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request) bool {
	if s.limit == nil {
		return false
	}
	ok, wait, rate := s.limit.take(bearer(r), time.Now())
	if ok {
		return false
	}
	s.stats.rateLimited.Add(1)
	h := w.Header()
	h.Set("openai-processing-ms", "1")
	h.Set("x-should-retry", "true")
	n := s.rlSeq.Add(1)
	draw := newRNG(s.key ^ 0x726c696d6974 ^ n*0x9e3779b97f4a7c15)
	if !draw.Chance(noRetryAfter) {
		secs := max(int64((wait+time.Second-1)/time.Second), 1)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	limit := strconv.FormatFloat(rate, 'f', -1, 64)
	writeError(w, http.StatusTooManyRequests, "Rate limit reached for requests in organization "+s.dir.orgID+
		" on requests per second (RPS): Limit "+limit+", Requested 1. Please try again in "+wait.Round(time.Millisecond).String()+
		". Visit https://platform.openai.com/account/rate-limits to learn more.", "requests", "", "rate_limit_exceeded")
	return true
}

// delay holds the answer back for a latency draw. It returns false when
// the client gave up meanwhile: nobody is left to answer.
func (s *Server) delay(r *http.Request) bool {
	if s.opts.Latency.Median <= 0 || simkit.Sleep(r, s.latencyDraw()) {
		return true
	}
	s.stats.cancelled.Add(1)
	return false
}

// latencyDraw is the next delay of the seeded sequence.
func (s *Server) latencyDraw() time.Duration {
	n := s.latSeq.Add(1)
	draw := newRNG(s.key ^ 0x6c6174656e6379 ^ n*0x9e3779b97f4a7c15)
	return simkit.Latency(s.opts.Latency).Sample(&draw)
}
