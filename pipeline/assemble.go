package pipeline

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"
)

// Parts are the components of a pipeline made without a config: for tests
// and tools that drive a source through the engine. Sinks may be bare
// Consumers; those that are Components are started and shut down, and
// those that are Committers commit.
type Parts struct {
	Sources    map[string]Source
	Transforms []Transform
	Sinks      map[string]Consumer
	// DeadLetter, when set, takes the events sinks reject and sources
	// cannot index.
	DeadLetter Consumer
	Store      CursorStore
	// Accept is what the sink of each name takes (default every event).
	Accept map[string]Accept
	// Retry is every sink's policy (default DefaultRetryPolicy).
	Retry RetryPolicy
	// DrainTimeout bounds the shutdown drain (default 30s).
	DrainTimeout time.Duration
	Logger       *slog.Logger
	Telemetry    Telemetry
}

// Assemble builds a pipeline of parts. Sources and sinks are ordered by
// name; transforms run in the order given.
func Assemble(parts Parts) *Pipeline {
	p := newPipeline(parts.Logger, parts.Telemetry, parts.DrainTimeout)
	retry := parts.Retry
	if retry == (RetryPolicy{}) {
		retry = DefaultRetryPolicy()
	}
	p.engine.store = parts.Store
	if parts.DeadLetter != nil {
		p.engine.deadLetter = newSlot("dead_letter", parts.DeadLetter, retry)
	}
	for _, name := range slices.Sorted(maps.Keys(parts.Sinks)) {
		p.engine.sinks = append(p.engine.sinks, newSlot(name, parts.Sinks[name], retry).accepting(parts.Accept[name]))
	}
	for i, t := range parts.Transforms {
		p.engine.transforms = append(p.engine.transforms, namedTransform{name: fmt.Sprint("transform", i), t: t})
	}
	for _, name := range slices.Sorted(maps.Keys(parts.Sources)) {
		p.sources = append(p.sources, namedSource{name, parts.Sources[name]})
	}
	return p
}
