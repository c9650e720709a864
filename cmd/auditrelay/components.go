package main

import (
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/datadog"
	"github.com/auditrelay/auditrelay/sinks/email"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/sinks/kafka"
	"github.com/auditrelay/auditrelay/sinks/otlp"
	"github.com/auditrelay/auditrelay/sinks/splunkhec"
	"github.com/auditrelay/auditrelay/sinks/webhook"
	"github.com/auditrelay/auditrelay/source/anthropic"
	"github.com/auditrelay/auditrelay/source/chatgpt"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	filesource "github.com/auditrelay/auditrelay/source/file"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/openai"
	"github.com/auditrelay/auditrelay/transform/dedup"
	"github.com/auditrelay/auditrelay/transform/detect"
	"github.com/auditrelay/auditrelay/transform/ecs"
	"github.com/auditrelay/auditrelay/transform/enrich"
	"github.com/auditrelay/auditrelay/transform/filter"
	"github.com/auditrelay/auditrelay/transform/ocsf"
	"github.com/auditrelay/auditrelay/transform/redact"
)

// components lists every factory this binary is built with. Adding a
// component means adding one line here; nothing registers itself. The API
// sources of one registry share a request limiter per API key. extra adds
// factories only one command uses (demo's screen).
func components(extra ...pipeline.Factory) (*pipeline.Registry, error) {
	lims := httpapi.NewLimiters()
	return pipeline.NewRegistry(append([]pipeline.Factory{
		// checkpoint stores
		checkpoint.NewFileFactory(),
		checkpoint.NewMemoryFactory(),
		kafka.NewStoreFactory(),
		// sources
		openai.NewFactory(lims),
		openai.NewOrgLogsFactory(lims),
		anthropic.NewFactory(lims),
		chatgpt.NewFactory(lims),
		filesource.NewFactory(),
		// transforms
		filter.NewFactory(),
		dedup.NewFactory(),
		enrich.NewFactory(),
		redact.NewFactory(),
		detect.NewFactory(),
		ocsf.NewFactory(),
		ecs.NewFactory(),
		// sinks
		file.NewFactory(),
		webhook.NewFactory(),
		email.NewFactory(),
		otlp.NewFactory(),
		splunkhec.NewFactory(),
		datadog.NewFactory(),
		kafka.NewFactory(),
	}, extra...)...)
}
