package ecs

import "github.com/auditrelay/auditrelay/pipeline"

// NewFactory returns the factory of the ecs transform, type "ecs".
func NewFactory() pipeline.TransformFactory {
	return pipeline.NewTransformFactory("ecs", DefaultConfig,
		func(set pipeline.Settings, c *Config) (pipeline.Transform, error) { return New(c), nil })
}

// DefaultConfig returns the defaults.
func DefaultConfig() *Config { return &Config{KeepOriginal: true} }
