package openai

import (
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// NewFactory returns the factory of the audit-log source, type
// "openai_audit_logs". lims shares one request limiter per API key among
// the sources of the process (nil: one per source).
func NewFactory(lims *httpapi.Limiters) pipeline.SourceFactory {
	return pipeline.NewSourceFactory("openai_audit_logs", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Source, error) {
		return NewAuditSource(set, *c, lims), nil
	})
}
