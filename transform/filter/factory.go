package filter

import "github.com/auditrelay/auditrelay/pipeline"

// NewFactory returns the factory of the filter transform, type "filter".
func NewFactory() pipeline.TransformFactory {
	return pipeline.NewTransformFactory("filter", func() *Config { return &Config{} },
		func(set pipeline.Settings, c *Config) (pipeline.Transform, error) {
			return New(c), nil
		})
}
