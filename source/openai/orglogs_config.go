package openai

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// OrgLogsConfig configures the request-log source (type
// "openai_organization_logs").
type OrgLogsConfig struct {
	// BaseURL is the API root (default https://api.openai.com/v1).
	BaseURL string `koanf:"base_url"`
	// APIKey is the organization's Admin API key (use ${env:...}).
	APIKey pipeline.Secret `koanf:"api_key"`
	// Order is the paging order: asc (default; the cursor is the last
	// delivered id and every page is committed as it is acknowledged) or
	// desc (newest first; each poll walks down to the cursor, holds the new
	// events, and delivers them oldest first).
	Order string `koanf:"order"`
	// StartAt drops events created before it when there is no cursor
	// (default 720h back). With order asc the pages before it are still
	// read once.
	StartAt StartAt `koanf:"start_at"`
	// PollInterval is the wait between polls once caught up (default 30s).
	PollInterval time.Duration `koanf:"poll_interval"`
	// PageSize is the `limit` of each request, 1..100 (default 100).
	PageSize int `koanf:"page_size"`
	// BatchSize is the number of events per acknowledged group (default
	// 1000): with order asc the cursor is saved after each group.
	BatchSize int `koanf:"batch_size"`
	// Overlap (order desc only) is how far below the cursor's time each poll
	// re-reads to catch records that became visible late; ids already
	// delivered are dropped (default 5m).
	Overlap time.Duration `koanf:"overlap"`
	// MaxWindowEvents (order desc only) bounds the events held in memory by
	// one poll; a larger backlog is delivered oldest part first over several
	// polls (default 10000).
	MaxWindowEvents int `koanf:"max_window_events"`
	// Timeout bounds one HTTP request (default 60s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxRetries is the number of retries of one request (default 10).
	MaxRetries int `koanf:"max_retries"`
	// RetryWaitMin/RetryWaitMax bound the backoff (default 500ms, 30s).
	RetryWaitMin time.Duration `koanf:"retry_wait_min"`
	RetryWaitMax time.Duration `koanf:"retry_wait_max"`
}

var _ pipeline.Config = (*OrgLogsConfig)(nil)

func defaultOrgLogsConfig() *OrgLogsConfig {
	return &OrgLogsConfig{
		BaseURL:         DefaultBaseURL,
		Order:           "asc",
		StartAt:         StartAt{Ago: 720 * time.Hour},
		PollInterval:    30 * time.Second,
		PageSize:        100,
		BatchSize:       1000,
		Overlap:         5 * time.Minute,
		MaxWindowEvents: 10000,
		Timeout:         60 * time.Second,
		MaxRetries:      10,
		RetryWaitMin:    500 * time.Millisecond,
		RetryWaitMax:    30 * time.Second,
	}
}

// Validate implements pipeline.Config.
func (c *OrgLogsConfig) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("base_url", "must be an http(s) URL such as %s", DefaultBaseURL)
	}
	if c.APIKey == "" {
		add("api_key", "must be set (an Admin API key; use ${env:OPENAI_ADMIN_KEY})")
	} else if strings.ContainsAny(c.APIKey.Value(), " \r\n\t") {
		add("api_key", "contains white space")
	}
	if c.Order != "asc" && c.Order != "desc" {
		add("order", "must be asc or desc, got %q", c.Order)
	}
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
	if c.Timeout <= 0 {
		add("timeout", "must be > 0")
	}
	if c.MaxRetries < 0 {
		add("max_retries", "must be >= 0")
	}
	if c.RetryWaitMin <= 0 {
		add("retry_wait_min", "must be > 0")
	}
	if c.RetryWaitMax < c.RetryWaitMin {
		add("retry_wait_max", "must be >= retry_wait_min")
	}
	if !c.StartAt.Time.IsZero() && c.StartAt.Time.After(time.Now().Add(time.Minute)) {
		add("start_at", "is in the future")
	}
	return errors.Join(errs...)
}
