package openai

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/timewindow"
)

// DefaultBaseURL is OpenAI's API root.
const DefaultBaseURL = "https://api.openai.com/v1"

// StartAt is where a source without a cursor begins: an RFC 3339 time, or
// a duration back from now ("720h").
type StartAt struct {
	Time time.Time
	Ago  time.Duration
}

// UnmarshalText parses an RFC 3339 time or a Go duration.
func (s *StartAt) UnmarshalText(b []byte) error {
	v := strings.TrimSpace(string(b))
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return fmt.Errorf("start_at duration %q must be positive (it counts back from now)", v)
		}
		*s = StartAt{Ago: d}
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("start_at %q is neither an RFC 3339 time nor a duration such as 720h", v)
	}
	*s = StartAt{Time: t}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s StartAt) MarshalText() ([]byte, error) {
	if !s.Time.IsZero() {
		return []byte(s.Time.Format(time.RFC3339)), nil
	}
	return []byte(s.Ago.String()), nil
}

// Validate reports start_at when it is a time in the future (more than a
// minute ahead: clocks differ that much).
func (s StartAt) Validate() error {
	if !s.Time.IsZero() && s.Time.After(time.Now().Add(time.Minute)) {
		return pipeline.FieldError("start_at", "is in the future")
	}
	return nil
}

// Resolve returns the start time relative to now.
func (s StartAt) Resolve(now time.Time) time.Time {
	if !s.Time.IsZero() {
		return s.Time
	}
	return now.Add(-s.Ago)
}

// Config configures the audit-log source: it reads the organization's
// audit log from OpenAI's Admin API (/v1/organization/audit_logs) in windows
// of time, each re-reading an overlap so that late events are not missed.
//
// The API pages newest first and filters on effective_at in whole seconds:
// each window is [cursor - overlap, now - settle), its events are delivered
// oldest first, and the cursor moves only once every sink has them.
type Config struct {
	// APIConfig holds base_url, api_key and the request retry keys.
	APIConfig `koanf:",squash"`
	// StartAt is where a source without a checkpoint begins: an RFC 3339
	// time (2026-01-01T00:00:00Z) or a duration back from now (default 720h,
	// 30 days). Once a cursor is saved it is ignored.
	StartAt StartAt `koanf:"start_at"`
	// PollInterval is the wait between windows once caught up (default 30s).
	PollInterval time.Duration `koanf:"poll_interval"`
	// PageSize is the `limit` of each request, 1..100 (default 100).
	PageSize int `koanf:"page_size"`
	// Overlap is how far back each window re-reads to catch events that
	// became visible late (default 5m). Events later than overlap+settle
	// are missed: raise it if your organization shows such delays.
	Overlap time.Duration `koanf:"overlap"`
	// Settle keeps the window's end this far behind now (default 10s).
	Settle time.Duration `koanf:"settle"`
	// MaxWindowEvents bounds the events of one window; a stretch of time
	// that holds more is split at the second it reached (default 5000).
	// Up to four times this many events are read ahead of delivery.
	MaxWindowEvents int `koanf:"max_window_events"`
	// MaxWindow is the longest stretch of time one walk of pages covers
	// (default 168h); a back-fill cuts its range by the density of events.
	MaxWindow time.Duration `koanf:"max_window"`
	// BatchSize is the number of events per batch handed to the sinks
	// (default 1000).
	BatchSize int `koanf:"batch_size"`
	// Prefetch caps the windows read ahead of delivery, 0 to 16 (0: read
	// and deliver in turn). Unset, the memory bound decides.
	Prefetch *int `koanf:"prefetch"`
	// FetchConcurrency caps the requests of the API key in flight at once,
	// 1 to 64. Unset, the adaptive limiter finds what the API allows (up
	// to 16).
	FetchConcurrency *int `koanf:"fetch_concurrency"`
	// EventTypes asks the API for these event types only (login.failed,
	// api_key.created); empty: every type. Exact names, no patterns.
	EventTypes []string `koanf:"event_types"`
	// ProjectIDs asks the API for the events of these projects only
	// (proj_...); empty: all.
	ProjectIDs []string `koanf:"project_ids"`
	// ActorIDs asks the API for the events of these actors only (user-...,
	// a service account or API key id); empty: all.
	ActorIDs []string `koanf:"actor_ids"`
	// ActorEmails asks the API for the events of the users with these
	// e-mail addresses only; empty: all.
	ActorEmails []string `koanf:"actor_emails"`
	// ResourceIDs asks the API for the events about these resources only
	// (the id of a project, key, user...); empty: all.
	ResourceIDs []string `koanf:"resource_ids"`
	// TenantOnly asks for the `tenant.*` event types instead of the
	// organization's (every type in event_types must then be a `tenant.*`
	// type).
	TenantOnly bool `koanf:"tenant_only"`
	// OnInvalidEvent is what an event the source cannot index (no valid
	// id, type or effective_at, or outside the window asked for) does:
	// stall (default) stops the source at it, retried and reported, so
	// that nothing is skipped unseen; dead_letter sends it to the
	// dead-letter sink (a dead_letter section is then required) with the
	// reason, counted in auditrelay_events_invalid_total, and the source
	// goes on. One of: stall, dead_letter.
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
)

// CheckSpec implements pipeline.SpecChecker: on_invalid_event: dead_letter
// needs a dead-letter sink.
func (c *Config) CheckSpec(_ string, spec pipeline.Spec) error {
	return httpapi.CheckDeadLetter(c.OnInvalidEvent, spec)
}

// APIConfig is what both sources need to talk to the Admin API: where it
// is, the key, and how one request is retried.
type APIConfig struct {
	// BaseURL is the API root, which the paths /organization/audit_logs
	// and /organization_logs are under (default https://api.openai.com/v1);
	// another value is for a proxy or a simulator.
	BaseURL string `koanf:"base_url"`
	// APIKey is the organization's Admin API key, sk-admin-... (required;
	// keep it out of the file with ${env:OPENAI_ADMIN_KEY}). Organization
	// owners create admin keys in the platform settings.
	APIKey pipeline.Secret `koanf:"api_key"`
	// Retry holds timeout, max_retries, retry_wait_min, retry_wait_max and
	// max_retry_after.
	httpapi.Retry `koanf:",squash"`
}

// APIKeyOf implements pipeline.Keyed for both sources: enrich may read the
// directory with the source's admin key.
func (c *APIConfig) APIKeyOf() (vendor, baseURL string, key pipeline.Secret) {
	return "openai", c.BaseURL, c.APIKey
}

// Warnings implements pipeline.Warner for both sources: the admin key sent
// over plain http.
func (c *APIConfig) Warnings() []error {
	if w := pipeline.InClear("base_url", c.BaseURL, "the admin key"); w != nil {
		return []error{w}
	}
	return nil
}

func defaultAPIConfig() APIConfig {
	return APIConfig{
		BaseURL: DefaultBaseURL,
		Retry:   httpapi.DefaultRetry(),
	}
}

// validate reports the problems of the API keys, for errors.Join (nil for
// a key that is fine).
func (c *APIConfig) validate() []error {
	_, urlErr := httpapi.CheckBaseURL(c.BaseURL, DefaultBaseURL)
	return []error{urlErr, httpapi.CheckAPIKey(c.APIKey, "an Admin API key; use ${env:OPENAI_ADMIN_KEY}"), c.Retry.Validate()}
}

// pollConfig holds the keys both sources read the API by, which they
// validate alike: where to start without a cursor, how often to poll, and
// the sizes of pages, batches and windows.
type pollConfig struct {
	StartAt         StartAt
	PollInterval    time.Duration
	PageSize        int
	BatchSize       int
	Overlap         time.Duration
	MaxWindowEvents int
}

// validate reports the problems of the polling keys.
func (c pollConfig) validate() []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	if c.PollInterval <= 0 {
		add("poll_interval", "must be > 0")
	}
	if c.PageSize < 1 || c.PageSize > 100 {
		add("page_size", "must be between 1 and 100, got %d", c.PageSize)
	}
	if c.BatchSize < 1 {
		add("batch_size", "must be >= 1")
	}
	if c.Overlap < 0 {
		add("overlap", "must be >= 0")
	}
	if c.MaxWindowEvents < c.PageSize {
		add("max_window_events", "must be >= page_size (%d)", c.PageSize)
	}
	return append(errs, c.StartAt.Validate())
}

// newClient returns the client of a source named by set.
func (c *APIConfig) newClient(set pipeline.Settings, lim *httpapi.Limiter, clock *httpapi.Clock, pageSize int) *Client {
	return NewClient(c.APIKey, pageSize, httpapi.Config{
		BaseURL: c.BaseURL, Retry: c.Retry, Limiter: lim, Clock: clock,
		Name: set.Name, Logger: set.Log(), Telemetry: set.Tel(), Tracer: set.Trace(),
	})
}

// limiter returns the limiter of the source's API key, capped by the
// source's fetch_concurrency when it has one.
func (c *APIConfig) limiter(lims *httpapi.Limiters, capped *int) *httpapi.Limiter {
	return lims.ForBaseURL(c.BaseURL, c.APIKey.Value(), capped)
}

func defaultConfig() *Config {
	return &Config{
		APIConfig:       defaultAPIConfig(),
		StartAt:         StartAt{Ago: 720 * time.Hour},
		PollInterval:    30 * time.Second,
		PageSize:        100,
		Overlap:         5 * time.Minute,
		Settle:          10 * time.Second,
		MaxWindowEvents: 5000,
		MaxWindow:       168 * time.Hour,
		BatchSize:       1000,
		OnInvalidEvent:  InvalidStall,
	}
}

// earliestEvent bounds the time of any event of an OpenAI organization:
// OpenAI was founded in December 2015. A checkpoint before it was not
// written by this source.
var earliestEvent = time.Date(2015, 12, 1, 0, 0, 0, 0, time.UTC)

// plannerConfig is how the source cuts time.
func (c *Config) plannerConfig() timewindow.Config {
	pc := timewindow.Config{Overlap: c.Overlap, Settle: c.Settle, PollInterval: c.PollInterval,
		MaxWindowEvents: c.MaxWindowEvents, MaxWindow: c.MaxWindow, PageSize: c.PageSize, MaxBuffered: 2 * c.MaxWindowEvents, Prefetch: -1, Earliest: earliestEvent}
	if c.Prefetch != nil {
		pc.Prefetch = *c.Prefetch
	}
	return pc
}

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	errs := c.APIConfig.validate()
	errs = append(errs, pollConfig{StartAt: c.StartAt, PollInterval: c.PollInterval, PageSize: c.PageSize,
		BatchSize: c.BatchSize, Overlap: c.Overlap, MaxWindowEvents: c.MaxWindowEvents}.validate()...)
	errs = append(errs, httpapi.CheckOnInvalidEvent(c.OnInvalidEvent))
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	if c.Settle < 0 {
		add("settle", "must be >= 0")
	}
	if c.MaxWindow < time.Second {
		add("max_window", "must be >= 1s")
	}
	if c.Prefetch != nil && (*c.Prefetch < 0 || *c.Prefetch > 16) {
		add("prefetch", "must be between 0 and 16")
	}
	if c.FetchConcurrency != nil && (*c.FetchConcurrency < 1 || *c.FetchConcurrency > 64) {
		add("fetch_concurrency", "must be between 1 and 64")
	}
	for key, list := range map[string][]string{"event_types": c.EventTypes, "project_ids": c.ProjectIDs,
		"actor_ids": c.ActorIDs, "actor_emails": c.ActorEmails, "resource_ids": c.ResourceIDs} {
		for i, v := range list {
			if strings.TrimSpace(v) == "" {
				add(fmt.Sprintf("%s[%d]", key, i), "must not be empty")
			}
		}
	}
	if c.TenantOnly {
		for i, t := range c.EventTypes {
			if !strings.HasPrefix(t, "tenant.") {
				add(fmt.Sprintf("event_types[%d]", i), "%q is not a tenant.* type, but tenant_only is true", t)
			}
		}
	}
	return errors.Join(errs...)
}
