package ecs

import (
	"context"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// Version is the ECS version the output follows.
const Version = "8.11.0"

// Mapper is the ecs transform. It is safe for concurrent use.
type Mapper struct{ cfg Config }

var _ pipeline.Transform = (*Mapper)(nil)

// New returns a mapper for a validated config.
func New(c *Config) *Mapper { return &Mapper{cfg: *c} }

// Start implements pipeline.Component; it does nothing.
func (*Mapper) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it does nothing.
func (*Mapper) Shutdown(context.Context) error { return nil }

// Process maps every event of b in place. It does not block and ignores
// ctx. An event that is not a JSON object fails the batch permanently.
func (m *Mapper) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	return mapping.Batch(b, "ecs", m.Map)
}

// Map returns the ECS document for an event of schema: raw is its JSON, in
// the same object decoded (it becomes part of the result and must not be
// used afterwards). The vendor's schema package (schema/openai,
// schema/chatgpt, schema/anthropic) says who the actor is, whom the event
// is about, where the request came from and whether it failed; the
// vendor's table (openai.go, chatgpt.go, anthropic.go) says how ECS
// categorizes its type. An event of no known schema is read as OpenAI's,
// as events replayed from a file without one are.
func (m *Mapper) Map(raw []byte, in map[string]any, schema string) map[string]any {
	switch schema {
	case chatgpt.Schema:
		return m.chatgpt(raw, in)
	case anthropic.Schema:
		return m.anthropic(raw, in)
	}
	return m.openai(raw, in, schema)
}
