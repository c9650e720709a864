package openai

import "github.com/auditrelay/auditrelay/pipeline"

// NewOrgLogsFactory returns the factory of the request-log source, type
// "openai_organization_logs".
func NewOrgLogsFactory() pipeline.SourceFactory {
	return pipeline.NewSourceFactory("openai_organization_logs", defaultOrgLogsConfig, func(set pipeline.Settings, c *OrgLogsConfig) (pipeline.Source, error) {
		return NewOrgLogsSource(set, *c), nil
	})
}
