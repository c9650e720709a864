package chatgptsim

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// Options configure a simulated workspace. The zero value is valid: every
// known event type, a file per type every 10 minutes over the last 24
// hours, no faults, any bearer key accepted.
type Options struct {
	// Seed makes everything deterministic: the same Seed and Options give
	// the same ids, files, records, bytes and fault sequence.
	Seed int64

	// APIKey, when set, must be sent as "Authorization: Bearer <APIKey>" to
	// the API; a request without it or with another key is answered 401.
	// When empty, any bearer key is accepted (but one is still required).
	APIKey string
	// UnscopedKeys are keys that authenticate but lack the scope
	// chatgpt.enterprise.compliance_export.read: answered 403.
	UnscopedKeys []string

	// WorkspaceID (a UUID) and OrgID ("org-...") are the two ids the list
	// and download paths accept; both list the same files. Defaults are
	// derived from Seed.
	WorkspaceID, OrgID string

	// Types are the event types that have files, in the order Truth and
	// AllFiles report them. Default: the eight types with known shapes
	// (KnownTypes). A type the simulator has no shape for (say
	// "FUTURE_LOG") gets records of an unknown shape, with an unknown
	// actor kind now and then: a reader must pass them through.
	Types []string

	// Start is where the export begins: file k of a type covers
	// [end-Interval, end) with end = Start + phase + (k+1)*Interval, phase
	// being a per-type offset below Interval (whole seconds), so types do
	// not all end on the same second. Default: Now() at New, minus 24 h,
	// truncated to Interval.
	Start time.Time
	// Interval is the span a file covers, whole seconds. Default 10 min.
	Interval time.Duration
	// SharedEnd (0..1) is the fraction of slots that hold two files with
	// the same end_time instead of one: a collector that treats after as
	// exclusive, or remembers only the last file id, loses one of them.
	SharedEnd float64

	// Lines is the typical number of lines of a file; each file has
	// between Lines/2 and 3*Lines/2 of its own (at least 1). Default 20.
	Lines int
	// BigFiles override the line count of chosen files, to exercise
	// streaming: such files are rendered as they are sent, never held.
	BigFiles []BigFile
	// DuplicateFraction (0..1) of files start with copies of the last 1 to
	// 3 lines of the previous file of their type (same bytes, same
	// event_id), as an at-least-once export does.
	DuplicateFraction float64

	// OmitFileDetails leaves file_name, file_size and file_sha256 out of the
	// listing: only one mock shows them, so a collector must not need them.
	OmitFileDetails bool

	// URLTTL is how long a signed download URL stays valid, on the
	// simulated clock. Default 5 min.
	URLTTL time.Duration

	// Now is the clock: a file is listed once its end_time is not after
	// Now(), signed URLs expire by it, and the Date header reports it.
	// Default time.Now. Advancing it makes new files appear.
	Now func() time.Time

	// Latency delays every answer of both hosts by a log-normal draw; the
	// zero value answers at once. It waits on the real clock (or on a
	// synctest bubble's), whatever Now says.
	Latency Latency

	// Faults injected into answers; see Faults and SetFaults.
	Faults Faults
}

// BigFile gives one file a chosen number of lines of its own: file Index
// (0 = the first, counted in listing order) of event type Type.
type BigFile struct {
	Type  string
	Index int
	Lines int
}

// KnownTypes are the event types the simulator renders with the shapes of
// the API notes, in the order collectors list them.
var KnownTypes = []string{
	"CONVERSATION_MESSAGE", "AUDIT_LOG", "AUTH_LOG", "APP_LOG", "APP_AUTH_LOG",
	"CODEX_LOG", "CODEX_SECURITY_LOG", "CUSTOM_AGENTS_LOG",
}

// Latency is the distribution of the time an answer takes: log-normal,
// fixed by its median (0 disables it) and its 99th percentile (0 means 4
// times the median), as every simulator of the project draws it.
type Latency = simkit.Latency

// Faults are injected into answers. Whether a request is faulted, and how,
// is drawn from a seeded sequence, one draw per request in arrival order,
// so one client sees a deterministic sequence.
type Faults struct {
	// Rate is the probability (0..1) that a request is faulted.
	Rate float64
	// Kinds to choose from, uniformly. Empty means all kinds. A kind drawn
	// for a request it does not apply to (a digest mismatch on a listing)
	// leaves that answer alone and is not counted.
	Kinds []FaultKind
	// RetryAfter is what Fault429 announces, in whole seconds rounded up.
	// Default 1s.
	RetryAfter time.Duration
	// SlowDelay is how late FaultSlow answers. Default 2s.
	SlowDelay time.Duration
}

// FaultKind names one kind of injected fault.
type FaultKind string

// The fault kinds. The first six apply to every request of both hosts.
const (
	Fault429     FaultKind = "429"      // rate limited, with Retry-After
	Fault429Bare FaultKind = "429-bare" // rate limited, no Retry-After: the client picks its backoff
	Fault500     FaultKind = "500"      // internal server error, JSON body
	Fault502     FaultKind = "502"      // bad gateway, an HTML body from a proxy
	Fault503     FaultKind = "503"      // unavailable, JSON body and Retry-After
	FaultSlow    FaultKind = "slow"     // a correct answer, SlowDelay late

	// FaultMultiDoc (list only) answers the page as two JSON documents
	// separated by a newline, as one collector reports: the first holds
	// the first half of data with has_more true and its own
	// last_end_time, the second the rest with the page's real has_more
	// and last_end_time. Reading both and taking the last document's
	// cursor gives the page.
	FaultMultiDoc FaultKind = "multidoc"

	// FaultDigest (download only) serves the file with one byte changed,
	// same length and still valid JSON (a hex digit of one event_id): only
	// a client that checks file_sha256 notices.
	FaultDigest FaultKind = "digest"
	// FaultTruncate (download only) announces the full Content-Length,
	// sends the first half of the file (cut inside a line) and drops the
	// connection: the client's read ends with an unexpected EOF.
	FaultTruncate FaultKind = "truncate"
	// FaultShortLength (download only) announces a Content-Length of half
	// the file and sends exactly that: a 200 that reads cleanly but ends
	// inside a line, shorter than file_size.
	FaultShortLength FaultKind = "short-length"
)

// AllFaultKinds lists every fault kind, in a fixed order.
var AllFaultKinds = []FaultKind{Fault429, Fault429Bare, Fault500, Fault502, Fault503, FaultSlow,
	FaultMultiDoc, FaultDigest, FaultTruncate, FaultShortLength}

func (f Faults) withDefaults() Faults {
	f.Kinds = simkit.KindsOrAll(f.Kinds, AllFaultKinds)
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
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
			errs = append(errs, fmt.Errorf("faults: unknown kind %q", k))
		}
	}
	return errors.Join(errs...)
}

// typeName is the shape of an event type: upper-case words joined by _.
var typeName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// Validate reports every invalid option, each naming its field.
func (o Options) Validate() error {
	var errs []error
	for _, t := range o.Types {
		if !typeName.MatchString(t) {
			errs = append(errs, fmt.Errorf("chatgptsim: types: %q is not an event type name (A-Z, 0-9, _)", t))
		}
	}
	if len(o.Types) > 255 {
		errs = append(errs, fmt.Errorf("chatgptsim: types: %d types, at most 255", len(o.Types)))
	}
	if o.Interval < 0 || o.Interval%time.Second != 0 {
		errs = append(errs, fmt.Errorf("chatgptsim: interval %s is not a positive whole number of seconds", o.Interval))
	}
	if !(o.SharedEnd >= 0 && o.SharedEnd <= 1) {
		errs = append(errs, fmt.Errorf("chatgptsim: shared_end %v is not in 0..1", o.SharedEnd))
	}
	if !(o.DuplicateFraction >= 0 && o.DuplicateFraction <= 1) {
		errs = append(errs, fmt.Errorf("chatgptsim: duplicate_fraction %v is not in 0..1", o.DuplicateFraction))
	}
	if o.Lines < 0 {
		errs = append(errs, fmt.Errorf("chatgptsim: lines %d is negative", o.Lines))
	}
	types := o.Types
	if len(types) == 0 {
		types = KnownTypes
	}
	for i, b := range o.BigFiles {
		if b.Index < 0 || b.Lines < 1 {
			errs = append(errs, fmt.Errorf("chatgptsim: big_files[%d]: index %d, lines %d: want index >= 0 and lines >= 1", i, b.Index, b.Lines))
		}
		if !slices.Contains(types, b.Type) {
			errs = append(errs, fmt.Errorf("chatgptsim: big_files[%d]: type %q has no files (see types)", i, b.Type))
		}
	}
	if o.URLTTL < 0 {
		errs = append(errs, fmt.Errorf("chatgptsim: url_ttl %s is negative", o.URLTTL))
	}
	if p := o.Latency.Problem(); p != "" {
		errs = append(errs, fmt.Errorf("chatgptsim: latency: %s", p))
	}
	if err := o.Faults.validate(); err != nil {
		errs = append(errs, fmt.Errorf("chatgptsim: %w", err))
	}
	return errors.Join(errs...)
}
