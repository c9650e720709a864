package openaisim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// Options configure a simulated organization. The zero value is a valid,
// empty organization (no events, default directory, no faults).
type Options struct {
	// Seed makes everything deterministic: the same Seed and Options give the
	// same events, ids, payloads, directory and fault sequence.
	Seed int64

	// Events is the number of historical audit events. They are spread
	// evenly-ish (with a seeded, smooth variation of density) over
	// [Start, Start+Span); several may share one second.
	Events int
	// Span is the period the historical events cover.
	Span time.Duration
	// Start is the instant of the oldest event. Default: Now() - Span at New.
	Start time.Time

	// Rate is the number of new audit events per second after Start+Span (a
	// steady tail; 0 = none). Event i >= Events has its instant at
	// Start + Span + (i-Events)/Rate seconds. The same tail applies to
	// request logs when OrgLogRate is set.
	Rate float64

	// LateFraction (0..1) of events become visible only LateDelay after their
	// instant; the others are visible at their instant.
	LateFraction float64
	// LateDelay is how late the late events are.
	LateDelay time.Duration

	// Faults injected into responses; see Faults and SetFaults.
	Faults Faults

	// APIKey, when set, must be sent as "Authorization: Bearer <APIKey>";
	// otherwise every request is answered 401 with OpenAI's error body.
	APIKey string

	// Now is the clock. Default time.Now. An event is visible iff its
	// visible_at is not after Now().
	Now func() time.Time

	// OrgLogEvents is the number of historical request-log records served
	// under /v1/organization_logs, spread over [Start, Start+Span) like the
	// audit events. 0 = none.
	OrgLogEvents int
	// OrgLogRate is the number of new request-log records per second after
	// Start+Span (0 = none).
	OrgLogRate float64

	// Users and Projects size the directory. Defaults: 25 users, 8 projects.
	// Every project has 2-5 API keys and 0-2 service accounts.
	Users, Projects int

	// Latency delays every API answer, so that a client meets the waiting,
	// the timeouts and the concurrency it would meet against the real
	// service. The zero value answers at once.
	Latency Latency

	// RateLimit is the number of requests per second allowed per API key
	// (bearer token), enforced with a token bucket holding one second's
	// worth of requests (at least 1); 0 = unlimited. A request over the limit
	// is answered 429 with OpenAI's rate_limit_exceeded body and, four times
	// in five, a Retry-After in whole seconds until a request would be
	// accepted: real APIs do not always send it, and a client must then
	// pick its own backoff. Requests refused 401 spend nothing. Rate-limited
	// requests are counted in Stats.RateLimited, apart from injected 429
	// faults. The limit runs on the wall clock (time.Now), never on Now: it
	// paces real requests, while Now may be moved by hand to simulate days.
	RateLimit float64
	// RateSchedule changes the rate limit during a run, so that a client can
	// be seen adapting to a limit that tightens and relaxes: from each step's
	// At on, the limit is its Rate (0 = unlimited). Steps must be in
	// increasing At order.
	RateSchedule []RateStep
}

// Latency is the distribution of the time the simulated API takes to
// answer. Response times of real services are skewed: most answers come
// near a typical time and a few take many times longer, which is what
// makes timeouts and retries fire. The delay is drawn from a log-normal
// distribution fixed by its median and its 99th percentile, the two
// numbers a latency dashboard shows. Draws come from the seeded sequence of
// Options.Seed, so a run is reproducible in distribution (concurrent
// requests may take the draws in a different order). The draw and its
// checks are simkit.Latency's, as in every simulator of the project; this
// type adds the command-line form.
type Latency struct {
	// Median is the typical delay; 0 disables latency.
	Median time.Duration
	// P99 is the 99th percentile; 0 means 4*Median. It must not be below
	// Median (equal gives a constant delay).
	P99 time.Duration
}

// Validate reports invalid latency settings.
func (l Latency) Validate() error {
	if p := l.problem(); p != "" {
		return errors.New("openaisim: latency: " + p)
	}
	return nil
}

func (l Latency) problem() string { return simkit.Latency(l).Problem() }

// String gives the command-line form ParseLatency reads.
func (l Latency) String() string {
	if l.Median == 0 {
		return "0"
	}
	return l.Median.String() + ",p99=" + simkit.Latency(l).P99OrDefault().String()
}

// ParseLatency parses the command-line form of a Latency: "250ms" (the
// p99 then defaults to 4x the median), "250ms,p99=2s", or "0" for none.
func ParseLatency(s string) (Latency, error) {
	var l Latency
	parts := strings.Split(strings.TrimSpace(s), ",")
	med := strings.TrimSpace(parts[0])
	if med == "" {
		return Latency{}, fmt.Errorf("openaisim: latency %q: want a median duration such as 250ms, optionally followed by ,p99=DURATION", s)
	}
	d, err := time.ParseDuration(med)
	if med == "0" {
		d, err = 0, nil
	}
	if err != nil {
		return Latency{}, fmt.Errorf("openaisim: latency %q: median %q is not a duration (e.g. 250ms)", s, med)
	}
	l.Median = d
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		v, ok := strings.CutPrefix(p, "p99=")
		if !ok {
			return Latency{}, fmt.Errorf("openaisim: latency %q: unknown part %q (want p99=DURATION)", s, p)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return Latency{}, fmt.Errorf("openaisim: latency %q: p99 %q is not a duration (e.g. 2s)", s, v)
		}
		l.P99 = d
	}
	if p := l.problem(); p != "" {
		return Latency{}, fmt.Errorf("openaisim: latency %q: %s", s, p)
	}
	return l, nil
}

// RateStep sets the rate limit from At, a duration since the server
// started (its first Start, or New when it is served through Handler), on.
type RateStep struct {
	At   time.Duration
	Rate float64 // requests per second per API key; 0 = unlimited
}

// ParseRateLimit parses the command-line form of a rate limit and its
// schedule: "20" (20 requests per second), or "20,10@10s,20@20s" (20, then
// 10 from 10 s after the start, then 20 again from 20 s). "0" means
// unlimited, also as a step.
func ParseRateLimit(s string) (rate float64, schedule []RateStep, err error) {
	parts := strings.Split(strings.TrimSpace(s), ",")
	parseRate := func(v string) (float64, error) {
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			return 0, fmt.Errorf("openaisim: rate limit %q: %q is not a rate (requests per second, a number >= 0)", s, v)
		}
		return r, nil
	}
	if strings.Contains(parts[0], "@") {
		return 0, nil, fmt.Errorf("openaisim: rate limit %q: the first value is the rate from the start, without @ (e.g. 20,10@10s)", s)
	}
	if rate, err = parseRate(parts[0]); err != nil {
		return 0, nil, err
	}
	for _, p := range parts[1:] {
		rs, at, ok := strings.Cut(strings.TrimSpace(p), "@")
		if !ok {
			return 0, nil, fmt.Errorf("openaisim: rate limit %q: step %q: want RATE@DURATION (e.g. 10@30s)", s, p)
		}
		r, err := parseRate(rs)
		if err != nil {
			return 0, nil, err
		}
		d, err := time.ParseDuration(strings.TrimSpace(at))
		if err != nil {
			return 0, nil, fmt.Errorf("openaisim: rate limit %q: step %q: %q is not a duration (e.g. 30s)", s, p, at)
		}
		schedule = append(schedule, RateStep{At: d, Rate: r})
	}
	if ps := rateProblems(rate, schedule); len(ps) > 0 {
		return 0, nil, fmt.Errorf("openaisim: rate limit %q: %s", s, strings.Join(ps, "; "))
	}
	return rate, schedule, nil
}

func validateRate(rate float64, schedule []RateStep) error {
	var errs []error
	for _, p := range rateProblems(rate, schedule) {
		errs = append(errs, errors.New("openaisim: rate_limit: "+p))
	}
	return errors.Join(errs...)
}

func rateProblems(rate float64, schedule []RateStep) []string {
	var out []string
	if !(rate >= 0) || math.IsInf(rate, 0) {
		out = append(out, fmt.Sprintf("the rate must be a finite number >= 0, got %v", rate))
	}
	for i, st := range schedule {
		if !(st.Rate >= 0) || math.IsInf(st.Rate, 0) {
			out = append(out, fmt.Sprintf("step %d: the rate must be a finite number >= 0, got %v", i+1, st.Rate))
		}
		if st.At < 0 {
			out = append(out, fmt.Sprintf("step %d: its time must be >= 0, got %s", i+1, st.At))
		}
		if i > 0 && st.At <= schedule[i-1].At {
			out = append(out, fmt.Sprintf("step %d: %s is not after the previous step's %s (steps go in time order)", i+1, st.At, schedule[i-1].At))
		}
	}
	return out
}

// Faults describe the faults injected into responses. Whether a request is
// faulted, and how, is drawn from a seeded sequence (one draw per request in
// arrival order), so a single client sees a deterministic sequence.
type Faults struct {
	// Rate is the probability (0..1) that a request is faulted.
	Rate float64
	// Kinds to choose from, uniformly. Empty means all kinds.
	Kinds []FaultKind
	// RetryAfter is the delay announced by 429 responses. Default 1s. It is
	// sent as Retry-After in seconds, sometimes as an HTTP date instead, and
	// sometimes with Retry-After-Ms as well.
	RetryAfter time.Duration
	// SlowDelay is how long a "slow" response is held back. Default 1s.
	SlowDelay time.Duration
}

// FaultKind names one kind of injected fault.
type FaultKind string

// The fault kinds.
const (
	Fault429       FaultKind = "429"       // rate limited, with Retry-After
	Fault500       FaultKind = "500"       // internal server error
	Fault503       FaultKind = "503"       // overloaded
	FaultSlow      FaultKind = "slow"      // a correct answer, SlowDelay late
	FaultReset     FaultKind = "reset"     // the connection is closed without a response
	FaultTruncated FaultKind = "truncated" // 200, the JSON body cut in half
	FaultGarbled   FaultKind = "garbled"   // 200, application/json, random bytes
	FaultEnvelope  FaultKind = "envelope"  // 200, valid JSON, broken list envelope

	// FaultLoop answers a list request with the first page of its query,
	// ignoring after, and has_more true (data [] if that page is empty): a
	// client that trusts the cursor fetches the same page forever. It
	// tests that a reader notices a cursor that does not advance.
	FaultLoop FaultKind = "loop"
	// FaultOversize answers a list request with 300,000 records whatever
	// the limit, in a valid envelope with has_more true (the page's
	// records, then copies of them under new ids). The body, some 200 MB,
	// is streamed as it is generated and abandoned when the client hangs
	// up. It tests that a reader bounds what it reads.
	FaultOversize FaultKind = "oversize"
)

// AllFaultKinds lists every fault kind, in a fixed order.
//
// loop and oversize only make sense on the audit-log and request-log
// lists; drawn for any other answer (a directory list, one request log, an
// error), they leave it untouched and are not counted in Stats.Faults.
var AllFaultKinds = []FaultKind{Fault429, Fault500, Fault503, FaultSlow, FaultReset, FaultTruncated, FaultGarbled, FaultEnvelope, FaultLoop, FaultOversize}

func (k FaultKind) index() int {
	for i, v := range AllFaultKinds {
		if v == k {
			return i
		}
	}
	return -1
}

// ParseFaultKinds parses a comma separated list of fault kinds, as given on
// a command line ("429,reset,truncated"). "all" or an empty string means all
// kinds (returned as nil, which Faults treats as all).
func ParseFaultKinds(s string) ([]FaultKind, error) {
	var out []FaultKind
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if part == "all" {
			return nil, nil
		}
		k := FaultKind(part)
		if k.index() < 0 {
			return nil, fmt.Errorf("openaisim: unknown fault kind %q (want one of %s)", part, kindList())
		}
		out = append(out, k)
	}
	return out, nil
}

func kindList() string {
	s := make([]string, len(AllFaultKinds))
	for i, k := range AllFaultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Validate reports every invalid field, joined.
func (o Options) Validate() error {
	var errs []error
	if o.Events < 0 {
		errs = append(errs, fmt.Errorf("openaisim: events: must be >= 0, got %d", o.Events))
	}
	if o.OrgLogEvents < 0 {
		errs = append(errs, fmt.Errorf("openaisim: org_log_events: must be >= 0, got %d", o.OrgLogEvents))
	}
	if o.Span < 0 {
		errs = append(errs, fmt.Errorf("openaisim: span: must be >= 0, got %s", o.Span))
	}
	if o.Rate < 0 || o.Rate != o.Rate {
		errs = append(errs, fmt.Errorf("openaisim: rate: must be >= 0, got %v", o.Rate))
	}
	if o.OrgLogRate < 0 || o.OrgLogRate != o.OrgLogRate {
		errs = append(errs, fmt.Errorf("openaisim: org_log_rate: must be >= 0, got %v", o.OrgLogRate))
	}
	if !(o.LateFraction >= 0 && o.LateFraction <= 1) {
		errs = append(errs, fmt.Errorf("openaisim: late_fraction: must be in [0,1], got %v", o.LateFraction))
	}
	if o.LateDelay < 0 {
		errs = append(errs, fmt.Errorf("openaisim: late_delay: must be >= 0, got %s", o.LateDelay))
	}
	if o.Users < 0 || o.Projects < 0 {
		errs = append(errs, fmt.Errorf("openaisim: users/projects: must be >= 0, got %d/%d", o.Users, o.Projects))
	}
	if err := o.Faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Latency.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := validateRate(o.RateLimit, o.RateSchedule); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate reports invalid fault settings.
func (f Faults) Validate() error {
	var errs []error
	if !(f.Rate >= 0 && f.Rate <= 1) {
		errs = append(errs, fmt.Errorf("openaisim: faults.rate: must be in [0,1], got %v", f.Rate))
	}
	for _, k := range f.Kinds {
		if k.index() < 0 {
			errs = append(errs, fmt.Errorf("openaisim: faults.kinds: unknown kind %q (want one of %s)", k, kindList()))
		}
	}
	if f.RetryAfter < 0 || f.SlowDelay < 0 {
		errs = append(errs, fmt.Errorf("openaisim: faults: retry_after and slow_delay must be >= 0"))
	}
	return errors.Join(errs...)
}

func (f Faults) withDefaults() Faults {
	if f.RetryAfter == 0 {
		f.RetryAfter = time.Second
	}
	if f.SlowDelay == 0 {
		f.SlowDelay = time.Second
	}
	f.Kinds = simkit.KindsOrAll(f.Kinds, AllFaultKinds)
	return f
}
