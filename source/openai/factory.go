package openai

import (
	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the audit-log source, type
// "openai_audit_logs".
func NewFactory() pipeline.SourceFactory {
	return pipeline.NewSourceFactory("openai_audit_logs", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Source, error) {
		return NewAuditSource(set, *c), nil
	})
}
