package splunkhec

import (
	"os"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the Splunk HEC sink, type "splunk_hec".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("splunk_hec", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
		cc := *c
		cc.TLS.Resolve(set.BaseDir)
		if cc.Host == "" {
			cc.Host, _ = os.Hostname()
		}
		return New(set, &cc)
	})
}
