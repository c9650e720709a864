package ocsf

import (
	"context"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// Mapper is the ocsf transform. It is safe for concurrent use.
type Mapper struct {
	original, product string
}

var _ pipeline.Transform = (*Mapper)(nil)

// New returns a mapper for a validated config.
func New(c *Config) *Mapper { return &Mapper{original: c.Original, product: c.ProductName} }

// Start implements pipeline.Component; it does nothing.
func (*Mapper) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it does nothing.
func (*Mapper) Shutdown(context.Context) error { return nil }

// Process maps every event of b in place. It does not block and ignores
// ctx. An event that is not a JSON object fails the batch permanently.
func (m *Mapper) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	return mapping.Batch(b, "ocsf", m.Map)
}

// Map returns the OCSF object for an event of schema: raw is its JSON, in
// the same object decoded (it becomes part of the result, under unmapped,
// and must not be used afterwards). The vendor package of schema
// (schema/openai, schema/chatgpt, schema/anthropic) says who did it, to
// whom, to what, and how severe it is; an event of any other schema is
// read as OpenAI's.
func (m *Mapper) Map(raw []byte, in map[string]any, schema string) map[string]any {
	var r record
	switch schema {
	case chatgpt.Schema:
		r = m.chatgpt(raw)
	case anthropic.Schema:
		r = m.anthropic(raw)
	default:
		r = m.openai(raw, in, schema)
	}
	r.original(in, m.original)
	return r
}
