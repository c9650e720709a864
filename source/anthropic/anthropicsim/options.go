package anthropicsim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The constants of the API that clients need too.
const (
	// ScopeActivities is the scope a key needs to list activities.
	ScopeActivities = "read:compliance_activities"
	// Version is the only anthropic-version the simulator accepts.
	Version = "2023-06-01"
	// DefaultRequestsPerMinute is the documented budget of a parent
	// organization.
	DefaultRequestsPerMinute = 600
	// MaxLimit is the largest page a request may ask for.
	MaxLimit = 5000
)

// Options configure a simulated parent organization: its child
// organizations, people and keys, the activities they leave, and the way
// the API answers. The zero value is valid: no activities yet, three
// organizations, twenty users, any key accepted, 600 requests a minute.
type Options struct {
	// Seed makes everything deterministic: the same Seed and Options give
	// the same ids, activities, bytes and fault sequence.
	Seed int64

	// Activities is the number of historical activities, spread with a
	// seeded, smooth variation of density (busy and quiet periods) over
	// [Start, Start+Span); several may share one second.
	Activities int
	// Span is the period the historical activities cover.
	Span time.Duration
	// Start is the instant of the oldest activity. Default: Now() - Span
	// at New.
	Start time.Time
	// Rate is the number of new activities per second after Start+Span (a
	// steady tail; 0 = none): as the clock advances, activities keep
	// appearing.
	Rate float64

	// LateFraction (0..1) of the activities become visible only some time
	// after their created_at, up to MaxLate (each its own delay): a reader
	// then finds them behind newer ones it has already read. The API says
	// activities are queryable within about a minute.
	LateFraction float64
	// MaxLate bounds the delay of a late activity. Default 1 minute.
	MaxLate time.Duration

	// Organizations is the number of child organizations of the parent
	// (default 3); Users the number of people (default 20).
	Organizations, Users int

	// Keys are the keys that authenticate (x-api-key), every one of the
	// parent organization. Empty: any non-empty key is accepted, with the
	// activities scope.
	Keys []Key

	// RequestsPerMinute is the parent organization's budget, shared by
	// every key and every /v1/compliance/ path (a token bucket holding a
	// minute's worth, refilled continuously). 0 means
	// DefaultRequestsPerMinute; a negative value means no limit. It runs on
	// the wall clock (time.Now, a synctest bubble's clock in a test), never
	// on Now: it paces real requests, while Now may be moved by hand.
	RequestsPerMinute int

	// Now is the clock of the activities: an activity exists once its
	// instant is not after Now(), is visible once its delay (if late) has
	// passed too, and the Date header reports it. Default time.Now.
	Now func() time.Time

	// Latency delays every answer by a log-normal draw; the zero value
	// answers at once. It waits on the real clock (or on a synctest
	// bubble's), whatever Now says.
	Latency Latency

	// Faults injected into answers; see Faults and SetFaults.
	Faults Faults
}

// Key is an API key of the parent organization.
type Key struct {
	// Secret is what a client sends as x-api-key (a Compliance Access Key
	// sk-ant-api01-..., or an Admin key sk-ant-admin01-...).
	Secret string
	// Scopes the key holds. nil means ScopeActivities alone; a key without
	// ScopeActivities is refused 403 (an ordinary Claude API key, or one
	// made for other compliance data).
	Scopes []string
}

func (k Key) scopes() []string {
	if k.Scopes == nil {
		return []string{ScopeActivities}
	}
	return k.Scopes
}

// Latency is the distribution of the time an answer takes: log-normal,
// fixed by its median (0 disables it) and its 99th percentile (0 means 4
// times the median), as every simulator of the project draws it.
type Latency = simkit.Latency

// Faults are injected into answers. Whether a request is faulted, and how,
// is drawn from a seeded sequence, one draw per request that gets past
// authentication, the budget and the header checks, in arrival order: one
// client sees a deterministic sequence.
type Faults struct {
	// Rate is the probability (0..1) that such a request is faulted.
	Rate float64
	// Kinds to choose from, uniformly. Empty means all kinds. A kind drawn
	// for a request it does not apply to (FaultRepeat on a first page)
	// leaves the answer alone and is not counted.
	Kinds []FaultKind
	// SlowDelay is how long FaultSlow and Fault504 hold the answer.
	// Default 2s.
	SlowDelay time.Duration
}

// FaultKind names one kind of injected fault.
type FaultKind string

// The fault kinds.
const (
	// Fault500 is an internal error that must not be retried: the API
	// sends x-should-retry: false with it.
	Fault500 FaultKind = "500"
	// Fault502 is a bad gateway, an HTML body from the edge proxy.
	Fault502 FaultKind = "502"
	// Fault503 is a JSON api_error: the service is unavailable.
	Fault503 FaultKind = "503"
	// Fault504 is a gateway timeout, an HTML body after SlowDelay.
	Fault504 FaultKind = "504"
	// Fault529 is Anthropic's overloaded_error.
	Fault529 FaultKind = "529"
	// FaultSlow is a correct answer, SlowDelay late.
	FaultSlow FaultKind = "slow"
	// FaultReset closes the connection without an answer.
	FaultReset FaultKind = "reset"
	// FaultTruncated is a 200 whose JSON body is cut in half.
	FaultTruncated FaultKind = "truncated"
	// FaultRepeat answers a page that has a cursor (after_id or
	// before_id) with the cursor's own activity first, the page one
	// shorter: delivery is at least once, and a reader must drop the
	// activity it already has by id.
	FaultRepeat FaultKind = "repeat"
)

// AllFaultKinds lists every fault kind, in a fixed order.
var AllFaultKinds = []FaultKind{Fault500, Fault502, Fault503, Fault504, Fault529, FaultSlow, FaultReset, FaultTruncated, FaultRepeat}

func (f Faults) withDefaults() Faults {
	f.Kinds = simkit.KindsOrAll(f.Kinds, AllFaultKinds)
	if f.SlowDelay <= 0 {
		f.SlowDelay = 2 * time.Second
	}
	return f
}

func (f Faults) validate() error {
	var errs []error
	if !(f.Rate >= 0 && f.Rate <= 1) {
		errs = append(errs, fmt.Errorf("faults: rate %v is not in 0..1", f.Rate))
	}
	for _, k := range f.Kinds {
		if !slices.Contains(AllFaultKinds, k) {
			errs = append(errs, fmt.Errorf("faults: unknown kind %q (want one of %v)", k, AllFaultKinds))
		}
	}
	if f.SlowDelay < 0 {
		errs = append(errs, fmt.Errorf("faults: slow_delay %s is negative", f.SlowDelay))
	}
	return errors.Join(errs...)
}

// Validate reports every invalid option, each naming its field.
func (o Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("anthropicsim: "+format, args...))
	}
	if o.Activities < 0 {
		add("activities %d is negative", o.Activities)
	}
	if o.Span < 0 {
		add("span %s is negative", o.Span)
	}
	if !(o.Rate >= 0) || math.IsInf(o.Rate, 0) {
		add("rate %v is not a finite number >= 0", o.Rate)
	}
	if !(o.LateFraction >= 0 && o.LateFraction <= 1) {
		add("late_fraction %v is not in 0..1", o.LateFraction)
	}
	if o.MaxLate < 0 {
		add("max_late %s is negative", o.MaxLate)
	}
	if o.Organizations < 0 || o.Users < 0 {
		add("organizations %d and users %d must be >= 0", o.Organizations, o.Users)
	}
	// Instants are Unix nanoseconds, which end in 2262.
	if y := o.Start.Year(); !o.Start.IsZero() && (y < 1970 || y > 2200) {
		add("start %s is not between the years 1970 and 2200", o.Start.Format(time.RFC3339))
	}
	seen := map[string]bool{}
	for i, k := range o.Keys {
		switch {
		case k.Secret == "":
			add("keys[%d]: the secret is empty", i)
		case seen[k.Secret]:
			add("keys[%d]: the secret is listed twice", i)
		}
		seen[k.Secret] = true
	}
	if p := o.Latency.Problem(); p != "" {
		add("latency: %s", p)
	}
	if err := o.Faults.validate(); err != nil {
		add("%w", err)
	}
	return errors.Join(errs...)
}
