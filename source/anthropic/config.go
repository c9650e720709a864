package anthropic

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/openai"
	"github.com/auditrelay/auditrelay/source/timewindow"
)

// DefaultBaseURL is Anthropic's API root.
const DefaultBaseURL = "https://api.anthropic.com"

// activitiesPath is the activity feed under the base URL.
const activitiesPath = "/v1/compliance/activities"

// MaxPageSize is the largest limit the API takes.
const MaxPageSize = 5000

// Config configures the activity-feed source: it reads the parent
// organization's activities from Anthropic's Compliance API
// (/v1/compliance/activities) in windows of time, each re-reading an
// overlap so that activities that became visible late are not missed.
//
// The API pages newest first and its created_at values are whole seconds:
// each window is [cursor - overlap, now - settle), its activities are
// delivered oldest first, each once (by id), and the cursor moves only
// once every sink has them. Requests are paced by the API's own
// rate-limit headers, shared by every source of the process that reads
// the same base_url, since the API counts 600 requests a minute per
// parent organization, whichever key sends them. Of the answers
// max_retries counts, 529 (overloaded) is one; a 5xx the API marks
// x-should-retry: false is final.
type Config struct {
	// BaseURL is the API root, which /v1/compliance/activities is under
	// (default https://api.anthropic.com); another value is for a proxy or
	// a simulator.
	BaseURL string `koanf:"base_url"`
	// APIKey is a Compliance Access Key (sk-ant-api01-...) or an Admin API
	// key (sk-ant-admin01-...) with the scope read:compliance_activities
	// (required; keep it out of the file with ${env:ANTHROPIC_COMPLIANCE_KEY}).
	// It is sent as x-api-key; an ordinary Claude API key is refused.
	APIKey pipeline.Secret `koanf:"api_key"`
	// Retry holds timeout, max_retries, retry_wait_min, retry_wait_max and
	// max_retry_after.
	httpapi.Retry `koanf:",squash"`
	// StartAt is where a source without a checkpoint begins: an RFC 3339
	// time (2026-01-01T00:00:00Z) or a duration back from now (default 720h,
	// 30 days). Once a cursor is saved it is ignored. Activities before the
	// Compliance API was enabled for the organization do not exist.
	StartAt openai.StartAt `koanf:"start_at"`
	// PollInterval is the wait between windows once caught up (default 30s).
	PollInterval time.Duration `koanf:"poll_interval"`
	// PageSize is the `limit` of each request, 1..5000 (default 1000):
	// larger pages spend fewer of the organization's 600 requests a minute.
	PageSize int `koanf:"page_size"`
	// Overlap is how far back each window re-reads to catch activities that
	// became visible late (default 5m; the API says within about a
	// minute). Activities later than overlap+settle are missed: raise it if
	// your organization shows such delays.
	Overlap time.Duration `koanf:"overlap"`
	// Settle keeps the window's end this far behind now (default 10s).
	Settle time.Duration `koanf:"settle"`
	// MaxWindowEvents bounds the activities of one window; a stretch of
	// time that holds more is split at the second it reached (default
	// 10000, at least page_size). Up to four times this many activities are
	// read ahead of delivery.
	MaxWindowEvents int `koanf:"max_window_events"`
	// MaxWindow is the longest stretch of time one walk of pages covers
	// (default 168h); a back-fill cuts its range by the density of
	// activities.
	MaxWindow time.Duration `koanf:"max_window"`
	// BatchSize is the number of activities per batch handed to the sinks
	// (default 1000).
	BatchSize int `koanf:"batch_size"`
	// Prefetch caps the windows read ahead of delivery, 0 to 16 (0: read
	// and deliver in turn). Unset, the memory bound decides.
	Prefetch *int `koanf:"prefetch"`
	// FetchConcurrency caps the requests in flight at once, 1 to 64, for
	// every source of the process that reads this base_url (the first
	// source's value counts). Unset, the limiter finds what the API allows
	// (up to 16).
	FetchConcurrency *int `koanf:"fetch_concurrency"`
	// ActivityTypes asks the API for these activity types only
	// (sso_login_succeeded, claude_user_role_updated); empty: every type.
	// Exact names, no patterns. Not together with exclude_activity_types.
	ActivityTypes []string `koanf:"activity_types"`
	// ExcludeActivityTypes asks the API for every activity type but these;
	// empty: none excluded. Not together with activity_types.
	ExcludeActivityTypes []string `koanf:"exclude_activity_types"`
	// ActorIDs asks the API for the activities of these users only
	// (user_...); empty: all.
	ActorIDs []string `koanf:"actor_ids"`
	// OrganizationIDs asks the API for the activities of these
	// organizations only (org_... or the organization's UUID); empty: all.
	// Sign-ins, sign-outs and Compliance API calls belong to no
	// organization and are left out by this filter.
	OrganizationIDs []string `koanf:"organization_ids"`
	// OnInvalidEvent is what an activity the source cannot index (no id or
	// RFC 3339 created_at, or outside the window asked for) does: stall
	// (default) stops the source at it, retried and reported, so that
	// nothing is skipped unseen; dead_letter sends it to the dead-letter
	// sink (a dead_letter section is then required) with the reason,
	// counted in auditrelay_events_invalid_total, and the source goes on.
	// One of: stall, dead_letter.
	OnInvalidEvent string `koanf:"on_invalid_event"`
}

// The values of on_invalid_event.
const (
	InvalidStall      = httpapi.InvalidStall
	InvalidDeadLetter = httpapi.InvalidDeadLetter
)

var (
	_ pipeline.Config      = (*Config)(nil)
	_ pipeline.SpecChecker = (*Config)(nil)
	_ pipeline.Warner      = (*Config)(nil)
)

func defaultConfig() *Config {
	return &Config{
		BaseURL:         DefaultBaseURL,
		Retry:           httpapi.DefaultRetry(),
		StartAt:         openai.StartAt{Ago: 720 * time.Hour},
		PollInterval:    30 * time.Second,
		PageSize:        1000,
		Overlap:         5 * time.Minute,
		Settle:          10 * time.Second,
		MaxWindowEvents: 10000,
		MaxWindow:       168 * time.Hour,
		BatchSize:       1000,
		OnInvalidEvent:  InvalidStall,
	}
}

// CheckSpec implements pipeline.SpecChecker: on_invalid_event: dead_letter
// needs a dead-letter sink.
func (c *Config) CheckSpec(_ string, spec pipeline.Spec) error {
	return httpapi.CheckDeadLetter(c.OnInvalidEvent, spec)
}

// Warnings implements pipeline.Warner: the key sent over plain http, and
// a key of a kind the Compliance API refuses. Neither names the key.
func (c *Config) Warnings() []error {
	var ws []error
	if w := pipeline.InClear("base_url", c.BaseURL, "the compliance key"); w != nil {
		ws = append(ws, w)
	}
	if strings.HasPrefix(c.APIKey.Value(), "sk-ant-api03-") {
		ws = append(ws, pipeline.FieldError("api_key", "is an ordinary Claude API key (sk-ant-api03-...), which the Compliance API refuses: use a Compliance Access Key or an Admin API key with the scope read:compliance_activities"))
	}
	return ws
}

// Validate implements pipeline.Config. Every problem is reported, each
// naming its key.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	if u, err := httpapi.CheckBaseURL(c.BaseURL, DefaultBaseURL); err != nil {
		errs = append(errs, err)
	} else if strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v1") {
		add("base_url", "is the API root without /v1 (such as %s): the source appends %s", DefaultBaseURL, activitiesPath)
	}
	errs = append(errs, httpapi.CheckAPIKey(c.APIKey, "a Compliance Access Key or an Admin API key; use ${env:ANTHROPIC_COMPLIANCE_KEY}"),
		c.Retry.Validate())
	if c.PollInterval <= 0 {
		add("poll_interval", "must be > 0")
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		add("page_size", "must be between 1 and %d, got %d", MaxPageSize, c.PageSize)
	}
	if c.BatchSize < 1 {
		add("batch_size", "must be >= 1")
	}
	if c.Overlap < 0 {
		add("overlap", "must be >= 0")
	}
	if c.Settle < 0 {
		add("settle", "must be >= 0")
	}
	if c.MaxWindowEvents < c.PageSize {
		add("max_window_events", "must be >= page_size (%d)", c.PageSize)
	}
	if c.MaxWindow < time.Second {
		add("max_window", "must be >= 1s")
	}
	errs = append(errs, c.StartAt.Validate())
	if c.Prefetch != nil && (*c.Prefetch < 0 || *c.Prefetch > 16) {
		add("prefetch", "must be between 0 and 16")
	}
	if c.FetchConcurrency != nil && (*c.FetchConcurrency < 1 || *c.FetchConcurrency > 64) {
		add("fetch_concurrency", "must be between 1 and 64")
	}
	if len(c.ActivityTypes) > 0 && len(c.ExcludeActivityTypes) > 0 {
		add("exclude_activity_types", "cannot be set together with activity_types (the API takes one of them): keep one")
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"activity_types", c.ActivityTypes}, {"exclude_activity_types", c.ExcludeActivityTypes},
		{"actor_ids", c.ActorIDs}, {"organization_ids", c.OrganizationIDs}} {
		for i, v := range l.list {
			if strings.TrimSpace(v) == "" {
				add(fmt.Sprintf("%s[%d]", l.key, i), "must not be empty")
			}
		}
	}
	errs = append(errs, httpapi.CheckOnInvalidEvent(c.OnInvalidEvent))
	return errors.Join(errs...)
}

// earliestActivity bounds the time of any activity: Anthropic was founded
// in 2021. A checkpoint before it was not written by this source.
var earliestActivity = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

// plannerConfig is how the source cuts time.
func (c *Config) plannerConfig() timewindow.Config {
	pc := timewindow.Config{Overlap: c.Overlap, Settle: c.Settle, PollInterval: c.PollInterval,
		MaxWindowEvents: c.MaxWindowEvents, MaxWindow: c.MaxWindow, PageSize: c.PageSize,
		MaxBuffered: 2 * c.MaxWindowEvents, Prefetch: -1, Earliest: earliestActivity}
	if c.Prefetch != nil {
		pc.Prefetch = *c.Prefetch
	}
	return pc
}

// budgetKey names the request budget the sources of one base_url share.
// The API counts requests per parent organization, whichever of its keys
// sends them, and a key does not say which organization it belongs to: so
// every source of the process that reads the same API shares one limiter,
// which then sees all the requests it must count. Sources of two parent
// organizations in one process share it too: each gets less than it could,
// none gets a 429.
const budgetKey = "anthropic compliance: one budget per parent organization"

// limiter returns the request limiter the source shares (see budgetKey).
func (c *Config) limiter(lims *httpapi.Limiters) *httpapi.Limiter {
	return lims.ForBaseURL(c.BaseURL, budgetKey, c.FetchConcurrency)
}
