package dedup

import (
	"errors"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the dedup transform: it drops an event whose id another
// source already delivered, for overlapping sources (two admin keys of one
// organization, a replay next to a live source).
type Config struct {
	// MaxEntries bounds how many ids are remembered; the oldest are
	// forgotten first (default 200000, about 20 MB).
	MaxEntries int `koanf:"max_entries"`
	// TTL is how long an id is remembered (default 24h). It should exceed
	// the largest lag between the overlapping sources.
	TTL time.Duration `koanf:"ttl"`
}

var _ pipeline.Config = (*Config)(nil)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxEntries <= 0 {
		errs = append(errs, pipeline.FieldError("max_entries", "must be > 0, got %d", c.MaxEntries))
	}
	if c.TTL <= 0 {
		errs = append(errs, pipeline.FieldError("ttl", "must be > 0, got %s", c.TTL))
	}
	return errors.Join(errs...)
}
