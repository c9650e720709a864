package ecs

import "github.com/auditrelay/auditrelay/pipeline"

// Config configures the ecs transform: it maps the events of every vendor
// (OpenAI's audit and request logs, ChatGPT's compliance logs, Anthropic's
// compliance activities) to the Elastic Common Schema (ECS 8.x).
type Config struct {
	// KeepOriginal keeps the original event under the vendor's name
	// (openai, chatgpt or anthropic; default true).
	KeepOriginal bool `koanf:"keep_original"`
	// Dataset is the value of event.dataset for every event. Empty (the
	// default): the vendor's own, openai.audit, chatgpt.compliance or
	// anthropic.compliance.
	Dataset string `koanf:"dataset"`
}

var _ pipeline.Config = (*Config)(nil)

// Validate implements pipeline.Config. Every value is valid.
func (c *Config) Validate() error { return nil }
