package filter

import (
	"context"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Filter is the filter transform. It holds no state beyond its compiled
// patterns and is safe for concurrent use.
type Filter struct {
	include, exclude matcher
}

var _ pipeline.Transform = (*Filter)(nil)

// New returns a filter for a validated config.
func New(c *Config) *Filter {
	return &Filter{include: compile(c.Include), exclude: compile(c.Exclude)}
}

// Start implements pipeline.Component; it does nothing.
func (*Filter) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it does nothing.
func (*Filter) Shutdown(context.Context) error { return nil }

// Process drops the events of b that the config rejects, compacting
// b.Events in place (the slice is the chain's own copy). It does not block
// and ignores ctx.
func (f *Filter) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	kept := b.Events[:0]
	for i := range b.Events {
		if f.Keep(&b.Events[i]) {
			kept = append(kept, b.Events[i])
		}
	}
	// Clear the tail so dropped events' payloads can be collected.
	clear(b.Events[len(kept):])
	b.Events = kept
	return b, nil
}

// Keep reports whether e passes the filter.
func (f *Filter) Keep(e *pipeline.Event) bool {
	if f.include.any && !f.include.all(e) {
		return false
	}
	return !(f.exclude.any && f.exclude.some(e))
}

type matcher struct {
	any                                     bool
	types, actorIDs, emails, projects, srcs patterns
}

func compile(m Match) matcher {
	lower := make([]string, len(m.ActorEmails))
	for i, p := range m.ActorEmails {
		lower[i] = strings.ToLower(p)
	}
	return matcher{any: !m.empty(), types: m.Types, actorIDs: m.ActorIDs, emails: lower,
		projects: m.ProjectIDs, srcs: m.Sources}
}

// all: every non-empty list matches.
func (m *matcher) all(e *pipeline.Event) bool {
	return (m.types.none() || m.types.match(e.Type)) &&
		(m.actorIDs.none() || m.actorIDs.match(e.ActorID)) &&
		(m.emails.none() || m.emails.match(strings.ToLower(e.ActorEmail))) &&
		(m.projects.none() || m.projects.match(e.ProjectID)) &&
		(m.srcs.none() || m.srcs.match(e.Source))
}

// some: any non-empty list matches.
func (m *matcher) some(e *pipeline.Event) bool {
	return m.types.match(e.Type) || m.actorIDs.match(e.ActorID) ||
		m.emails.match(strings.ToLower(e.ActorEmail)) || m.projects.match(e.ProjectID) ||
		m.srcs.match(e.Source)
}

type patterns []string

func (p patterns) none() bool { return len(p) == 0 }

func (p patterns) match(s string) bool {
	for _, pat := range p {
		if pipeline.Match(pat, s) {
			return true
		}
	}
	return false
}
