package openaisim

import (
	"errors"
	"fmt"
	"strings"
	"time"
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
)

// AllFaultKinds lists every fault kind, in a fixed order.
var AllFaultKinds = []FaultKind{Fault429, Fault500, Fault503, FaultSlow, FaultReset, FaultTruncated, FaultGarbled, FaultEnvelope}

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
	if len(f.Kinds) == 0 {
		f.Kinds = AllFaultKinds
	} else {
		f.Kinds = append([]FaultKind(nil), f.Kinds...)
	}
	return f
}
