package ecs

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the ecs transform: it maps audit-log and request-log
// events to the Elastic Common Schema (ECS 8.x).
type Config struct {
	// KeepOriginal keeps the original event under "openai" (default true).
	KeepOriginal bool `koanf:"keep_original"`
	// Dataset is the value of event.dataset (default openai.audit).
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
