package httpapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// LimiterConfig sets the bounds of a Limiter. The zero value is usable: every
// field has a default, and none of them needs tuning to reach an API's limit.
type LimiterConfig struct {
	// MaxConcurrency caps the requests in flight (default 16). It is the
	// user's optional fetch_concurrency.
	MaxConcurrency int
	// MinConcurrency is the floor the latency and error cuts never go below
	// (default 1).
	MinConcurrency int
	// InitialConcurrency is where the concurrency limit starts (default 2,
	// at most MaxConcurrency). Two rather than one so that a planner walks
	// two slices from the start; not more, because nothing is known yet
	// about the API and growth is quick anyway: about sqrt(limit) per round
	// of answers takes 2 to 16 in six rounds, under two seconds at 250 ms
	// per page.
	InitialConcurrency int
	// Rate is a published limit in requests per second that the pacing
	// never exceeds (0: none known).
	Rate float64
}

// Outcome is what happened to one request let through by Acquire.
type Outcome struct {
	// Status is the HTTP status; 0 for a transport error or timeout.
	Status int
	// Latency runs from sending to the response headers. When it is zero
	// the limiter uses the time since Acquire returned.
	Latency time.Duration
	// Header holds the response headers (nil on a transport error). The
	// limiter reads them during the call only.
	Header http.Header
	// Err is the transport error, if any. A context.Canceled error (the
	// caller gave up, for example at shutdown) is not held against the
	// server: such an outcome only releases the slot.
	Err error
}

// LimiterState is a snapshot of a Limiter for logs and metrics.
type LimiterState struct {
	// Limit is the number of requests let run at once now (Limit()).
	Limit int
	// Concurrency is the latency controller's limit before the rate cap.
	Concurrency float64
	// Rate is the pacing rate in requests per second, +Inf when none.
	Rate float64
	// InFlight counts the requests acquired and not done yet (a few of
	// them may still be waiting for the pacer).
	InFlight int
	// Requests counts the requests let through since the start.
	Requests int64
	// Throttled counts the 429 answers seen since the start.
	Throttled int64
}

// The constants of the two controllers. Each one is explained where it
// matters; the tests in limiter_test.go measure the result on a simulated
// API with log-normal latency and a token bucket.
const (
	defaultMaxConcurrency     = 16
	defaultMinConcurrency     = 1
	defaultInitialConcurrency = 2

	// Latency (Gradient2-like). The short-term average weighs the last ~10
	// answers, the long-term one the last ~200: with a log-normal tail of
	// p99 = 4 x median the short average's spread is about 15% of the mean,
	// far from the tolerance below. Both start as plain averages (the
	// weight is 1/n until it reaches the constant) so that the first,
	// random sample does not steer them.
	shortLatencyGain = 0.1
	longLatencyGain  = 0.005
	// meanLatencyGain weighs the last ~40 answers for the mean latency
	// that turns a pacing rate into a useful concurrency.
	meanLatencyGain = 0.05
	// latencyTolerance: the short-term latency must exceed the long-term
	// one by this factor before the gradient goes below 1 (Netflix's
	// default). With the sqrt(limit) growth term, the limit only shrinks
	// when the short-term latency is about twice the long-term one at a
	// limit of 16: queueing, not the natural tail.
	latencyTolerance = 1.5
	// minGradient bounds one round's latency cut to a half.
	minGradient = 0.5
	// longDecay lets the long-term latency follow a drop quickly: when it
	// is more than twice the short-term one it loses 5% per answer.
	longDecay = 0.95
	// latencyWarmup: the baseline learns from every one of the first
	// answers, whatever they say. Then only while the short-term latency
	// is within baselineBand of it (see latencyLocked).
	latencyWarmup = 20
	baselineBand  = 1.2
	// A probe starts after the short-term latency stayed above the
	// tolerance for a round of a used limit (at least probeAfterAnswers
	// answers; twice as long after each probe that found queueing). It
	// halves the limit and takes the mean of the next probeAnswers answers
	// (noise about 17% of the mean for this tail): queueing beyond a
	// server's capacity falls with the load to about half; a slower API
	// stays where it was.
	probeAfterAnswers = 20
	probeAnswers      = 15
	probeFall         = 0.75
	// errorBackoff is the cut of the concurrency limit on a 5xx, 529, 408
	// or a transport error (TCP CUBIC's 0.7 is for certain congestion; a
	// vendor's 5xx is often not load, so cut less).
	errorBackoff = 0.8

	// Rate (driven by 429s). On a fresh 429 the pacing rate becomes
	// throttleBackoff x the rate achieved recently: 15% below what the
	// server just refused, so its bucket refills at 15% of its rate.
	throttleBackoff = 0.85
	// firstThrottleBackoff is used for the first 429 of a run: before it,
	// nothing was paced and the achieved rate includes the server's
	// initial burst, so cut as TCP leaves slow start: halve.
	firstThrottleBackoff = 0.6
	// probeGain: while no 429 comes and the rate is used, the rate grows
	// by this much per second, multiplicatively (10/s to 20/s in about 7 s).
	probeGain = 0.10
	// Near the rate a 429 refused (plateauShare of it), the rate grows by
	// plateauGain per second only, for plateauFor; then by probeGain again.
	plateauShare = 0.95
	plateauGain  = 0.01
	plateauFor   = 5 * time.Second
	// probeUsedShare: the rate only grows while requests were sent in the
	// last second at least at this share of it, so a quiet spell does not
	// let it grow without bound.
	probeUsedShare = 0.8
	// rateWindow is how far back the achieved rate is measured.
	rateWindow = 2 * time.Second
	// minRate is the floor of the pacing rate: one request a minute.
	minRate = 1.0 / 60
	// minCutSends: a 429 cuts the rate only when at least this many
	// requests were sent in the rate window, so that the rate measured is
	// a rate.
	minCutSends = 4
	// While paced, the useful concurrency is rate x mean latency (Little's
	// law); Limit() keeps rateHeadroom times that plus rateSlack so that
	// the tail of the latency does not starve the pacer.
	rateHeadroom = 1.5
	rateSlack    = 2

	// A Retry-After of at least pauseRetryAfter on a 429 or 503 pauses
	// every new request (up to maxPause). Shorter ones are left to the
	// retry layer for the one request that got them: a token bucket that
	// refuses only the excess answers "1" (whole seconds), and pausing
	// everyone for a second on every 429 would waste a second's worth of
	// the whole limit each time, while the rate cut already removes the
	// excess. A long Retry-After means the server refuses everyone for a
	// while (a quota window): every request sent meanwhile would only be
	// one more 429.
	pauseRetryAfter = 5 * time.Second
	maxPause        = time.Minute

	// pacerMargin: x/time/rate spaces requests in float64 seconds, and 10/s
	// came out as 99.999999 ms now and then: 11 starts within one second.
	// A millionth less keeps a published rate a true ceiling.
	pacerMargin = 1 - 1e-6

	// headerReserve is the number of tokens of a server's advertised
	// remaining budget kept in hand, so that requests the server counts in
	// an order different from ours do not reach 0.
	headerReserve = 1
)

// Limiter paces the requests of one API key. Safe for concurrent use.
//
// It runs two controllers. The concurrency limit follows latency like
// Netflix's Gradient2: it grows by about sqrt(limit) per round of clean
// answers while the limit is used, shrinks by the gradient when the
// short-term latency exceeds 1.5 x the long-term baseline, and by 20% on
// server errors and timeouts. Unlike Gradient2 the baseline does not learn
// from congested answers (so it cannot ratchet up with a server's queue); a
// latency that stays high is checked by halving the limit once: if it does
// not fall, the API is slower, and that becomes the baseline.
//
// The pacing rate follows throttling: unlimited until the first 429, then
// a little below the rate achieved, growing by 10% per second while no new
// 429 comes and the rate is used; while paced, Limit() is about what that
// rate can use (rate x mean latency, with headroom). Rate-limit headers,
// when an API sends them, gate requests on the server's own budget, so that
// 429s do not happen at all. A published rate (LimiterConfig.Rate) is a
// ceiling. A long Retry-After pauses every request.
//
// The Limiter starts no goroutine and logs nothing; Snapshot reports its
// state.
type Limiter struct {
	cfg   LimiterConfig
	pacer *rate.Limiter // burst 1: even spacing, never a burst at the server

	mu   sync.Mutex
	wake chan struct{} // closed and replaced whenever a waiter may proceed

	conc      float64 // latency controller's limit
	inFlight  int
	seq       uint64 // sequence number of the last request admitted
	requests  int64
	throttled int64

	nLat      int
	shortLat  float64 // seconds
	longLat   float64 // seconds; the baseline
	meanLat   float64 // seconds; the recent mean, for Little's law
	errCutSeq uint64  // errors of requests admitted up to here were acted on

	congestedRun int     // clean answers in a row above the tolerance
	probing      bool    // the limit was halved to see if latency falls
	probeSeq     uint64  // requests admitted up to here were sent before it
	probeLat     float64 // the short-term latency when it began
	probeN       int     // answers of requests sent since
	probeSum     float64 // and their latencies
	// probeConfirmed counts the probes in a row that found queueing.
	probeConfirmed int

	rate429     float64   // pacing from 429s; +Inf until the first one
	refused     float64   // the rate sent when the last 429 came
	plateau     time.Time // when the rate came near refused again (zero: not near)
	cutSeq      uint64    // 429s of requests admitted up to here were acted on
	lastAdvance time.Time
	sends       rateCounter // requests sent
	accepted    rateCounter // answers that were not a 429
	pauseUntil  time.Time

	hdr headerBudget
}

// NewLimiter returns a Limiter with cfg's defaults filled in.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = defaultMaxConcurrency
	}
	if cfg.MinConcurrency <= 0 {
		cfg.MinConcurrency = defaultMinConcurrency
	}
	if cfg.MinConcurrency > cfg.MaxConcurrency {
		cfg.MinConcurrency = cfg.MaxConcurrency
	}
	if cfg.InitialConcurrency <= 0 {
		cfg.InitialConcurrency = defaultInitialConcurrency
	}
	cfg.InitialConcurrency = min(max(cfg.InitialConcurrency, cfg.MinConcurrency), cfg.MaxConcurrency)
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		cfg.Rate = 0
	}
	now := time.Now()
	l := &Limiter{
		cfg:     cfg,
		pacer:   rate.NewLimiter(rate.Inf, 1),
		wake:    make(chan struct{}),
		conc:    float64(cfg.InitialConcurrency),
		rate429: math.Inf(1),
	}
	l.sends.width = 100 * time.Millisecond
	l.accepted.width = 100 * time.Millisecond
	l.setPacerLocked(now)
	return l
}

// Acquire blocks until one request may be sent: a concurrency slot is free,
// the pacing rate allows it, the server's advertised budget (rate-limit
// headers) is not spent, and no pause the server asked for is running; or
// until ctx is done, when it returns ctx.Err() and holds nothing. done must
// be called exactly once with what happened (a slot is held until it is);
// a second call does nothing.
func (l *Limiter) Acquire(ctx context.Context) (done func(Outcome), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	sleep := func(d time.Duration, wake <-chan struct{}) error {
		var tc <-chan time.Time
		if d > 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-tc:
		}
		return nil
	}

	var t *ticket
	for {
		l.mu.Lock()
		now := time.Now()
		l.advanceLocked(now)
		wait, ok := l.admitLocked(now)
		if ok {
			t = &ticket{l: l, seq: l.seq, inFlight: l.inFlight}
			l.mu.Unlock()
			break
		}
		wake := l.wake
		l.mu.Unlock()
		if err := sleep(wait, wake); err != nil {
			return nil, err
		}
	}

	// The slot is held; now the pacing. The reservation is made after the
	// slot so that a token is never spent by a request that then waits
	// for a slot.
	now := time.Now()
	res := l.pacer.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			res.Cancel()
			l.mu.Lock()
			l.inFlight--
			l.broadcastLocked()
			l.mu.Unlock()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	l.mu.Lock()
	t.sent = time.Now()
	l.sends.add(t.sent)
	l.requests++
	l.mu.Unlock()
	return t.done, nil
}

// ticket is one admitted request.
type ticket struct {
	l        *Limiter
	seq      uint64
	inFlight int // in flight when admitted, this one included
	sent     time.Time
	finished atomic.Bool
}

func (t *ticket) done(o Outcome) {
	if !t.finished.CompareAndSwap(false, true) {
		return
	}
	t.l.finish(t, o)
}

// admitLocked takes a slot when one request may go now. Otherwise it
// returns how long to wait before trying again (0: until woken).
func (l *Limiter) admitLocked(now time.Time) (time.Duration, bool) {
	if now.Before(l.pauseUntil) {
		return l.pauseUntil.Sub(now), false
	}
	if l.inFlight >= l.limitLocked(now) {
		return 0, false
	}
	if wait := l.hdr.wait(now, l.seq); wait > 0 {
		return wait, false
	}
	l.inFlight++
	l.seq++
	return 0, true
}

// Limit is the number of requests the limiter lets run at once now; a
// planner uses it to decide how many slices to walk in parallel.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.advanceLocked(now)
	return l.limitLocked(now)
}

// Snapshot reports the state for logs and metrics.
func (l *Limiter) Snapshot() LimiterState {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.advanceLocked(now)
	return LimiterState{
		Limit:       l.limitLocked(now),
		Concurrency: l.conc,
		Rate:        l.paceRateLocked(now),
		InFlight:    l.inFlight,
		Requests:    l.requests,
		Throttled:   l.throttled,
	}
}

// Transport wraps next (http.DefaultTransport when nil) so that every
// request, every retry attempt too, goes through Acquire and done. The
// request's context bounds the wait.
func (l *Limiter) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &limitedTransport{l: l, next: next}
}

type limitedTransport struct {
	l    *Limiter
	next http.RoundTripper
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	done, err := t.l.Acquire(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, err
	}
	// Should next panic, the slot is still given back (and the panic goes
	// on); done ignores the second call of the normal path.
	defer done(Outcome{Err: context.Canceled})
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	o := Outcome{Latency: time.Since(start), Err: err}
	if err == nil {
		o.Status = resp.StatusCode
		o.Header = resp.Header
	} else if errors.Is(req.Context().Err(), context.Canceled) {
		o.Err = context.Canceled // the caller gave up: not the server's doing
	}
	done(o)
	return resp, err
}

// finish takes one outcome into account.
func (l *Limiter) finish(t *ticket, o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.inFlight--
	defer l.broadcastLocked()
	l.advanceLocked(now)
	if o.Status == 0 && errors.Is(o.Err, context.Canceled) {
		return
	}
	if info, ok := parseRateLimit(o.Header, now); ok {
		l.hdr.update(info, t.seq, l.inFlight, now)
	}
	if o.Status != http.StatusTooManyRequests {
		l.accepted.add(now)
	}
	switch {
	case o.Status == http.StatusTooManyRequests:
		l.throttled++
		if t.seq > l.cutSeq {
			l.cutRateLocked(now)
		}
		l.pauseLocked(now, o.Header)
	case o.Status == 0 || o.Status >= 500 || o.Status == http.StatusRequestTimeout:
		if t.seq > l.errCutSeq {
			l.errCutSeq = l.seq
			l.conc = max(l.conc*errorBackoff, float64(l.cfg.MinConcurrency))
		}
		if o.Status == http.StatusServiceUnavailable {
			l.pauseLocked(now, o.Header)
		}
	default:
		lat := o.Latency
		if lat <= 0 && !t.sent.IsZero() {
			lat = now.Sub(t.sent)
		}
		l.latencyLocked(lat.Seconds(), t.seq, t.inFlight)
	}
}

// latencyLocked is the Gradient2 step for one clean answer of request seq.
func (l *Limiter) latencyLocked(lat float64, seq uint64, inFlight int) {
	if lat <= 0 {
		return
	}
	l.nLat++
	n := float64(l.nLat)
	l.meanLat += max(meanLatencyGain, 1/n) * (lat - l.meanLat)
	// The long-term latency is the baseline the short-term one is judged
	// against. After a warm-up it learns only while the short-term latency
	// is within baselineBand of it: fed with queued answers it would drift
	// up with the queue and the limit would ratchet up with it. Gradient2
	// does that: measured with a server working on 8 at once and
	// MaxConcurrency 64, the limit went to 64 at 8 x the latency; here it
	// stays near 16-20. Whether an answer teaches the baseline is decided
	// on the answers before it: deciding on a short-term average that
	// already holds the answer keeps the tail out, biases the baseline low
	// (tried: the natural tail then looked like congestion). A baseline
	// that is wrong (the API became slower for good) is found by the probe
	// below. At the floor nothing can be cut, so it learns again.
	learn := l.shortLat <= baselineBand*l.longLat || l.nLat <= latencyWarmup ||
		l.conc <= float64(l.cfg.MinConcurrency)
	l.shortLat += max(shortLatencyGain, 1/n) * (lat - l.shortLat)
	congested := l.shortLat > latencyTolerance*l.longLat
	if learn {
		l.longLat += max(longLatencyGain, 1/n) * (lat - l.longLat)
	}
	if l.longLat > 2*l.shortLat {
		l.longLat *= longDecay
	}
	if l.probing {
		l.probeLocked(lat, seq)
		return
	}
	// Grow (or shrink) only while the limit is used: an API the caller
	// does not load says nothing about what it could take.
	if float64(inFlight) < l.conc/2 {
		return
	}
	if !congested {
		l.congestedRun = 0
	} else if l.nLat > latencyWarmup && l.conc > float64(l.cfg.MinConcurrency) {
		l.congestedRun++
		if l.congestedRun >= max(int(l.conc), probeAfterAnswers)<<min(l.probeConfirmed, 4) {
			// Is it queueing? Then less load brings the latency down.
			// Halve the limit and measure again.
			l.probing = true
			l.probeSeq, l.probeLat, l.probeN, l.probeSum = l.seq, l.shortLat, 0, 0
			l.conc = max(l.conc/2, float64(l.cfg.MinConcurrency))
			return
		}
	}
	gradient := min(max(latencyTolerance*l.longLat/l.shortLat, minGradient), 1)
	// Per answer, 1/conc of a round: over a round of conc answers the limit
	// moves by (gradient-1) x conc + sqrt(conc), as Gradient2 does per
	// sample window.
	step := ((gradient-1)*l.conc + math.Sqrt(l.conc)) / l.conc
	l.conc = min(max(l.conc+step, float64(l.cfg.MinConcurrency)), float64(l.cfg.MaxConcurrency))
}

// probeLocked ends a probe once probeAnswers answers of requests sent at
// the halved limit came back. When their mean latency is still above the
// tolerance and did not fall below probeFall of what it was, the API is
// simply slower now (heavier pages, a slow hour): that is the new baseline.
// Otherwise it was queueing: the limit stays halved, the gradient takes
// over again, and the next probe waits twice as long.
func (l *Limiter) probeLocked(lat float64, seq uint64) {
	if seq <= l.probeSeq {
		return
	}
	l.probeN++
	l.probeSum += lat
	if l.probeN < probeAnswers {
		return
	}
	mean := l.probeSum / float64(l.probeN)
	l.probing, l.congestedRun = false, 0
	if mean >= probeFall*l.probeLat && mean > latencyTolerance*l.longLat {
		l.longLat, l.shortLat = mean, mean
		l.probeConfirmed = 0
		return
	}
	l.probeConfirmed++
}

// cutRateLocked handles a 429 of a request admitted after the last cut.
func (l *Limiter) cutRateLocked(now time.Time) {
	achieved := l.sends.rate(now, rateWindow)
	if achieved*rateWindow.Seconds() < minCutSends {
		// A refusal after a quiet spell says the key's budget is spent
		// (by another client, or a burst before): it says nothing of
		// what this client may send. The request waits its Retry-After.
		return
	}
	backoff := throttleBackoff
	r := achieved
	// What the server took over the same window is the better measure
	// when it refused much: a limit that dropped to half is found in one
	// cut, not in several of 15% each.
	if ok := l.accepted.rate(now, rateWindow); ok*rateWindow.Seconds() >= minCutSends {
		r = min(r, max(ok, r/2))
	}
	if math.IsInf(l.rate429, 1) {
		backoff = firstThrottleBackoff
	} else {
		r = min(r, l.rate429)
	}
	if l.cfg.Rate > 0 {
		r = min(r, l.cfg.Rate)
	}
	l.rate429 = max(backoff*r, minRate)
	l.refused, l.plateau = r, time.Time{}
	l.cutSeq = l.seq
	l.lastAdvance = now
	l.setPacerLocked(now)
}

// pauseLocked holds every new request for a long Retry-After.
func (l *Limiter) pauseLocked(now time.Time, h http.Header) {
	d, ok := serverWait(h, now)
	if !ok || d < pauseRetryAfter {
		return
	}
	if until := now.Add(min(d, maxPause)); until.After(l.pauseUntil) {
		l.pauseUntil = until
	}
}

// advanceLocked probes the pacing rate upward for the time passed without a
// fresh 429, while the rate is used.
func (l *Limiter) advanceLocked(now time.Time) {
	if math.IsInf(l.rate429, 1) {
		return
	}
	dt := now.Sub(l.lastAdvance).Seconds()
	if dt <= 0 {
		return
	}
	l.lastAdvance = now
	if l.sends.rate(now, time.Second) < probeUsedShare*min(l.rate429, l.ceilingLocked()) {
		return
	}
	if l.cfg.Rate > 0 && l.rate429 >= l.cfg.Rate {
		return
	}
	// Like TCP CUBIC: quickly back to near the rate that was refused,
	// then slowly past it for a while (the limit is most likely there:
	// each 429 costs a retry), then quickly again (the limit may have
	// risen).
	gain := probeGain
	if l.rate429 >= plateauShare*l.refused {
		if l.plateau.IsZero() {
			l.plateau = now
		}
		if now.Sub(l.plateau) < plateauFor {
			gain = plateauGain
		}
	}
	l.rate429 *= math.Pow(1+gain, dt)
	l.setPacerLocked(now)
}

// ceilingLocked is the published rate, +Inf when none.
func (l *Limiter) ceilingLocked() float64 {
	if l.cfg.Rate > 0 {
		return l.cfg.Rate
	}
	return math.Inf(1)
}

func (l *Limiter) setPacerLocked(now time.Time) {
	r := min(l.rate429, l.ceilingLocked())
	if math.IsInf(r, 1) {
		l.pacer.SetLimitAt(now, rate.Inf)
		return
	}
	l.pacer.SetLimitAt(now, rate.Limit(r*pacerMargin))
}

// paceRateLocked is the rate requests are held to now, +Inf when none: the
// published rate, the 429 rate, and the refill of the server's advertised
// budget while that budget binds.
func (l *Limiter) paceRateLocked(now time.Time) float64 {
	r := min(l.rate429, l.ceilingLocked())
	if hr := l.hdr.bindingRate(now, l.seq, l.conc); hr > 0 {
		r = min(r, hr)
	}
	return r
}

// limitLocked is Limit(): the latency controller's limit, capped while paced
// by the concurrency the pace can use.
func (l *Limiter) limitLocked(now time.Time) int {
	n := int(l.conc)
	if r := l.paceRateLocked(now); !math.IsInf(r, 1) && l.nLat > 0 {
		useful := math.Ceil(r*l.meanLat*rateHeadroom) + rateSlack
		if useful < float64(n) {
			n = int(useful)
		}
	}
	return min(max(n, l.cfg.MinConcurrency), l.cfg.MaxConcurrency)
}

func (l *Limiter) broadcastLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// rateCounter counts events in 100 ms buckets over the last 3 s.
type rateCounter struct {
	width   time.Duration
	buckets [30]int
	head    int64     // bucket index of the newest bucket
	first   time.Time // the first event; bucket 0 starts there
}

// index is t's bucket, from the monotonic clock.
func (c *rateCounter) index(t time.Time) int64 { return int64(t.Sub(c.first) / c.width) }

func (c *rateCounter) roll(idx int64) {
	if idx <= c.head {
		return
	}
	n := int64(len(c.buckets))
	for i := c.head + 1; i <= idx && i <= c.head+n; i++ {
		c.buckets[i%n] = 0
	}
	c.head = idx
}

func (c *rateCounter) add(t time.Time) {
	if c.first.IsZero() {
		c.first = t
	}
	idx := c.index(t)
	c.roll(idx)
	if idx >= 0 && c.head-idx < int64(len(c.buckets)) {
		c.buckets[idx%int64(len(c.buckets))]++
	}
}

// rate is the events per second over the last span (up to the time since
// the first event, but at least 0.5 s).
func (c *rateCounter) rate(now time.Time, span time.Duration) float64 {
	if c.first.IsZero() {
		return 0
	}
	idx := c.index(now)
	c.roll(idx)
	k := int64(span / c.width)
	k = min(max(k, 1), int64(len(c.buckets)))
	sum := 0
	for i := max(idx-k+1, 0); i <= idx; i++ {
		sum += c.buckets[i%int64(len(c.buckets))]
	}
	covered := time.Duration(k-1)*c.width + now.Sub(c.first.Add(time.Duration(idx)*c.width))
	covered = min(covered, now.Sub(c.first))
	covered = max(covered, 500*time.Millisecond)
	return float64(sum) / covered.Seconds()
}

// rateLimitInfo is what a response's rate-limit headers say.
type rateLimitInfo struct {
	Limit     int64         // 0: not sent
	Remaining int64         // requests left in the budget
	Reset     time.Duration // until the budget is full again; <0: not sent
}

// headerBudget tracks the server's advertised request budget.
//
// The budget is the last remaining count, minus the requests admitted after
// the request that carried it (the server counted those later, if at all),
// plus the refill since, minus the requests still in flight when it came:
// a server that counts a request when it answers it, not when it arrives,
// counts those after the remaining it sent. (A server that counts on
// arrival has counted some of them already: subtracting them again only
// keeps a few more tokens in hand.) Both vendors replenish continuously (a token
// bucket) and give the time until the budget is full again, so the refill
// rate is (limit - remaining) / reset: exact for a bucket, and measured only
// when at least a tenth of the budget is used, which is when it matters and
// when whole-second resets are precise enough. Pacing at remaining / reset
// instead would slow to nothing as the budget nears 0 (the reset is then a
// whole window away) although the bucket refills all the time. Without a
// limit header the limit is taken as the largest remaining + 1 seen. While
// no refill rate is known a spent budget holds requests until the reset,
// then lets them go.
type headerBudget struct {
	valid     bool
	seq       uint64
	at        time.Time
	remaining float64
	limit     float64 // sent, or the largest remaining+1 seen
	refill    float64 // tokens per second; 0 unknown
	resetAt   time.Time
	inFlight  float64 // requests in flight when it came
}

func (b *headerBudget) update(info rateLimitInfo, seq uint64, inFlight int, now time.Time) {
	if b.valid && seq < b.seq {
		return // an older request's view of the budget
	}
	limit := float64(info.Limit)
	if limit <= 0 {
		limit = max(b.limit, float64(info.Remaining)+1)
	}
	used := limit - float64(info.Remaining)
	if info.Reset > 0 && used >= max(2, limit/10) {
		sample := used / info.Reset.Seconds()
		if b.refill == 0 {
			b.refill = sample
		} else {
			b.refill += 0.3 * (sample - b.refill)
		}
	}
	b.valid = true
	b.seq = seq
	b.at = now
	b.remaining = float64(info.Remaining)
	b.limit = limit
	b.inFlight = float64(inFlight)
	b.resetAt = time.Time{}
	if info.Reset >= 0 {
		b.resetAt = now.Add(info.Reset)
	}
}

// budget is the estimated number of requests the server would accept now;
// +Inf when nothing is known.
func (b *headerBudget) budget(now time.Time, seq uint64) float64 {
	if !b.valid {
		return math.Inf(1)
	}
	left := b.remaining - float64(seq-b.seq)
	if b.refill > 0 {
		left = min(left+b.refill*now.Sub(b.at).Seconds(), b.limit)
	} else if b.resetAt.IsZero() || !now.Before(b.resetAt) {
		return math.Inf(1) // no way to know when it refills, or it did
	}
	return left - b.inFlight
}

// wait is how long a new request must wait for the budget; 0 when it may go.
func (b *headerBudget) wait(now time.Time, seq uint64) time.Duration {
	left := b.budget(now, seq)
	if left >= 1+headerReserve {
		return 0
	}
	need := 1 + headerReserve - left
	if b.refill > 0 {
		return max(time.Duration(need/b.refill*float64(time.Second)), time.Millisecond)
	}
	return max(b.resetAt.Sub(now), time.Millisecond)
}

// bindingRate is the refill rate while the budget is too low to fill the
// concurrency limit; 0 otherwise.
func (b *headerBudget) bindingRate(now time.Time, seq uint64, conc float64) float64 {
	if b.refill <= 0 || b.budget(now, seq) >= conc+headerReserve {
		return 0
	}
	return b.refill
}

// parseRateLimit reads OpenAI's x-ratelimit-*-requests and Anthropic's
// anthropic-ratelimit-requests-* headers. When both are present the one
// with less remaining wins. Unparsable values are ignored: a set without a
// valid remaining count is no information at all.
func parseRateLimit(h http.Header, now time.Time) (rateLimitInfo, bool) {
	if h == nil {
		return rateLimitInfo{}, false
	}
	oa, okA := parseRateLimitSet(h.Get("X-Ratelimit-Limit-Requests"), h.Get("X-Ratelimit-Remaining-Requests"),
		func() (time.Duration, bool) { return parseResetDuration(h.Get("X-Ratelimit-Reset-Requests")) })
	an, okB := parseRateLimitSet(h.Get("Anthropic-Ratelimit-Requests-Limit"), h.Get("Anthropic-Ratelimit-Requests-Remaining"),
		func() (time.Duration, bool) {
			return parseResetTime(h.Get("Anthropic-Ratelimit-Requests-Reset"), serverNow(h, now))
		})
	switch {
	case okA && okB:
		if an.Remaining < oa.Remaining {
			return an, true
		}
		return oa, true
	case okA:
		return oa, true
	case okB:
		return an, true
	}
	return rateLimitInfo{}, false
}

func parseRateLimitSet(limit, remaining string, reset func() (time.Duration, bool)) (rateLimitInfo, bool) {
	rem, err := strconv.ParseInt(strings.TrimSpace(remaining), 10, 64)
	if err != nil || rem < 0 {
		return rateLimitInfo{}, false
	}
	info := rateLimitInfo{Remaining: rem, Reset: -1}
	if lim, err := strconv.ParseInt(strings.TrimSpace(limit), 10, 64); err == nil && lim > 0 && lim >= rem {
		info.Limit = lim
	}
	if d, ok := reset(); ok {
		info.Reset = d
	}
	return info, true
}

// parseResetDuration reads OpenAI's reset: a Go-style duration such as
// "1s", "6m0s", "20ms" or "1m30.5s"; a bare number is taken as seconds.
func parseResetDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > maxResetSeconds {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// maxResetSeconds bounds a reset (a day is the longest window vendors use;
// allow a week).
const maxResetSeconds = 7 * 24 * 3600

// parseResetTime reads Anthropic's reset: an RFC 3339 time, measured from
// the server's now. A reset in the past is 0.
func parseResetTime(s string, now time.Time) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	if d > maxResetSeconds*time.Second {
		return 0, false
	}
	return d, true
}

// serverNow is the response's Date when it has one (an absolute reset is on
// the server's clock), else the local now.
func serverNow(h http.Header, now time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return now
}
