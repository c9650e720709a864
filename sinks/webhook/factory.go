package webhook

import (
	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the webhook sink, type "webhook".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("webhook", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
		c.TLS.Resolve(set.BaseDir)
		return New(set, *c)
	})
}
