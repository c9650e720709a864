package openaisim

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

func TestLatencySampling(t *testing.T) {
	for _, tt := range []struct {
		name    string
		l       Latency
		wantP99 time.Duration
	}{
		{"median 250ms p99 1s", Latency{Median: 250 * time.Millisecond, P99: time.Second}, time.Second},
		{"p99 defaults to 4x the median", Latency{Median: 40 * time.Millisecond}, 160 * time.Millisecond},
		{"long tail", Latency{Median: 10 * time.Millisecond, P99: 500 * time.Millisecond}, 500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Seed: 31, Latency: tt.l})
			d := make([]time.Duration, 20000)
			for i := range d {
				d[i] = s.latencyDraw()
			}
			slices.Sort(d)
			med, p99 := d[len(d)/2], d[len(d)*99/100]
			if diff := relDiff(med, tt.l.Median); diff > 0.05 {
				t.Errorf("median %s, want %s within 5%% (off by %.1f%%)", med, tt.l.Median, diff*100)
			}
			if diff := relDiff(p99, tt.wantP99); diff > 0.15 {
				t.Errorf("p99 %s, want %s within 15%% (off by %.1f%%)", p99, tt.wantP99, diff*100)
			}
			if d[0] <= 0 {
				t.Errorf("min %s", d[0])
			}
			// The same seed gives the same sequence; another seed another one.
			a, b, c := New(Options{Seed: 31, Latency: tt.l}), New(Options{Seed: 31, Latency: tt.l}), New(Options{Seed: 32, Latency: tt.l})
			same, differ := true, false
			for range 100 {
				x, y, z := a.latencyDraw(), b.latencyDraw(), c.latencyDraw()
				same, differ = same && x == y, differ || x != z
			}
			if !same || !differ {
				t.Errorf("draws are not seeded: same seed equal %v, other seed different %v", same, differ)
			}
		})
	}
	s := New(Options{Seed: 1, Latency: Latency{Median: 70 * time.Millisecond, P99: 70 * time.Millisecond}})
	for range 100 {
		if d := s.latencyDraw(); d < 69*time.Millisecond || d > 71*time.Millisecond {
			t.Fatalf("p99 = median must give a constant delay, got %s", d)
		}
	}
	if d := New(Options{Seed: 1}).latencyDraw(); d != 0 {
		t.Fatalf("no latency configured, drew %s", d)
	}
}

func relDiff(got, want time.Duration) float64 {
	d := float64(got-want) / float64(want)
	if d < 0 {
		return -d
	}
	return d
}

// TestLatencyOverHTTP serves the simulator over in-memory connections in a
// synctest bubble: the latency is waited out on the bubble's clock, so each
// answer's delay is measured exactly, not against a loaded machine's clock.
func TestLatencyOverHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := Options{Seed: 32, Events: 50, Span: time.Hour, Latency: Latency{Median: 30 * time.Millisecond, P99: 60 * time.Millisecond}}
		s := New(opts)
		base, client := serveInBubble(t, s)
		// A second simulator of the same seed draws the same delays.
		ref := New(opts)
		for i := range 15 {
			want := ref.latencyDraw()
			begin := time.Now()
			if code, _, b := getVia(t, client, base, "/organization/audit_logs", nil); code != 200 {
				t.Fatalf("status %d: %s", code, b)
			}
			if got := time.Since(begin); got != want || want < time.Millisecond {
				t.Fatalf("request %d answered after %s, want the seeded latency draw %s", i, got, want)
			}
		}

		// Refusals take the latency too; a reset does not wait.
		slow := Latency{Median: 80 * time.Millisecond, P99: 80 * time.Millisecond}
		_, b429, c429 := serveNew(t, Options{Seed: 33, Latency: slow, Faults: Faults{Rate: 1, Kinds: []FaultKind{Fault429}}})
		begin := time.Now()
		if code, _, _ := getVia(t, c429, b429, "/organization/users", nil); code != 429 || time.Since(begin) < 79*time.Millisecond {
			t.Fatalf("429 after %s (status %d), want the 80ms latency", time.Since(begin), code)
		}
		_, b401, c401 := serveNew(t, Options{Seed: 33, Latency: slow, APIKey: "sk-admin-right"})
		begin = time.Now()
		if code, _, _ := getVia(t, c401, b401, "/organization/users", nil, "Authorization", "Bearer sk-admin-wrong"); code != 401 || time.Since(begin) < 79*time.Millisecond {
			t.Fatalf("401 after %s (status %d), want the 80ms latency", time.Since(begin), code)
		}
		reset, bReset, cReset := serveNew(t, Options{Seed: 33, Latency: Latency{Median: 5 * time.Second, P99: 5 * time.Second}, Faults: Faults{Rate: 1, Kinds: []FaultKind{FaultReset}}})
		begin = time.Now()
		if resp, err := cReset.Get(bReset + "/organization/users"); err == nil {
			resp.Body.Close()
			t.Fatalf("reset: answered %d, want a connection error", resp.StatusCode)
		}
		if took := time.Since(begin); took >= time.Second || reset.Stats().Faults[FaultReset] == 0 {
			t.Fatalf("reset: the connection dropped after %s (%d resets), want at once by a reset fault", took, reset.Stats().Faults[FaultReset])
		}

		// A client that gives up ends the wait: the handler does not sit out
		// a 5 s delay for nobody. Once every goroutine of the bubble is
		// blocked, the handler has counted the cancellation, and no time
		// has passed beyond the client's 100 ms.
		s5, base5, c5 := serveNew(t, Options{Seed: 34, Latency: Latency{Median: 5 * time.Second, P99: 5 * time.Second}})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base5+"/organization/users", nil)
		begin = time.Now()
		if resp, err := c5.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d before the 5s latency", resp.StatusCode)
		}
		synctest.Wait()
		if n, took := s5.Stats().Cancelled, time.Since(begin); n != 1 || took != 100*time.Millisecond {
			t.Fatalf("%d cancelled requests %s after the request, want the handler to stop waiting when the client gave up at 100ms", n, took)
		}
	})
}

// serveNew builds a simulator of o and serves it in the bubble of t.
func serveNew(t *testing.T, o Options) (*Server, string, *http.Client) {
	t.Helper()
	s := New(o)
	base, client := serveInBubble(t, s)
	return s, base, client
}

func TestLimiterBucket(t *testing.T) {
	epoch := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return epoch.Add(d) }
	l := newLimiter(2, []RateStep{{At: 10 * time.Second, Rate: 0}, {At: 20 * time.Second, Rate: 0.5}, {At: 30 * time.Second, Rate: 10}, {At: 31 * time.Second, Rate: 1}}, epoch)
	type want struct {
		ok   bool
		wait time.Duration
	}
	check := func(key string, d time.Duration, w want) {
		t.Helper()
		ok, wait, _ := l.take(key, at(d))
		if ok != w.ok || (!ok && (wait-w.wait > time.Millisecond || w.wait-wait > time.Millisecond)) {
			t.Fatalf("take(%s, %s) = %v wait %s, want %v wait %s", key, d, ok, wait, w.ok, w.wait)
		}
	}
	// 2/s: a burst of 2, then one token every 500ms.
	check("a", 0, want{ok: true})
	check("a", 0, want{ok: true})
	check("a", 0, want{wait: 500 * time.Millisecond})
	check("a", 250*time.Millisecond, want{wait: 250 * time.Millisecond})
	check("a", 500*time.Millisecond, want{ok: true})
	check("b", 500*time.Millisecond, want{ok: true}) // every key has its own bucket
	check("b", 500*time.Millisecond, want{ok: true})
	check("b", 500*time.Millisecond, want{wait: 500 * time.Millisecond})
	// An idle bucket holds no more than one second's worth.
	check("a", 9*time.Second, want{ok: true})
	check("a", 9*time.Second, want{ok: true})
	check("a", 9*time.Second, want{wait: 500 * time.Millisecond})
	// Unlimited from 10 s.
	for range 1000 {
		check("a", 10*time.Second, want{ok: true})
	}
	// 0.5/s from 20 s: the bucket is full again after the unlimited stretch,
	// but holds one token (the burst is at least 1), then one every 2 s.
	check("a", 20*time.Second, want{ok: true})
	check("a", 20*time.Second, want{wait: 2 * time.Second})
	check("a", 21*time.Second, want{wait: time.Second})
	check("a", 22*time.Second, want{ok: true})
	// Tokens are earned at the rate in force: from 29.5 s to 30.3 s that is
	// 0.25 at 0.5/s plus 3 at 10/s.
	check("c", 29500*time.Millisecond, want{ok: true})
	check("c", 29500*time.Millisecond, want{wait: 2 * time.Second})
	for range 3 {
		check("c", 30300*time.Millisecond, want{ok: true})
	}
	check("c", 30300*time.Millisecond, want{wait: 75 * time.Millisecond}) // 0.25 left, 0.75 to go at 10/s
	// And a drop in the rate caps what the bucket holds at the new burst.
	check("d", 30900*time.Millisecond, want{ok: true})
	for range 9 {
		check("d", 30900*time.Millisecond, want{ok: true})
	}
	check("d", 31500*time.Millisecond, want{ok: true})          // 1.5 earned, capped at 1
	check("d", 31500*time.Millisecond, want{wait: time.Second}) // uncapped, 0.5 would be left
}

// rateResult is one answer of TestRateLimitOverHTTP.
type rateResult struct {
	code       int
	retryAfter string
	hasRA      bool
	err        apiError
}

// TestRateLimitOverHTTP runs in a synctest bubble, the simulator served
// over in-memory connections: requests take no time on the bubble's clock
// unless the test sleeps, so the schedule's steps are reached exactly and
// every count below is the one worked out by hand in its comment.
func TestRateLimitOverHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const key = "sk-admin-rate-test"
		// The rate schedule counts from New: the bubble's start.
		epoch := time.Now()
		s, base, client := serveNew(t, Options{Seed: 35, Events: 20, Span: time.Hour, APIKey: key, RateLimit: 50,
			RateSchedule: []RateStep{{At: 1200 * time.Millisecond, Rate: 10}, {At: 2400 * time.Millisecond, Rate: 100}}})
		do := func(auth string) rateResult {
			req, _ := http.NewRequest(http.MethodGet, base+"/organization/users?limit=1", nil)
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return rateResult{}
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			r := rateResult{code: resp.StatusCode}
			r.retryAfter, r.hasRA = resp.Header.Get("Retry-After"), resp.Header["Retry-After"] != nil
			if r.code == 429 {
				json.Unmarshal(b, &r.err) //nolint:errcheck // checked through its fields
			}
			return r
		}
		// fire sends n requests (or, n < 0, requests until the deadline) from
		// 8 goroutines, each pausing after every answer, and returns the
		// answers.
		fire := func(n int, until time.Time, pause time.Duration) []rateResult {
			var mu sync.Mutex
			var out []rateResult
			var sent atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						if n >= 0 && sent.Add(1) > int64(n) || n < 0 && !time.Now().Before(until) {
							return
						}
						r := do("Bearer " + key)
						mu.Lock()
						out = append(out, r)
						mu.Unlock()
						time.Sleep(pause)
					}
				})
			}
			wg.Wait()
			return out
		}
		count := func(rs []rateResult, code int) int {
			n := 0
			for _, r := range rs {
				if r.code == code {
					n++
				}
			}
			return n
		}

		// A refused key spends no quota: 80 answers, all 401, none 429.
		for i := range 80 {
			if r := do("Bearer sk-admin-wrong"); r.code != 401 {
				t.Fatalf("wrong key, request %d: %d, want 401", i, r.code)
			}
		}

		// 50/s, burst 50: 300 requests at one instant take the 50 tokens of
		// the full bucket; the other 250 are refused.
		rs := fire(300, time.Time{}, 0)
		if d := time.Since(epoch); d != 0 {
			t.Fatalf("%s passed on the bubble's clock; the test assumes none", d)
		}
		ok, limited := count(rs, 200), count(rs, 429)
		if ok != 50 || limited != 250 {
			t.Fatalf("%d accepted, %d refused of 300 requests at once at 50/s with a burst of 50; want 50 and 250", ok, limited)
		}
		withRA, withoutRA := 0, 0
		for _, r := range rs {
			if r.code != 429 {
				continue
			}
			if r.err.Error.Type != "requests" || r.err.Error.Code == nil || *r.err.Error.Code != "rate_limit_exceeded" || r.err.Error.Param != nil ||
				!strings.HasPrefix(r.err.Error.Message, "Rate limit reached") {
				t.Fatalf("429 body: %+v", r.err)
			}
			if !r.hasRA {
				withoutRA++
				continue
			}
			withRA++
			if n, err := strconv.Atoi(r.retryAfter); err != nil || n != 1 { // 20 ms to the next token at 50/s, rounded up
				t.Fatalf("Retry-After %q, want whole seconds: 1", r.retryAfter)
			}
		}
		if withRA == 0 || withoutRA == 0 || withoutRA > limited/2 {
			t.Fatalf("of %d 429s, %d with Retry-After and %d without; want about one in five without", limited, withRA, withoutRA)
		}
		st := s.Stats()
		if st.RateLimited != int64(limited) || st.FaultCount() != 0 || st.Unauthorized != 80 || st.Requests != 380 {
			t.Fatalf("stats %+v, want %d rate limited, no fault, 80 unauthorized, 380 requests", st, limited)
		}

		// 10/s from 1.2 s. At 1.3 s the bucket holds its new burst, 10 (it
		// earned 61 since 0 s, capped at one second's worth); 8 requests
		// every 5 ms until 2.3 s (the last at 2.295 s) earn 9.95 more: 19
		// accepted.
		time.Sleep(time.Until(epoch.Add(1300 * time.Millisecond)))
		rs = fire(-1, epoch.Add(2300*time.Millisecond), 5*time.Millisecond)
		if ok, refused := count(rs, 200), count(rs, 429); ok != 19 || ok+refused != len(rs) || len(rs) != 8*200 {
			t.Fatalf("at 10/s: %d accepted, %d refused of %d in 1 s; want 10 (burst) + 9 of 8 x 200", ok, refused, len(rs))
		}
		// 100/s from 2.4 s. At 2.5 s the bucket holds the 0.95 left at
		// 2.295 s, 1.05 earned at 10/s until 2.4 s and 10 at 100/s since:
		// 12; requests until 3.3 s (the last at 3.295 s) earn 79.5 more:
		// 91 accepted.
		time.Sleep(time.Until(epoch.Add(2500 * time.Millisecond)))
		rs = fire(-1, epoch.Add(3300*time.Millisecond), 5*time.Millisecond)
		if ok, refused := count(rs, 200), count(rs, 429); ok != 91 || ok+refused != len(rs) || len(rs) != 8*160 {
			t.Fatalf("at 100/s: %d accepted, %d refused of %d in 0.8 s; want 12 + 79 of 8 x 160", ok, refused, len(rs))
		}
	})
}

func TestRateLimitRetryAfterRoundsUp(t *testing.T) {
	// 0.25/s: the bucket holds one token and the next comes 4 s later.
	_, base := start(t, Options{Seed: 36, RateLimit: 0.25})
	if code, _, _ := get(t, base, "/organization/users", nil); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	forms := map[string]int{}
	for range 20 {
		code, h, b := get(t, base, "/organization/users", nil)
		if code != 429 {
			t.Fatalf("status %d, want 429: %s", code, b)
		}
		if h.Get("x-should-retry") != "true" {
			t.Fatal("no x-should-retry")
		}
		forms[h.Get("Retry-After")]++
	}
	if len(forms) != 2 || forms["4"] == 0 || forms[""] == 0 {
		t.Fatalf("Retry-After values %v, want 4 (3.9 s rounded up) and some absent", forms)
	}
}

func TestLoopFaultServesTheFirstPageAgain(t *testing.T) {
	for _, tt := range []struct {
		name, path string
		q          url.Values
	}{
		{"audit logs", "/organization/audit_logs", url.Values{"limit": {"10"}}},
		{"audit logs filtered", "/organization/audit_logs", url.Values{"limit": {"3"}, "event_types[]": {"login.succeeded"}}},
		{"request logs", "/organization_logs", url.Values{"limit": {"10"}}},
		{"request logs asc", "/organization_logs", url.Values{"limit": {"7"}, "order": {"asc"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := sourcetest.NewClock(t0)
			opts := Options{Seed: 37, Events: 300, OrgLogEvents: 300, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now}
			_, clean := start(t, opts)
			first := getPage(t, clean, tt.path, tt.q)
			next := cloneValues(tt.q)
			next.Set("after", *first.LastID)
			if second := getPage(t, clean, tt.path, next); slices.EqualFunc(second.Data, first.Data, rawEqual) {
				t.Fatal("without the fault the walk advances; the test needs that")
			}
			opts.Faults = Faults{Rate: 1, Kinds: []FaultKind{FaultLoop}}
			s, base := start(t, opts)
			q := cloneValues(tt.q)
			for i := range 4 {
				p := getPage(t, base, tt.path, q)
				if !slices.EqualFunc(p.Data, first.Data, rawEqual) || !*p.HasMore || *p.LastID != *first.LastID {
					t.Fatalf("request %d of the walk: %d records (last %v, has_more %v), want the first page again with has_more", i, len(p.Data), *p.LastID, *p.HasMore)
				}
				if tt.path == "/organization_logs" && (p.After == nil || *p.After != *p.LastID) {
					t.Fatalf("after %v, last_id %s", p.After, *p.LastID)
				}
				q.Set("after", *p.LastID)
			}
			if st := s.Stats(); st.Faults[FaultLoop] != 4 || st.Pages != 0 || st.Events+st.Logs != 0 {
				t.Fatalf("stats %+v: want 4 loop faults and no page counted as served", st)
			}
		})
	}
	t.Run("empty first page", func(t *testing.T) {
		clk := sourcetest.NewClock(t0)
		s, base := start(t, Options{Seed: 38, Events: 100, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now,
			Faults: Faults{Rate: 1, Kinds: []FaultKind{FaultLoop}}})
		for _, path := range []string{"/organization/audit_logs?effective_at[gt]=" + strconv.FormatInt(t0.Unix()+3600, 10), "/organization_logs"} {
			code, _, b := get(t, base, path, nil)
			var p page
			if code != 200 || json.Unmarshal(b, &p) != nil || p.Data == nil || len(p.Data) != 0 || p.HasMore == nil || !*p.HasMore ||
				p.FirstID != nil || p.LastID != nil {
				t.Fatalf("%s: %d %s, want data [] with has_more true", path, code, b)
			}
		}
		// Other answers are not lists of logs: they are left alone and the
		// draw is not counted.
		for _, path := range []string{"/organization/users?limit=100", "/organization/projects?limit=100", "/organization_logs/log_nope", "/organization/audit_logs?limit=0"} {
			code, _, b := get(t, base, path, nil)
			if code == 200 && !strings.Contains(string(b), `"has_more":false`) {
				t.Fatalf("%s: %s", path, b)
			}
		}
		if got := s.Stats().Faults[FaultLoop]; got != 2 {
			t.Fatalf("%d loop faults counted, want 2", got)
		}
	})
}

func rawEqual(a, b json.RawMessage) bool { return string(a) == string(b) }

// listScan is what scanList learns from a list body.
type listScan struct {
	records  int
	dupID    string            // an id seen twice
	ids      map[uint64]int    // hashes of the records' ids
	samples  map[int][]byte    // whole records, by position
	envelope page              // the envelope, with data emptied
	tail     map[string]string // raw envelope fields
	bytes    int64
}

// scanList reads a list body as a stream and counts the records of its
// data array. It is a small JSON tokenizer (strings, escapes, nesting):
// encoding/json's Decoder checks more but under the race detector needs
// tens of seconds for 200 MB. It holds a hash per id and the sampled
// records, never the body.
func scanList(t testing.TB, r io.Reader, sample func(k int) bool) listScan {
	t.Helper()
	sc := listScan{ids: map[uint64]int{}, samples: map[int][]byte{}}
	var head, tail, id, rec []byte
	depth, phase, strs := 0, 0, 0 // phase: 0 head, 1 data, 2 tail
	inStr, esc, capID, sampling := false, false, false, false
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		sc.bytes += int64(n)
		for _, c := range buf[:n] {
			switch phase {
			case 0:
				head = append(head, c)
			case 2:
				tail = append(tail, c)
			}
			if sampling {
				rec = append(rec, c)
			}
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
					if capID {
						capID = false
						h := fnv.New64a()
						h.Write(id)
						if _, dup := sc.ids[h.Sum64()]; dup && sc.dupID == "" {
							sc.dupID = string(id)
						}
						sc.ids[h.Sum64()] = sc.records
					}
					continue
				}
				if capID {
					id = append(id, c)
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
				if phase == 1 && depth == 3 {
					if strs++; strs == 2 { // the value of a record's first key, "id"
						capID, id = true, id[:0]
					}
				}
			case '{', '[':
				depth++
				switch {
				case phase == 0 && c == '[' && depth == 2:
					phase, head = 1, head[:len(head)-1]
				case phase == 1 && depth == 3:
					if c != '{' {
						t.Fatalf("record %d is not an object", sc.records)
					}
					if sampling = sample(sc.records); sampling {
						rec = []byte{c}
					}
					sc.records++
					strs = 0
				}
			case '}', ']':
				depth--
				if phase == 1 && depth == 2 && sampling {
					sc.samples[sc.records-1], sampling = rec, false
				}
				if phase == 1 && depth == 1 {
					phase = 2
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading after %d bytes: %v", sc.bytes, err)
		}
	}
	if depth != 0 || inStr || phase != 2 {
		t.Fatalf("body ends inside a value (depth %d, phase %d)", depth, phase)
	}
	env := append(append(head, "[]"...), tail...)
	if err := json.Unmarshal(env, &sc.envelope); err != nil {
		t.Fatalf("envelope: %v: %s", err, env)
	}
	json.Unmarshal(env, &sc.tail) //nolint:errcheck // only strings are of interest
	return sc
}

// countWithDecoder counts the records of a list body with encoding/json's
// streaming Decoder, token by token, never holding more than one record.
func countWithDecoder(t testing.TB, r io.Reader) int {
	t.Helper()
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("start: %v %v", tok, err)
	}
	n := -1
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if key != "data" {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			t.Fatalf("data: %v %v", tok, err)
		}
		for n = 0; dec.More(); n++ {
			var rec json.RawMessage
			if err := dec.Decode(&rec); err != nil {
				t.Fatalf("record %d: %v", n, err)
			}
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			t.Fatalf("end of data: %v %v", tok, err)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		t.Fatalf("end: %v %v", tok, err)
	}
	return n
}

func TestOversizeFaultStreams300kRecords(t *testing.T) {
	for _, tt := range []struct{ name, path string }{
		{"audit logs", "/organization/audit_logs?limit=5"},
		{"request logs", "/organization_logs?limit=5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := sourcetest.NewClock(t0)
			opts := Options{Seed: 39, Events: 400, OrgLogEvents: 400, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now}
			_, clean := start(t, opts)
			code, _, b := get(t, clean, tt.path, nil)
			var normal page
			if code != 200 || json.Unmarshal(b, &normal) != nil || len(normal.Data) != 5 {
				t.Fatalf("normal page: %d %s", code, b)
			}
			opts.Faults = Faults{Rate: 1, Kinds: []FaultKind{FaultOversize}}
			s, base, done := startWatched(t, opts, 2)

			// The heap while the body streams: sampled, it must stay far
			// below the body's size.
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap0 := ms.HeapAlloc
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
				}
			}()
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.ContentLength != -1 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, length %d, type %q: want a streamed 200 application/json", resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type"))
			}
			sc := scanList(t, resp.Body, func(k int) bool { return k < 5 || k%10000 == 0 })
			resp.Body.Close()
			close(stop)
			<-sampled

			if sc.records != 300_000 {
				t.Fatalf("%d records, want 300,000", sc.records)
			}
			if sc.dupID != "" || len(sc.ids) != 300_000 {
				t.Fatalf("ids are not unique: %d distinct, %q twice", len(sc.ids), sc.dupID)
			}
			env := sc.envelope
			if env.Object != "list" || env.HasMore == nil || !*env.HasMore || env.FirstID == nil || env.LastID == nil || *env.FirstID != *normal.FirstID {
				t.Fatalf("envelope %+v", env)
			}
			if tt.name == "request logs" && (env.After == nil || *env.After != *env.LastID) {
				t.Fatalf("after %v, last_id %s", env.After, *env.LastID)
			}
			for k := range 5 { // the page itself comes first, byte for byte
				if string(sc.samples[k]) != string(normal.Data[k]) {
					t.Fatalf("record %d:\n%s\nwant\n%s", k, sc.samples[k], normal.Data[k])
				}
			}
			for k, rec := range sc.samples { // the copies look real
				var m map[string]any
				if err := json.Unmarshal(rec, &m); err != nil {
					t.Fatalf("record %d is not JSON: %v", k, err)
				}
				if tt.name == "audit logs" {
					e := decodeEvent(t, rec)
					if !strings.HasPrefix(e.ID, "audit_log-") || e.Type == "" || e.EffectiveAt == 0 || e.raw[e.Type] == nil {
						t.Fatalf("record %d: %s", k, rec)
					}
				} else if !strings.HasPrefix(m["id"].(string), "log_") || m["event"] == nil || m["created_at"] == nil {
					t.Fatalf("record %d: %s", k, rec)
				}
			}

			res := <-done
			if res.err != nil || res.records != 300_000 || res.bytes != sc.bytes || sc.bytes < 100<<20 {
				t.Fatalf("stream %+v, client read %d bytes", res, sc.bytes)
			}
			if res.maxWrite > streamChunk+16<<10 {
				t.Fatalf("a single write of %d bytes; the stream must write in bounded chunks", res.maxWrite)
			}
			if grew := int64(peak.Load()) - int64(heap0); grew > 64<<20 {
				t.Fatalf("the heap grew by %d MB while streaming a %d MB body", grew>>20, sc.bytes>>20)
			}
			if st := s.Stats(); st.Faults[FaultOversize] != 1 || st.Events+st.Logs != 0 || st.Pages != 0 {
				t.Fatalf("stats %+v", st)
			}

			if !raceEnabled { // encoding/json agrees, record by record
				resp, err := http.Get(base + tt.path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if n := countWithDecoder(t, resp.Body); n != 300_000 {
					t.Fatalf("encoding/json counts %d records", n)
				}
				<-done
			}
		})
	}
}

func TestOversizeStopsWhenTheClientHangsUp(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	_, base, done := startWatched(t, Options{Seed: 40, Events: 400, OrgLogEvents: 10, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now,
		Faults: Faults{Rate: 1, Kinds: []FaultKind{FaultOversize}}}, 1)
	for _, path := range []string{"/organization/audit_logs?limit=100", "/organization_logs"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.Header.Get("Date"), clk.Now().Format(http.TimeFormat); got != want {
			t.Fatalf("Date %q, want %q", got, want)
		}
		head := make([]byte, 4096)
		if _, err := io.ReadFull(resp.Body, head); err != nil || !strings.HasPrefix(string(head), `{"object":"list","data":[{"id":"`) {
			t.Fatalf("%v: %.60s", err, head)
		}
		begin := time.Now()
		resp.Body.Close() // hang up
		select {
		case res := <-done:
			if res.err == nil || res.records >= oversizeRecords || res.bytes > 32<<20 {
				t.Fatalf("%s: the stream went on after the client left: %+v", path, res)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the handler still writes %s after the client hung up", path, time.Since(begin))
		}
	}
	// A simulator without any record to copy answers normally.
	s2, base2 := start(t, Options{Seed: 41, Faults: Faults{Rate: 1, Kinds: []FaultKind{FaultOversize}}})
	if p := getPage(t, base2, "/organization/audit_logs", nil); len(p.Data) != 0 || s2.Stats().FaultCount() != 0 {
		t.Fatalf("%d records, %d faults from an empty organization", len(p.Data), s2.Stats().FaultCount())
	}
}

func TestEveryFaultKindIsInjectedOnTheLogLists(t *testing.T) {
	for _, kind := range AllFaultKinds {
		t.Run(string(kind), func(t *testing.T) {
			clk := sourcetest.NewClock(t0)
			s, base := start(t, Options{Seed: 42, Events: 100, OrgLogEvents: 100, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now,
				Faults: Faults{Rate: 1, Kinds: []FaultKind{kind}, SlowDelay: time.Millisecond, RetryAfter: time.Millisecond}})
			for _, path := range []string{"/organization/audit_logs", "/organization_logs"} {
				client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
				resp, err := client.Get(base + path)
				if err == nil {
					io.CopyN(io.Discard, resp.Body, 1<<20) //nolint:errcheck // a sip is enough
					resp.Body.Close()
				} else if kind != FaultReset {
					t.Fatalf("%s: %v", path, err)
				}
			}
			if got := s.Stats().Faults[kind]; got != 2 {
				t.Fatalf("%d %s faults counted, want 2", got, kind)
			}
		})
	}
}

func TestDateHeaderIsTheSimulatedClock(t *testing.T) {
	far := time.Date(2041, 7, 9, 3, 4, 5, 0, time.UTC)
	clk := sourcetest.NewClock(far)
	const key = "sk-admin-date-test"
	_, base := start(t, Options{Seed: 43, Events: 50, OrgLogEvents: 50, Span: time.Hour, Start: far.Add(-time.Hour), Now: clk.Now, APIKey: key,
		Latency: Latency{Median: time.Millisecond}})
	root := strings.TrimSuffix(base, "/v1")
	auth := []string{"Authorization", "Bearer " + key}
	for _, step := range []time.Duration{0, 36*time.Hour + 17*time.Second} {
		clk.Add(step)
		want := clk.Now().Format(http.TimeFormat)
		for _, tt := range []struct {
			url  string
			hdr  []string
			code int
		}{
			{base + "/organization/audit_logs", auth, 200},
			{base + "/organization_logs?limit=3", auth, 200},
			{base + "/organization/users", nil, 401},
			{base + "/organization/nothing", auth, 404},
			{base + "/organization/audit_logs?limit=500", auth, 400},
			{root + "/_sim/stats", nil, 200},
		} {
			code, h, _ := get(t, tt.url, "", nil, tt.hdr...)
			if code != tt.code || h.Get("Date") != want {
				t.Fatalf("%s: %d Date %q, want %d %q", tt.url, code, h.Get("Date"), tt.code, want)
			}
			if d, err := http.ParseTime(h.Get("Date")); err != nil || time.Since(d) > -365*24*time.Hour {
				t.Fatalf("Date %q is not the far-off simulated clock", h.Get("Date"))
			}
		}
	}
	// Refusals of the rate limit and injected faults carry it too.
	_, limited := start(t, Options{Seed: 44, Now: clk.Now, RateLimit: 0.01})
	get(t, limited, "/organization/users", nil)
	if code, h, _ := get(t, limited, "/organization/users", nil); code != 429 || h.Get("Date") != clk.Now().Format(http.TimeFormat) {
		t.Fatalf("rate limited: %d Date %q", code, h.Get("Date"))
	}
	_, faulty := start(t, Options{Seed: 45, Now: clk.Now, Faults: Faults{Rate: 1, Kinds: []FaultKind{Fault503}}})
	if code, h, _ := get(t, faulty, "/organization/users", nil); code != 503 || h.Get("Date") != clk.Now().Format(http.TimeFormat) {
		t.Fatalf("fault: %d Date %q", code, h.Get("Date"))
	}
}

func TestStatsEndpoint(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	const key = "sk-admin-stats-test"
	s, base := start(t, Options{Seed: 46, Events: 60, OrgLogEvents: 30, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now, APIKey: key,
		RateLimit: 1000, Faults: Faults{Rate: 0.3, Kinds: []FaultKind{Fault500}}})
	root := strings.TrimSuffix(base, "/v1")
	auth := []string{"Authorization", "Bearer " + key}
	for range 10 {
		get(t, base, "/organization/audit_logs", nil, auth...)
	}
	get(t, base, "/organization/audit_logs", nil) // 401
	get(t, base, "/organization_logs", nil, auth...)
	get(t, base, "/organization/projects/proj_x/api_keys", nil, auth...)
	get(t, base, "/organization/nowhere", nil, auth...)
	get(t, root, "/elsewhere", nil, auth...)

	code, h, b := get(t, root, "/_sim/stats", nil) // no key: the harness is not a client
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q: %s", code, h.Get("Content-Type"), b)
	}
	var got Stats
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := s.Stats()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("served %+v\nStats() %+v", got, want)
	}
	wantPaths := map[string]int64{"/v1/organization/audit_logs": 11, "/v1/organization_logs": 1, "/v1/organization/projects/{project_id}/api_keys": 1, "other": 2}
	if got.Requests != 15 || !reflect.DeepEqual(got.Paths, wantPaths) || got.Unauthorized != 1 || got.Faults[Fault500] == 0 || got.Pages == 0 || got.Events == 0 {
		t.Fatalf("stats %s", b)
	}
	for _, k := range []string{`"requests":15`, `"faults":{"500":`, `"rate_limited":0`, `"pages":`, `"events":`, `"logs":`, `"paths":{`} {
		if !strings.Contains(string(b), k) {
			t.Fatalf("stats JSON lacks %s: %s", k, b)
		}
	}
	// The endpoint bypasses faults, and it is not counted.
	s.SetFaults(Faults{Rate: 1, Kinds: []FaultKind{FaultReset}})
	for range 3 {
		if code, _, _ := get(t, root, "/_sim/stats", nil); code != 200 {
			t.Fatalf("stats answered %d under faults", code)
		}
	}
	if s.Stats().Requests != 15 {
		t.Fatal("stats requests are counted as API requests")
	}
	req, _ := http.NewRequest(http.MethodPost, root+"/_sim/stats", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

func TestParseLatency(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Latency
		p99  time.Duration
	}{
		{"250ms", Latency{Median: 250 * time.Millisecond}, time.Second},
		{"250ms,p99=2s", Latency{Median: 250 * time.Millisecond, P99: 2 * time.Second}, 2 * time.Second},
		{" 1s , p99=1s ", Latency{Median: time.Second, P99: time.Second}, time.Second},
		{"0", Latency{}, 0},
	} {
		got, err := ParseLatency(tt.in)
		if err != nil || got != tt.want || simkit.Latency(got).P99OrDefault() != tt.p99 {
			t.Errorf("ParseLatency(%q) = %+v (p99 %s), %v; want %+v (p99 %s)", tt.in, got, simkit.Latency(got).P99OrDefault(), err, tt.want, tt.p99)
		}
		if again, err := ParseLatency(got.String()); err != nil || again.Median != got.Median || simkit.Latency(again).P99OrDefault() != simkit.Latency(got).P99OrDefault() {
			t.Errorf("String %q does not parse back: %+v %v", got.String(), again, err)
		}
	}
	for _, tt := range []struct{ in, msg string }{
		{"", "want a median duration"},
		{"fast", `median "fast" is not a duration`},
		{"250", `median "250" is not a duration`},
		{"-5ms", "must be >= 0"},
		{"250ms,p99=100ms", "p99 100ms is below the median 250ms"},
		{"250ms,p95=1s", `unknown part "p95=1s"`},
		{"250ms,p99=soon", `p99 "soon" is not a duration`},
		{"0,p99=1s", "without a median"},
	} {
		_, err := ParseLatency(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), strconv.Quote(tt.in)) {
			t.Errorf("ParseLatency(%q): %v, want an error naming the input and saying %q", tt.in, err, tt.msg)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	for _, tt := range []struct {
		in    string
		rate  float64
		steps []RateStep
	}{
		{"20", 20, nil},
		{"0", 0, nil},
		{"0.5", 0.5, nil},
		{"20,10@10s,20@20s", 20, []RateStep{{10 * time.Second, 10}, {20 * time.Second, 20}}},
		{" 5 , 0@1m ", 5, []RateStep{{time.Minute, 0}}},
	} {
		rate, steps, err := ParseRateLimit(tt.in)
		if err != nil || rate != tt.rate || !slices.Equal(steps, tt.steps) {
			t.Errorf("ParseRateLimit(%q) = %v %v %v, want %v %v", tt.in, rate, steps, err, tt.rate, tt.steps)
		}
	}
	for _, tt := range []struct{ in, msg string }{
		{"", "is not a rate"},
		{"fast", `"fast" is not a rate`},
		{"-1", `"-1" is not a rate`},
		{"inf", "is not a rate"},
		{"NaN", "is not a rate"},
		{"10@5s", "the first value is the rate from the start"},
		{"20,10", `step "10": want RATE@DURATION`},
		{"20,10@soon", `"soon" is not a duration`},
		{"20,x@5s", `"x" is not a rate`},
		{"20,10@20s,5@10s", "step 2: 10s is not after the previous step's 20s"},
		{"20,10@-5s", "step 1: its time must be >= 0"},
	} {
		_, _, err := ParseRateLimit(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), strconv.Quote(tt.in)) {
			t.Errorf("ParseRateLimit(%q): %v, want an error naming the input and saying %q", tt.in, err, tt.msg)
		}
	}
	bad := Options{Latency: Latency{Median: time.Second, P99: time.Millisecond}, RateLimit: -1, RateSchedule: []RateStep{{At: time.Second, Rate: 1}, {At: time.Second, Rate: 2}}}
	err := bad.Validate()
	for _, want := range []string{"latency: p99", "rate_limit: the rate", "rate_limit: step 2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate: %v, want mention of %s", err, want)
		}
	}
}
