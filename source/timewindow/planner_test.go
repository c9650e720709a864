package timewindow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// fakeAPI is a newest-first, time-filtered, cursor-paged API on the fake
// clock of a synctest bubble: a log-normal latency, a token bucket per key
// answered with 429 and a retry after a second, like the simulator, in
// microseconds of real time.
type fakeAPI struct {
	times    []int64 // event times, ascending
	pageSize int
	median   time.Duration
	sigma    float64
	rate     func(elapsed time.Duration) float64 // requests/s (0: none)
	limiter  *httpapi.Limiter

	mu       sync.Mutex
	rng      *rand.Rand
	start    time.Time
	tokens   float64
	last     time.Time
	requests int
	limited  int
	pages    int
	walks    int             // one per stretch read, and the catch-up's first page
	okAt     []time.Duration // when each accepted request was answered, since the first
}

// newFakeAPI spreads n events over span seconds ending at end, with a
// smooth variation of density (a factor 0.3 to 1.7 over the span).
func newFakeAPI(n int, span, end int64, seed uint64) *fakeAPI {
	rng := rand.New(rand.NewPCG(seed, 1))
	a := &fakeAPI{pageSize: 100, median: 250 * time.Millisecond, sigma: math.Log(4) / 2.326, rng: rng}
	for len(a.times) < n {
		t := rng.Float64()
		if rng.Float64()*1.7 < 1+0.7*math.Sin(6*math.Pi*t) { // rejection sampling of the density
			a.times = append(a.times, end-span+int64(t*float64(span)))
		}
	}
	slices.Sort(a.times)
	return a
}

// request waits for the limiter, the latency and the bucket; it returns
// false for a 429.
func (a *fakeAPI) request(ctx context.Context) (bool, error) {
	done, err := a.limiter.Acquire(ctx)
	if err != nil {
		return false, err
	}
	a.mu.Lock()
	lat := time.Duration(float64(a.median) * math.Exp(a.sigma*a.rng.NormFloat64()))
	a.mu.Unlock()
	time.Sleep(lat)
	a.mu.Lock()
	a.requests++
	now := time.Now()
	if a.start.IsZero() {
		a.start, a.last = now, now
		a.tokens = a.rate(0) // a bucket starts full
	}
	ok := true
	if r := a.rate(now.Sub(a.start)); r > 0 {
		a.tokens = min(a.tokens+now.Sub(a.last).Seconds()*r, r)
		a.last = now
		if a.tokens < 1 {
			ok = false
			a.limited++
		} else {
			a.tokens--
		}
	}
	if ok {
		a.okAt = append(a.okAt, now.Sub(a.start))
	}
	a.mu.Unlock()
	status, h := 200, http.Header{}
	if !ok {
		status = 429
		h.Set("Retry-After", "1")
	}
	done(httpapi.Outcome{Status: status, Latency: lat, Header: h})
	return ok, nil
}

// walk implements WalkFunc over the fake events, retrying 429s after a
// second as the retry layer does.
func (a *fakeAPI) walk(ctx context.Context, lo, hi int64, visit func([]pipeline.Event, bool) bool) (int, error) {
	top := sort.Search(len(a.times), func(i int) bool { return a.times[i] >= hi }) // newest first from top-1
	bottom := sort.Search(len(a.times), func(i int) bool { return a.times[i] >= lo })
	a.mu.Lock()
	a.walks++
	a.mu.Unlock()
	requests := 0
	for i := top; ; {
		for {
			requests++
			ok, err := a.request(ctx)
			if err != nil {
				return requests, err
			}
			if ok {
				break
			}
			if err := pipeline.Sleep(ctx, time.Second); err != nil {
				return requests, err
			}
		}
		j := max(i-a.pageSize, bottom)
		page := make([]pipeline.Event, 0, i-j)
		for k := i - 1; k >= j; k-- {
			page = append(page, pipeline.Event{ID: fmt.Sprint("e", k), Time: time.Unix(a.times[k], 0)})
		}
		a.mu.Lock()
		a.pages++
		a.mu.Unlock()
		more := j > bottom
		if !visit(page, more) || !more {
			return requests, nil
		}
		i = j
	}
}

// backfillResult is what one simulated back-fill did.
type backfillResult struct {
	took              time.Duration
	requests, limited int
	windows, events   int
	walks             int
}

// simulateBackfill runs a Planner over the fake API until it caught up.
func simulateBackfill(t *testing.T, api *fakeAPI, cfg Config, start time.Time) backfillResult {
	t.Helper()
	api.limiter = httpapi.NewLimiter(httpapi.LimiterConfig{MaxConcurrency: 16})
	var res backfillResult
	seen := map[string]bool{}
	p := &Planner{Config: cfg, Walk: api.walk, Limit: api.limiter.Limit, Log: slog.New(tlogHandler{t}),
		Now: func() (time.Time, bool) { return time.Now(), true }}
	var last Cursor
	host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
		res.windows++
		for _, ev := range w.Events {
			if seen[ev.ID] {
				t.Errorf("%s emitted twice", ev.ID)
			}
			seen[ev.ID] = true
		}
		res.events += len(w.Events)
		var c Cursor
		if err := json.Unmarshal(w.Cursor, &c); err != nil || c.Time < last.Time {
			t.Fatalf("cursor %s after %d", w.Cursor, last.Time)
		}
		last = c
		return nil
	}}
	t0 := time.Now()
	if err := p.Run(t.Context(), host, start); err != nil {
		t.Fatal(err)
	}
	res.took = time.Since(t0)
	res.requests, res.limited, res.walks = api.requests, api.limited, api.walks
	return res
}

// TestBackfillAtTheAPIsLimit: a back-fill of 30,000 events over 30 days,
// pages of 100 answered in 250 ms (median; a long tail), 20 requests per
// second allowed: the planner's time is close to the limit's bound
// (pages / limit), its requests close to the pages plus one per stretch
// read (its last page is partial), few 429s, and every event once, in
// cursor order.
func TestBackfillAtTheAPIsLimit(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				now := time.Now().Unix()
				api := newFakeAPI(30000, 720*3600, now, seed)
				api.rate = func(time.Duration) float64 { return 20 }
				cfg := Config{Settle: 0, Overlap: 5 * time.Minute, PollInterval: time.Second, MaxWindowEvents: 5000,
					MaxWindow: 168 * time.Hour, PageSize: 100, MaxBuffered: 10000, Prefetch: -1}
				res := simulateBackfill(t, api, cfg, time.Unix(now-800*3600, 0))
				pages := (30000 + 99) / 100
				bound := time.Duration(pages) * time.Second / 20
				t.Logf("took %v (%.2fx the bound %v), %d requests (%d pages + %d stretches), %d windows, %d 429s",
					res.took, res.took.Seconds()/bound.Seconds(), bound, res.requests, pages, res.walks, res.windows, res.limited)
				if res.events != 30000 {
					t.Fatalf("%d events emitted, want 30000", res.events)
				}
				// Loose bounds: a guard against a planner that stops
				// using the limit, not the measurement (make bench-api).
				if f := res.took.Seconds() / bound.Seconds(); f > 1.5 {
					t.Errorf("took %.2fx the bound", f)
				}
				if f := float64(res.requests) / float64(pages+res.walks); f > 1.1 {
					t.Errorf("%.2fx the requests of the pages and stretches", f)
				}
				if f := float64(res.limited) / float64(res.requests); f > 0.08 {
					t.Errorf("%.1f%% of the requests got 429", 100*f)
				}
			})
		})
	}
}

// acceptedRate is the rate of accepted requests in [from, to).
func (a *fakeAPI) acceptedRate(from, to time.Duration) float64 {
	n := 0
	for _, t := range a.okAt {
		if t >= from && t < to {
			n++
		}
	}
	return float64(n) / (to - from).Seconds()
}

// TestBackfillFollowsAChangingLimit: the API allows 20 requests/s, then 10
// from 10 s on, then 20 again from 25 s on; the back-fill follows the
// limit down and back up.
func TestBackfillFollowsAChangingLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now().Unix()
		api := newFakeAPI(80000, 720*3600, now, 4)
		api.rate = func(d time.Duration) float64 {
			if d >= 10*time.Second && d < 25*time.Second {
				return 10
			}
			return 20
		}
		cfg := Config{Overlap: 5 * time.Minute, PollInterval: time.Second, MaxWindowEvents: 5000,
			MaxWindow: 168 * time.Hour, PageSize: 100, MaxBuffered: 10000, Prefetch: -1}
		res := simulateBackfill(t, api, cfg, time.Unix(now-800*3600, 0))
		// The last 6 s of each phase (the third: 34 s to 40 s):
		// long enough that one cut after a 429 does not decide it.
		phases := []float64{api.acceptedRate(4*time.Second, 10*time.Second), api.acceptedRate(19*time.Second, 25*time.Second),
			api.acceptedRate(34*time.Second, 40*time.Second)}
		t.Logf("took %v, %d requests, %d 429s (%.1f%%); accepted per second at the end of each phase %.1f / %.1f / %.1f",
			res.took, res.requests, res.limited, 100*float64(res.limited)/float64(res.requests), phases[0], phases[1], phases[2])
		for i, want := range []float64{20, 10, 20} {
			// A 429 costs the limiter a cut and a second's wait; a token
			// bucket lets a burst through.
			if phases[i] < 0.7*want || phases[i] > 1.25*want {
				t.Errorf("phase %d: %.1f requests/s accepted, want about %.0f", i+1, phases[i], want)
			}
		}
		if res.events != 80000 {
			t.Fatalf("%d events emitted, want 80000", res.events)
		}
	})
}

// TestBackfillMemoryBound: an API far faster than delivery, whose newest
// events are sparse and older ones dense (so that the first page makes
// every early stretch look small): the events read and not yet delivered
// stay near MaxBuffered, and every event is delivered once.
func TestBackfillMemoryBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 60000
		now := time.Now().Unix()
		span := int64(720 * 3600)
		api := &fakeAPI{pageSize: 100, median: 5 * time.Millisecond, sigma: 0.3, rng: rand.New(rand.NewPCG(7, 1)),
			rate: func(time.Duration) float64 { return 0 }}
		for range n {
			// The age's density grows with the age: few events near now.
			api.times = append(api.times, now-int64(float64(span)*math.Sqrt(api.rng.Float64())))
		}
		slices.Sort(api.times)
		var read, delivered, maxHeld atomic.Int64
		walk := api.walk
		api.limiter = httpapi.NewLimiter(httpapi.LimiterConfig{MaxConcurrency: 16})
		cfg := Config{Overlap: 5 * time.Minute, PollInterval: time.Second, MaxWindowEvents: 5000,
			MaxWindow: 168 * time.Hour, PageSize: 100, MaxBuffered: 10000, Prefetch: -1}
		p := &Planner{Config: cfg, Limit: api.limiter.Limit, Log: slog.New(tlogHandler{t}),
			Now: func() (time.Time, bool) { return time.Now(), true },
			Walk: func(ctx context.Context, lo, hi int64, visit func([]pipeline.Event, bool) bool) (int, error) {
				return walk(ctx, lo, hi, func(page []pipeline.Event, more bool) bool {
					held := read.Add(int64(len(page))) - delivered.Load()
					for m := maxHeld.Load(); held > m && !maxHeld.CompareAndSwap(m, held); m = maxHeld.Load() {
					}
					return visit(page, more)
				})
			}}
		seen := map[string]bool{}
		host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
			time.Sleep(time.Duration(len(w.Events)) * 20 * time.Microsecond) // delivery: 50,000 events/s
			for _, ev := range w.Events {
				if seen[ev.ID] {
					t.Errorf("%s emitted twice", ev.ID)
				}
				seen[ev.ID] = true
			}
			delivered.Add(int64(len(w.Events)))
			return nil
		}}
		if err := p.Run(t.Context(), host, time.Unix(now-800*3600, 0)); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d events read, %d delivered, at most %d held", read.Load(), len(seen), maxHeld.Load())
		if len(seen) != n {
			t.Fatalf("%d events delivered, want %d", len(seen), n)
		}
		// MaxBuffered, plus what the stretches running when it was reached
		// read to their end (each about the target), plus pages read
		// across a cut (counted here, dropped by the planner).
		if m := maxHeld.Load(); m > 5*int64(cfg.MaxBuffered)/2 {
			t.Errorf("%d events held at once, want at most %d (2.5 x MaxBuffered)", m, 5*cfg.MaxBuffered/2)
		}
	})
}

// TestImpossibleCheckpoint: a checkpoint past the API's present (the
// source would wait for it in silence, a --once run deliver nothing) or
// before the API's first event (the source would walk empty windows back to
// it) is a permanent error saying what to do; nothing is read.
func TestImpossibleCheckpoint(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		time int64
		want string
	}{
		{"from the year 3000", 32503680000, "past the API's present"},
		{"negative", -1000, "before the API's first possible event"},
		{"before the earliest event", time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), "before the API's first possible event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			walked := false
			p := &Planner{Config: Config{PollInterval: time.Second, MaxWindowEvents: 100, MaxWindow: time.Hour, PageSize: 10,
				MaxBuffered: 100, Prefetch: -1, Earliest: time.Date(2015, 12, 1, 0, 0, 0, 0, time.UTC)},
				Walk: func(context.Context, int64, int64, func([]pipeline.Event, bool) bool) (int, error) {
					walked = true
					return 1, nil
				},
				Now: func() (time.Time, bool) { return now, true }, Limit: func() int { return 1 }, Log: slog.New(tlogHandler{t})}
			host := pipeline.SourceHost{Once: true, Cursor: fmt.Appendf(nil, `{"v":1,"time":%d,"seen":{}}`, tc.time),
				Emit: func(context.Context, pipeline.Window) error { t.Error("a window was emitted"); return nil }}
			err := p.Run(t.Context(), host, now.Add(-time.Hour))
			if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "start_at") {
				t.Fatalf("err = %v; want a permanent error with %q and what to do", err, tc.want)
			}
			if walked {
				t.Fatal("the API was read")
			}
		})
	}
}

// TestBackfillWaitsForDelivery: while the engine cannot take a window (a
// sink is down), a back-fill stops reading once two whole windows wait for
// the engine, and what it holds stays within its memory bound: MaxBuffered
// held when no stretch may start, the stretches running then (planned at
// about MaxBuffered together, each cut by resize once it shows more than
// 1.5 times its plan) and the page each reader was reading. Readers that
// did not wait would go on reading the stretches cut for them, to about
// four times MaxBuffered. When delivery moves again, every event is
// delivered once.
func TestBackfillWaitsForDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 60000
		now := time.Now().Unix()
		api := newFakeAPI(n, 720*3600, now, 4)
		api.median, api.sigma = 5*time.Millisecond, 0
		api.rate = func(time.Duration) float64 { return 0 }
		api.limiter = httpapi.NewLimiter(httpapi.LimiterConfig{MaxConcurrency: 16})
		cfg := Config{Overlap: 5 * time.Minute, PollInterval: time.Second, MaxWindowEvents: 2000,
			MaxWindow: 168 * time.Hour, PageSize: 100, MaxBuffered: 4000, Prefetch: -1}
		var read atomic.Int64
		p := &Planner{Config: cfg, Limit: api.limiter.Limit, Log: slog.New(tlogHandler{t}),
			Now: func() (time.Time, bool) { return time.Now(), true },
			Walk: func(ctx context.Context, lo, hi int64, visit func([]pipeline.Event, bool) bool) (int, error) {
				return api.walk(ctx, lo, hi, func(page []pipeline.Event, more bool) bool {
					read.Add(int64(len(page)))
					return visit(page, more)
				})
			}}
		stuck, release := make(chan int), make(chan struct{})
		seen := map[string]bool{}
		windows := 0
		host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
			windows++
			if windows == 10 {
				stuck <- len(w.Events)
				<-release // the sink is down
			}
			for _, ev := range w.Events {
				if seen[ev.ID] {
					t.Errorf("%s emitted twice", ev.ID)
				}
				seen[ev.ID] = true
			}
			return nil
		}}
		done := make(chan error)
		go func() { done <- p.Run(t.Context(), host, time.Unix(now-800*3600, 0)) }()
		inDelivery := <-stuck
		time.Sleep(time.Minute)
		synctest.Wait()
		ahead := read.Load() - int64(len(seen)) - int64(inDelivery)
		t.Logf("delivery stuck for a minute: %d events read ahead of it, %d requests", ahead, api.requests)
		if bound := 5*int64(cfg.MaxBuffered)/2 + int64(api.limiter.Limit()*cfg.PageSize); ahead > bound {
			t.Errorf("%d events read ahead of a stuck delivery, want at most %d", ahead, bound)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(seen) != n {
			t.Fatalf("%d events delivered, want %d", len(seen), n)
		}
	})
}
