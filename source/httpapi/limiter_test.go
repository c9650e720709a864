package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The tests below run in synctest bubbles: time is fake, so a minute of a
// simulated API takes milliseconds and cannot flake. The API is a function
// (or an http.RoundTripper) that spends a token of its own token bucket when
// a request arrives and answers after a log-normal latency.

// tailSigma makes p99 = 4 x median for a log-normal latency.
var tailSigma = math.Log(4) / 2.3263

// fakeAPI is a simulated vendor API on the bubble's clock.
type fakeAPI struct {
	mu      sync.Mutex
	rng     *rand.Rand
	median  time.Duration
	start   time.Time
	rateAt  func(elapsed time.Duration) float64 // requests/s; 0: no limit
	burst   func(rate float64) float64          // bucket capacity at a rate
	headers string                              // "", "openai" or "anthropic"

	tokens  float64
	last    time.Time
	n429    int
	sent    []time.Duration // arrival of every request, since start
	okAt    []time.Duration // arrival of every accepted request
	refused int
}

func newFakeAPI(seed uint64, median time.Duration) *fakeAPI {
	return &fakeAPI{
		rng:    rand.New(rand.NewPCG(seed, seed*7919+1)),
		median: median,
		start:  time.Now(),
		rateAt: func(time.Duration) float64 { return 0 },
		burst:  func(r float64) float64 { return r },
	}
}

// arrive takes one request now: it spends a token or refuses, and says
// what to answer and after how long.
func (f *fakeAPI) arrive() (int, http.Header, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	el := now.Sub(f.start)
	f.sent = append(f.sent, el)
	lat := time.Duration(float64(f.median) * math.Exp(tailSigma*f.rng.NormFloat64()))
	h := http.Header{}
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	r := f.rateAt(el)
	if r <= 0 {
		f.okAt = append(f.okAt, el)
		return http.StatusOK, h, lat
	}
	capacity := f.burst(r)
	if f.last.IsZero() {
		f.tokens = capacity
	} else {
		f.tokens += r * now.Sub(f.last).Seconds()
	}
	f.tokens = min(f.tokens, capacity)
	f.last = now
	status := http.StatusOK
	if f.tokens >= 1 {
		f.tokens--
		f.okAt = append(f.okAt, el)
	} else {
		status = http.StatusTooManyRequests
		f.refused++
		f.n429++
		if f.n429%3 != 0 { // sometimes without Retry-After
			h.Set("Retry-After", fmt.Sprint(int(math.Ceil((1-f.tokens)/r))))
		}
		lat /= 5 // a refusal is quick
	}
	remaining := int(math.Floor(f.tokens))
	toFull := time.Duration((capacity - f.tokens) / r * float64(time.Second))
	switch f.headers {
	case "openai":
		h.Set("x-ratelimit-limit-requests", fmt.Sprint(int(capacity)))
		h.Set("x-ratelimit-remaining-requests", fmt.Sprint(remaining))
		h.Set("x-ratelimit-reset-requests", toFull.Round(time.Millisecond).String())
	case "anthropic":
		h.Set("anthropic-ratelimit-requests-limit", fmt.Sprint(int(capacity)))
		h.Set("anthropic-ratelimit-requests-remaining", fmt.Sprint(remaining))
		// Whole seconds, like the Date header: both are truncated.
		h.Set("anthropic-ratelimit-requests-reset", now.Add(toFull).UTC().Format(time.RFC3339))
	}
	return status, h, lat
}

// fakeTransport makes the fake API an http.RoundTripper.
type fakeTransport struct{ api *fakeAPI }

func (t fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	status, h, lat := t.api.arrive()
	select {
	case <-time.After(lat):
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: status, Header: h, Body: http.NoBody, Request: req}, nil
}

// retryWait is what the retry layer waits after a 429: its Retry-After, or
// 1 s without one.
func retryWait(h http.Header) time.Duration {
	if d, ok := serverWait(h, time.Now()); ok {
		return d
	}
	return time.Second
}

// runWorkers runs n workers like the slices of a backfill: each claims a
// unit of work (claim reports false when there is none left) and retries
// it after a 429 until it is accepted. fetch sends one request.
func runWorkers(n int, claim func() bool, fetch func() (int, http.Header)) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for claim() {
				for {
					status, h := fetch()
					if status != http.StatusTooManyRequests {
						break
					}
					time.Sleep(retryWait(h))
				}
			}
		})
	}
	wg.Wait()
}

// fetchVia sends one request to api through Acquire/done.
func fetchVia(t *testing.T, l *Limiter, api *fakeAPI) func() (int, http.Header) {
	return func() (int, http.Header) {
		done, err := l.Acquire(context.Background())
		if err != nil {
			t.Errorf("Acquire: %v", err)
			return http.StatusOK, nil
		}
		status, h, lat := api.arrive()
		time.Sleep(lat)
		done(Outcome{Status: status, Latency: lat, Header: h})
		return status, h
	}
}

// fetchTransport sends one request to api through l.Transport.
func fetchTransport(t *testing.T, l *Limiter, api *fakeAPI) func() (int, http.Header) {
	client := &http.Client{Transport: l.Transport(fakeTransport{api})}
	return func() (int, http.Header) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example.com/v1/audit", nil)
		if err != nil {
			t.Error(err)
			return http.StatusOK, nil
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("Do: %v", err)
			return http.StatusOK, nil
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
}

// until claims work until d of fake time has passed since start.
func until(start time.Time, d time.Duration) func() bool {
	return func() bool { return time.Since(start) < d }
}

// sampleLimit records Limit() every 100 ms until stop is closed.
func sampleLimit(l *Limiter, stop <-chan struct{}) (get func() []int) {
	var mu sync.Mutex
	var samples []int
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				mu.Lock()
				samples = append(samples, l.Limit())
				mu.Unlock()
			}
		}
	})
	return func() []int {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return samples
	}
}

// countIn counts the times in [from, to).
func countIn(ts []time.Duration, from, to time.Duration) int {
	n := 0
	for _, t := range ts {
		if t >= from && t < to {
			n++
		}
	}
	return n
}

// forSeeds runs test for the seeds 1 to n, each in a subtest "seed<n>" and
// a synctest bubble, against a fake API with a median latency of 250 ms.
func forSeeds(t *testing.T, n uint64, test func(t *testing.T, api *fakeAPI)) {
	for seed := uint64(1); seed <= n; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { test(t, newFakeAPI(seed, 250*time.Millisecond)) })
		})
	}
}

func TestLimiterGrowsToMaxWithoutLimit(t *testing.T) {
	forSeeds(t, 5, func(t *testing.T, api *fakeAPI) {
		l := NewLimiter(LimiterConfig{})
		if got := l.Limit(); got != defaultInitialConcurrency {
			t.Fatalf("initial Limit() = %d, want %d", got, defaultInitialConcurrency)
		}
		stop := make(chan struct{})
		samples := sampleLimit(l, stop)
		runWorkers(32, until(api.start, 60*time.Second), fetchVia(t, l, api))
		close(stop)
		s := samples()

		reached := -1
		for i, v := range s {
			if v == 16 {
				reached = i
				break
			}
		}
		if reached < 0 {
			t.Fatalf("Limit() never reached 16; samples %v", s[:min(len(s), 50)])
		}
		converge := time.Duration(reached+1) * 100 * time.Millisecond
		low, minAfter := 0, 16
		for _, v := range s[reached:] {
			if v < 16 {
				low++
			}
			minAfter = min(minAfter, v)
		}
		share := float64(low) / float64(len(s)-reached)
		t.Logf("reached 16 after %v; after that below 16 in %.1f%% of samples, min %d; %d requests (%.1f/s)",
			converge, 100*share, minAfter, len(api.sent), float64(len(api.sent))/60)
		if converge > 4*time.Second {
			t.Errorf("took %v to reach 16, want at most 4s", converge)
		}
		if share > 0.02 || minAfter < 14 {
			t.Errorf("the latency tail made the limit drop: below 16 in %.1f%% of samples, min %d", 100*share, minAfter)
		}
	})
}

func TestLimiterShrinksOnQueueing(t *testing.T) {
	// The server works on 8 requests at once and queues the rest: beyond 8
	// in flight, more concurrency only adds latency. Plain Gradient2 lets
	// its long-term latency follow the queue and ratchets up to
	// MaxConcurrency (64 here, at 8 x the latency).
	forSeeds(t, 3, func(t *testing.T, api *fakeAPI) {
		l := NewLimiter(LimiterConfig{MaxConcurrency: 64})
		server := make(chan struct{}, 8)
		stop := make(chan struct{})
		samples := sampleLimit(l, stop)
		runWorkers(64, until(api.start, 60*time.Second), func() (int, http.Header) {
			done, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return http.StatusOK, nil
			}
			start := time.Now()
			server <- struct{}{}
			status, h, lat := api.arrive()
			time.Sleep(lat)
			<-server
			done(Outcome{Status: status, Latency: time.Since(start), Header: h})
			return status, h
		})
		close(stop)
		s := samples()[100:600] // 10 s to 60 s
		sum, most := 0, 0
		for _, v := range s {
			sum += v
			most = max(most, v)
		}
		mean := float64(sum) / float64(len(s))
		rate := float64(countIn(api.okAt, 10*time.Second, 60*time.Second)) / 50
		capacity := 8 / (0.25 * math.Exp(tailSigma*tailSigma/2)) // 8 / mean latency
		t.Logf("Limit() from 10 s: mean %.1f, max %d; %.1f pages/s (the server's capacity %.1f/s)", mean, most, rate, capacity)
		if mean > 28 || most > 40 {
			t.Errorf("Limit() mean %.1f, max %d: the limit ran away from a server that queues beyond 8", mean, most)
		}
		if rate < 0.9*capacity {
			t.Errorf("%.1f pages/s, want at least 90%% of the server's %.1f/s", rate, capacity)
		}
	})
}

func TestLimiterFollowsSlowerAPI(t *testing.T) {
	// From 20 s to 60 s every page takes 4 x longer, whatever the load:
	// the limit dips while the limiter checks whether it is queueing, then
	// takes the new latency as the baseline and returns to 16.
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(1, 250*time.Millisecond)
		l := NewLimiter(LimiterConfig{})
		stop := make(chan struct{})
		samples := sampleLimit(l, stop)
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(20 * time.Second)
			api.mu.Lock()
			api.median = time.Second
			api.mu.Unlock()
		})
		runWorkers(32, until(api.start, 60*time.Second), fetchVia(t, l, api))
		wg.Wait()
		close(stop)
		s := samples()
		back, low := -1, 16
		for i := 200; i < len(s); i++ {
			low = min(low, s[i])
			if back < 0 && i > 210 && s[i] == 16 {
				back = i
			}
		}
		t.Logf("after the slow-down the limit fell to %d and was back at 16 after %v; end: %+v",
			low, time.Duration(back-200)*100*time.Millisecond, l.Snapshot())
		if back < 0 || back > 300 {
			t.Fatalf("Limit() not back at 16 within 10 s of a slower API (index %d)", back)
		}
		for _, v := range s[back+10 : 600] {
			if v < 14 {
				t.Fatalf("Limit() fell to %d again after taking the new baseline", v)
			}
		}
	})
}

func TestLimiterFindsUnpublishedRateLimit(t *testing.T) {
	forSeeds(t, 5, func(t *testing.T, api *fakeAPI) {
		api.rateAt = func(time.Duration) float64 { return 20 }
		l := NewLimiter(LimiterConfig{})
		var left atomic.Int64
		left.Store(300)
		stop := make(chan struct{})
		samples := sampleLimit(l, stop)
		runWorkers(8, func() bool { return left.Add(-1) >= 0 }, fetchVia(t, l, api))
		took := time.Since(api.start)
		close(stop)
		st := l.Snapshot()
		// Paced at about 20/s with ~0.3 s mean latency, 6 run at
		// once: the limit offered to a planner stays near that
		// (1.5 x 6 + 2), not at MaxConcurrency.
		s := samples()
		sum := 0
		steady := s[50 : len(s)-10] // from 5 s to the last second
		for _, v := range steady {
			sum += v
		}
		meanLimit := float64(sum) / float64(len(steady))
		share := float64(api.refused) / float64(len(api.sent))
		t.Logf("300 pages in %v (%.1f/s, bound %v); %d of %d requests refused (%.1f%%); mean Limit() %.1f; end: %+v",
			took.Round(time.Millisecond), 300/took.Seconds(), 18750*time.Millisecond,
			api.refused, len(api.sent), 100*share, meanLimit, st)
		if len(api.okAt) != 300 {
			t.Fatalf("%d accepted, want 300", len(api.okAt))
		}
		if took > 18750*time.Millisecond {
			t.Errorf("took %v, want at most 1.25 x 15s", took)
		}
		if share > 0.05 {
			t.Errorf("429 share %.1f%%, want at most 5%%", 100*share)
		}
		if st.Throttled != int64(api.refused) {
			t.Errorf("Snapshot().Throttled = %d, the API refused %d", st.Throttled, api.refused)
		}
		if meanLimit > 13.5 {
			t.Errorf("mean Limit() %.1f while paced, want near 1.5 x rate x latency + 2 = 11", meanLimit)
		}
	})
}

func TestLimiterFollowsChangingLimit(t *testing.T) {
	forSeeds(t, 5, func(t *testing.T, api *fakeAPI) {
		api.rateAt = func(el time.Duration) float64 {
			if el >= 20*time.Second && el < 40*time.Second {
				return 10
			}
			return 20
		}
		l := NewLimiter(LimiterConfig{})
		runWorkers(10, until(api.start, 60*time.Second), fetchTransport(t, l, api))
		share := float64(api.refused) / float64(len(api.sent))
		for _, p := range []struct {
			end  time.Duration
			want float64
		}{{20 * time.Second, 20}, {40 * time.Second, 10}, {60 * time.Second, 20}} {
			got := float64(countIn(api.okAt, p.end-10*time.Second, p.end)) / 10
			t.Logf("phase ending at %v, limit %.0f/s: accepted %.1f/s in its last 10 s", p.end, p.want, got)
			if math.Abs(got-p.want) > 0.15*p.want {
				t.Errorf("phase ending at %v: accepted %.1f/s, want within 15%% of %.0f/s", p.end, got, p.want)
			}
		}
		t.Logf("%d of %d requests refused (%.1f%%)", api.refused, len(api.sent), 100*share)
		if share > 0.05 {
			t.Errorf("429 share %.1f%%, want at most 5%%", 100*share)
		}
	})
}

func TestLimiterHeadersAvoid429(t *testing.T) {
	for _, style := range []string{"openai", "anthropic"} {
		t.Run(style, func(t *testing.T) {
			forSeeds(t, 3, func(t *testing.T, api *fakeAPI) {
				api.headers = style
				api.rateAt = func(time.Duration) float64 { return 10 } // 600 per minute
				api.burst = func(r float64) float64 { return 60 * r }
				l := NewLimiter(LimiterConfig{})
				runWorkers(16, until(api.start, 2*time.Minute), fetchTransport(t, l, api))
				total := countIn(api.okAt, 0, 2*time.Minute)
				last := countIn(api.okAt, time.Minute, 2*time.Minute)
				t.Logf("accepted %d in 2 min (%d in the second minute, the limit allows 600), %d refused; end: %+v",
					total, last, api.refused, l.Snapshot())
				if api.refused > 1 {
					t.Errorf("%d requests refused, want at most 1", api.refused)
				}
				if total < 1080 || last < 540 {
					t.Errorf("accepted %d in 2 min and %d in the second, want at least 90%% of the limit", total, last)
				}
			})
		})
	}
}

func TestLimiterPublishedRateIsCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(1, 250*time.Millisecond)
		l := NewLimiter(LimiterConfig{Rate: 10})
		runWorkers(16, until(api.start, 30*time.Second), fetchVia(t, l, api))
		worst := 0
		for i, s := range api.sent {
			worst = max(worst, countIn(api.sent[i:], s, s+time.Second))
		}
		rate := float64(countIn(api.sent, 0, 30*time.Second)) / 30
		t.Logf("%.0f requests in 30 s (%.2f/s); at most %d started in any 1 s window", rate*30, rate, worst)
		if worst > 10 {
			t.Errorf("%d requests started within 1 s, published rate 10/s", worst)
		}
		if rate < 9.5 {
			t.Errorf("%.2f requests/s, want close to the published 10/s", rate)
		}
	})
}

func TestLimiterAcquireHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(LimiterConfig{MaxConcurrency: 1})
		ctx := context.Background()
		done, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}

		// No slot: the wait ends with the context.
		start := time.Now()
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err = l.Acquire(tctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("Acquire = %v after %v, want DeadlineExceeded after 1s", err, time.Since(start))
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.Acquire(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire with a canceled context = %v", err)
		}
		if got := l.Snapshot().InFlight; got != 1 {
			t.Fatalf("InFlight = %d after failed Acquires, want 1", got)
		}
		done(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})
		done2, err := l.Acquire(ctx)
		if err != nil || time.Since(start) != time.Second {
			t.Fatalf("Acquire after release = %v at %v", err, time.Since(start))
		}
		done2(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})

		// Waiting for the pacer: the context ends the wait and the token
		// goes back.
		l = NewLimiter(LimiterConfig{Rate: 1})
		d, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d(Outcome{Status: http.StatusOK, Latency: 10 * time.Millisecond})
		start = time.Now()
		tctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
		_, err = l.Acquire(tctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("Acquire = %v after %v, want DeadlineExceeded after 100ms", err, time.Since(start))
		}
		if got := l.Snapshot().InFlight; got != 0 {
			t.Fatalf("InFlight = %d after a canceled pacer wait, want 0", got)
		}
		d, err = l.Acquire(ctx)
		if err != nil || time.Since(start)-time.Second > time.Millisecond {
			t.Fatalf("next Acquire = %v at %v, want the token at 1s (the canceled one returned)", err, time.Since(start))
		}
		d(Outcome{Status: http.StatusOK})
	})
}

func TestLimiterDoneTwiceIsNoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(LimiterConfig{MaxConcurrency: 2, InitialConcurrency: 2})
		ctx := context.Background()
		done, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})
		done(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})
		done(Outcome{Status: http.StatusServiceUnavailable})
		st := l.Snapshot()
		if st.InFlight != 0 || st.Limit != 2 {
			t.Fatalf("after done three times: %+v, want nothing in flight and the limit 2", st)
		}
		// Exactly Limit() slots are free: two Acquires go, a third waits.
		d1, _ := l.Acquire(ctx)
		d2, _ := l.Acquire(ctx)
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := l.Acquire(tctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("third Acquire with a limit of 2 = %v, want it to wait", err)
		}
		d1(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})
		d2(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})
		if got := l.Snapshot().InFlight; got != 0 {
			t.Fatalf("InFlight = %d, want 0", got)
		}
	})
}

func TestLimiterServerErrorsCutConcurrencyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(LimiterConfig{InitialConcurrency: 16})
		ctx := context.Background()
		var dones []func(Outcome)
		for range 16 {
			d, err := l.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			dones = append(dones, d)
		}
		// Every request in flight fails: one cut, not sixteen.
		for _, d := range dones {
			d(Outcome{Status: http.StatusServiceUnavailable, Latency: 50 * time.Millisecond})
		}
		st := l.Snapshot()
		if st.Limit != 12 {
			t.Fatalf("after a burst of 503s: %+v, want Limit 12 (16 x 0.8)", st)
		}
		// A transport error of a request sent after the cut cuts again.
		d, _ := l.Acquire(ctx)
		d(Outcome{Err: errors.New("connection reset")})
		if got := l.Limit(); got != 10 {
			t.Fatalf("after a transport error: Limit() = %d, want 10", got)
		}
		// A canceled request says nothing about the server.
		d, _ = l.Acquire(ctx)
		d(Outcome{Err: context.Canceled})
		if got := l.Limit(); got != 10 {
			t.Fatalf("after a canceled request: Limit() = %d, want 10", got)
		}
	})
}

func TestLimiterLongRetryAfterPausesEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(LimiterConfig{})
		ctx := context.Background()
		d, _ := l.Acquire(ctx)
		d(Outcome{Status: http.StatusTooManyRequests, Latency: 50 * time.Millisecond, Header: http.Header{"Retry-After": {"1"}}})
		start := time.Now()
		d, _ = l.Acquire(ctx)
		if time.Since(start) > 0 {
			t.Fatalf("a Retry-After of 1s paused everyone for %v", time.Since(start))
		}
		d(Outcome{Status: http.StatusTooManyRequests, Latency: 50 * time.Millisecond, Header: http.Header{"Retry-After": {"20"}}})
		d, _ = l.Acquire(ctx)
		if got := time.Since(start); got != 20*time.Second {
			t.Fatalf("after a Retry-After of 20s the next request waited %v", got)
		}
		d(Outcome{Status: http.StatusOK, Latency: 50 * time.Millisecond})
		if st := l.Snapshot(); st.Throttled != 2 {
			t.Fatalf("Throttled = %d, want 2", st.Throttled)
		}
	})
}

func TestLimiterHoldsWhenBudgetSpent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		// No limit header, so no refill rate: a spent budget holds every
		// request until the reset, then lets them go.
		l := NewLimiter(LimiterConfig{})
		d, _ := l.Acquire(ctx)
		d(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond, Header: http.Header{
			"X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"3s"}}})
		start := time.Now()
		d, _ = l.Acquire(ctx)
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("with remaining 0 and reset 3s the next request waited %v", got)
		}
		d(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})

		// With the limit, the refill is known: 60 used, full in 6 s, so
		// 10/s. Remaining 2 with a reserve of 1: one request goes at once,
		// then one per refilled token, every 0.1 s.
		l = NewLimiter(LimiterConfig{InitialConcurrency: 4})
		d, _ = l.Acquire(ctx)
		d(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond, Header: http.Header{
			"Anthropic-Ratelimit-Requests-Limit": {"62"}, "Anthropic-Ratelimit-Requests-Remaining": {"2"},
			"Anthropic-Ratelimit-Requests-Reset": {time.Now().Add(6 * time.Second).UTC().Format(time.RFC3339Nano)}}})
		start = time.Now()
		var dones []func(Outcome)
		var at []time.Duration
		for range 3 {
			d, err := l.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			dones = append(dones, d)
			at = append(at, time.Since(start))
		}
		if at[0] != 0 || at[1] < 95*time.Millisecond || at[1] > 105*time.Millisecond ||
			at[2] < 195*time.Millisecond || at[2] > 205*time.Millisecond {
			t.Fatalf("sent at %v, want at 0, 0.1 s and 0.2 s (paced at the refill)", at)
		}
		for _, d := range dones {
			d(Outcome{Status: http.StatusOK, Latency: 100 * time.Millisecond})
		}
		if st := l.Snapshot(); st.Rate < 9.9 || st.Rate > 10.1 {
			t.Fatalf("Snapshot().Rate = %v while the budget binds, want the refill 10/s", st.Rate)
		}
	})
}

func TestParseRateLimitHeaders(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	h := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		want   rateLimitInfo
		ok     bool
	}{
		{"none", h(), rateLimitInfo{}, false},
		{"nil", nil, rateLimitInfo{}, false},
		{"openai", h("x-ratelimit-limit-requests", "600", "x-ratelimit-remaining-requests", "599", "x-ratelimit-reset-requests", "100ms"),
			rateLimitInfo{Limit: 600, Remaining: 599, Reset: 100 * time.Millisecond}, true},
		{"openai minutes", h("x-ratelimit-limit-requests", "10000", "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "6m0s"),
			rateLimitInfo{Limit: 10000, Remaining: 0, Reset: 6 * time.Minute}, true},
		{"openai fraction", h("x-ratelimit-remaining-requests", "3", "x-ratelimit-reset-requests", "1m30.5s"),
			rateLimitInfo{Remaining: 3, Reset: 90500 * time.Millisecond}, true},
		{"openai seconds", h("x-ratelimit-remaining-requests", "3", "x-ratelimit-reset-requests", "2.5"),
			rateLimitInfo{Remaining: 3, Reset: 2500 * time.Millisecond}, true},
		{"openai garbage reset", h("x-ratelimit-limit-requests", "60", "x-ratelimit-remaining-requests", "5", "x-ratelimit-reset-requests", "soon"),
			rateLimitInfo{Limit: 60, Remaining: 5, Reset: -1}, true},
		{"openai negative reset", h("x-ratelimit-remaining-requests", "5", "x-ratelimit-reset-requests", "-3s"),
			rateLimitInfo{Remaining: 5, Reset: -1}, true},
		{"openai garbage limit", h("x-ratelimit-limit-requests", "lots", "x-ratelimit-remaining-requests", "5", "x-ratelimit-reset-requests", "1s"),
			rateLimitInfo{Remaining: 5, Reset: time.Second}, true},
		{"limit below remaining", h("x-ratelimit-limit-requests", "3", "x-ratelimit-remaining-requests", "5", "x-ratelimit-reset-requests", "1s"),
			rateLimitInfo{Remaining: 5, Reset: time.Second}, true},
		{"garbage remaining", h("x-ratelimit-limit-requests", "60", "x-ratelimit-remaining-requests", "5.5", "x-ratelimit-reset-requests", "1s"),
			rateLimitInfo{}, false},
		{"negative remaining", h("x-ratelimit-remaining-requests", "-1"), rateLimitInfo{}, false},
		{"empty remaining", h("x-ratelimit-remaining-requests", " "), rateLimitInfo{}, false},
		{"anthropic", h("Date", date, "anthropic-ratelimit-requests-limit", "600", "anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", "2025-03-01T12:01:00Z"),
			rateLimitInfo{Limit: 600, Remaining: 0, Reset: time.Minute}, true},
		{"anthropic offset and fraction", h("Date", date, "anthropic-ratelimit-requests-limit", "50", "anthropic-ratelimit-requests-remaining", "49",
			"anthropic-ratelimit-requests-reset", "2025-03-01T13:00:01.5+01:00"),
			rateLimitInfo{Limit: 50, Remaining: 49, Reset: 1500 * time.Millisecond}, true},
		{"anthropic reset passed", h("Date", date, "anthropic-ratelimit-requests-remaining", "7",
			"anthropic-ratelimit-requests-reset", "2025-03-01T11:59:00Z"),
			rateLimitInfo{Remaining: 7, Reset: 0}, true},
		{"anthropic without Date uses the local clock", h("anthropic-ratelimit-requests-remaining", "7",
			"anthropic-ratelimit-requests-reset", "2025-03-01T12:00:10Z"),
			rateLimitInfo{Remaining: 7, Reset: 10 * time.Second}, true},
		{"anthropic garbage reset", h("anthropic-ratelimit-requests-remaining", "7", "anthropic-ratelimit-requests-reset", "Saturday"),
			rateLimitInfo{Remaining: 7, Reset: -1}, true},
		{"anthropic reset as duration is garbage", h("anthropic-ratelimit-requests-remaining", "7", "anthropic-ratelimit-requests-reset", "10s"),
			rateLimitInfo{Remaining: 7, Reset: -1}, true},
		{"both: the lower remaining wins", h("x-ratelimit-remaining-requests", "9", "x-ratelimit-reset-requests", "1s",
			"anthropic-ratelimit-requests-remaining", "4", "anthropic-ratelimit-requests-reset", "2025-03-01T12:00:02Z"),
			rateLimitInfo{Remaining: 4, Reset: 2 * time.Second}, true},
		{"tokens headers are not requests", h("x-ratelimit-remaining-tokens", "0", "anthropic-ratelimit-tokens-remaining", "0"),
			rateLimitInfo{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRateLimit(tc.header, now)
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseRateLimit = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestServerWait(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"nil", nil, 0, false},
		{"absent", http.Header{}, 0, false},
		{"seconds", http.Header{"Retry-After": {"2"}}, 2 * time.Second, true},
		{"zero", http.Header{"Retry-After": {"0"}}, 0, true},
		{"negative", http.Header{"Retry-After": {"-1"}}, 0, false},
		{"fraction", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond, true},
		{"date", http.Header{"Retry-After": {"Sat, 01 Mar 2025 12:00:30 GMT"}}, 30 * time.Second, true},
		{"date from the server's clock", http.Header{"Date": {"Sat, 01 Mar 2025 11:59:50 GMT"}, "Retry-After": {"Sat, 01 Mar 2025 12:00:30 GMT"}}, 40 * time.Second, true},
		{"garbage", http.Header{"Retry-After": {"later"}}, 0, false},
		{"ms first", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond, true},
		{"garbage ms falls back", http.Header{"Retry-After-Ms": {"x"}, "Retry-After": {"1"}}, time.Second, true},
		{"huge", http.Header{"Retry-After": {"99999999999"}}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := serverWait(tc.header, now)
			if ok != tc.ok || got != tc.want {
				t.Errorf("serverWait = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
