package email

import (
	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the email sink, type "email".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("email", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
		c.TLS.Resolve(set.BaseDir)
		return New(set, *c)
	})
}
