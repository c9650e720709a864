package openai

import (
	"errors"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// OrgLogsConfig configures the request-log source: it reads the
// organization's request logs (/v1/organization_logs, api_request payloads)
// by id, oldest first or newest first down to its cursor.
type OrgLogsConfig struct {
	// APIConfig holds base_url, api_key and the request retry keys.
	APIConfig `koanf:",squash"`
	// Order is the paging order: asc (the default; the cursor is the last
	// delivered id and every page is committed as it is acknowledged) or
	// desc (newest first; each poll walks down to the cursor, holds the new
	// events, and delivers them oldest first). One of: asc, desc.
	Order string `koanf:"order"`
	// StartAt drops events created before it when there is no checkpoint:
	// an RFC 3339 time or a duration back from now (default 720h, 30 days).
	// With order asc the pages before it are still read once.
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
}

var _ pipeline.Config = (*OrgLogsConfig)(nil)

func defaultOrgLogsConfig() *OrgLogsConfig {
	return &OrgLogsConfig{
		APIConfig:       defaultAPIConfig(),
		Order:           "asc",
		StartAt:         StartAt{Ago: 720 * time.Hour},
		PollInterval:    30 * time.Second,
		PageSize:        100,
		BatchSize:       1000,
		Overlap:         5 * time.Minute,
		MaxWindowEvents: 10000,
	}
}

// Validate implements pipeline.Config.
func (c *OrgLogsConfig) Validate() error {
	errs := c.APIConfig.validate()
	if c.Order != "asc" && c.Order != "desc" {
		errs = append(errs, pipeline.FieldError("order", "must be asc or desc, got %q", c.Order))
	}
	errs = append(errs, pollConfig{StartAt: c.StartAt, PollInterval: c.PollInterval, PageSize: c.PageSize,
		BatchSize: c.BatchSize, Overlap: c.Overlap, MaxWindowEvents: c.MaxWindowEvents}.validate()...)
	return errors.Join(errs...)
}
