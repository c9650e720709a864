package datadog

import (
	"os"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the Datadog sink, type "datadog".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("datadog", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
		cc := *c
		cc.TLS.Resolve(set.BaseDir)
		if cc.Hostname == "" {
			cc.Hostname, _ = os.Hostname()
		}
		return New(set, &cc)
	})
}
