package openai

import (
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// NewOrgLogsFactory returns the factory of the request-log source, type
// "openai_organization_logs". lims is as for NewFactory.
func NewOrgLogsFactory(lims *httpapi.Limiters) pipeline.SourceFactory {
	return pipeline.NewSourceFactory("openai_organization_logs", defaultOrgLogsConfig, func(set pipeline.Settings, c *OrgLogsConfig) (pipeline.Source, error) {
		return NewOrgLogsSource(set, *c, lims), nil
	})
}
