package anthropic

import (
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// Type is the source's type in the config.
const Type = "anthropic_compliance_activities"

// NewFactory returns the factory of the activity-feed source, type
// "anthropic_compliance_activities". lims shares one request limiter among
// the sources of the process that read the same API (nil: one per source).
func NewFactory(lims *httpapi.Limiters) pipeline.SourceFactory {
	return pipeline.NewSourceFactory(Type, defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Source, error) {
		return NewSource(set, *c, lims), nil
	})
}
