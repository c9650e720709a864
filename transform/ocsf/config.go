package ocsf

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the ocsf transform: it maps the events of every vendor
// (OpenAI audit and request logs, ChatGPT compliance records, Anthropic
// compliance activities) to OCSF 1.8.0 (Open Cybersecurity Schema
// Framework), the schema of Amazon Security Lake, Splunk's OCSF add-on and
// Datadog Cloud SIEM.
type Config struct {
	// Original says where the original event goes: unmapped (default, as
	// an object), raw_data (as a JSON string) or nowhere (none).
	// One of: unmapped, raw_data, none.
	Original string `koanf:"original"`
	// ProductName is the value of metadata.product.name of OpenAI's audit
	// and request logs (default OpenAI API Platform); ChatGPT records are
	// ChatGPT Enterprise's, Anthropic activities Claude's.
	ProductName string `koanf:"product_name"`
}

var _ pipeline.Config = (*Config)(nil)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	switch c.Original {
	case "unmapped", "raw_data", "none":
	default:
		errs = append(errs, pipeline.FieldError("original", "must be unmapped, raw_data or none, got %q", c.Original))
	}
	if c.ProductName == "" {
		errs = append(errs, pipeline.FieldError("product_name", "must be set"))
	}
	return errors.Join(errs...)
}
