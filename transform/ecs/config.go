package ecs

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the ecs transform.
type Config struct {
	// KeepOriginal keeps the original event under "openai". Default true.
	KeepOriginal bool `koanf:"keep_original"`
	// Dataset is event.dataset. Default "openai.audit".
	Dataset string `koanf:"dataset"`
}

var _ pipeline.Config = (*Config)(nil)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	if c.Dataset == "" {
		return errors.Join(pipeline.FieldError("dataset", "must be set"))
	}
	return nil
}
