package ocsf

import "github.com/auditrelay/auditrelay/pipeline"

// NewFactory returns the factory of the ocsf transform, type "ocsf".
func NewFactory() pipeline.TransformFactory {
	return pipeline.NewTransformFactory("ocsf", DefaultConfig,
		func(set pipeline.Settings, c *Config) (pipeline.Transform, error) {
			return New(c), nil
		})
}

// DefaultConfig returns the defaults.
func DefaultConfig() *Config {
	return &Config{Original: "unmapped", ProductName: "OpenAI API Platform"}
}
