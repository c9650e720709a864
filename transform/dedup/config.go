package dedup

import (
	"errors"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the dedup transform.
type Config struct {
	// MaxEntries bounds how many ids are remembered; the oldest are
	// forgotten first. Default 200000 (about 20 MB).
	MaxEntries int `koanf:"max_entries"`
	// TTL is how long an id is remembered. It should exceed the largest lag
	// between the overlapping sources. Default 24h.
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
