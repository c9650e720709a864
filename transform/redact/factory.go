package redact

import (
	"slices"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the redact transform, type "redact".
func NewFactory() pipeline.TransformFactory {
	return pipeline.NewTransformFactory("redact", DefaultConfig,
		func(set pipeline.Settings, c *Config) (pipeline.Transform, error) {
			return New(c)
		})
}

// DefaultConfig returns the defaults: mask mode, truncated content, the PEM
// of certificate.deleted, every built-in pattern, DefaultSecretKeys.
func DefaultConfig() *Config {
	return &Config{
		Mode:       ModeMask,
		Content:    ContentTruncated,
		Fields:     []string{"/certificate.deleted/certificate"},
		Patterns:   BuiltinPatterns(),
		SecretKeys: slices.Clone(DefaultSecretKeys),
	}
}
