package ocsf

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the ocsf transform.
type Config struct {
	// Original says where the original event goes: unmapped (default, as
	// an object), raw_data (as a JSON string) or none.
	Original string `koanf:"original"`
	// ProductName is metadata.product.name. Default "OpenAI API Platform".
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
