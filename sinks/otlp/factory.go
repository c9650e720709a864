package otlp

import "github.com/auditrelay/auditrelay/pipeline"

// NewFactory returns the factory of the OTLP sink, type "otlp".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("otlp", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
		cc := *c
		cc.TLS.Resolve(set.BaseDir)
		return New(set, &cc), nil
	})
}
