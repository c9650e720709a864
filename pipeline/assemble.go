package pipeline

import (
	"context"
	"fmt"
	"log/slog"
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
	Store      CursorStore
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
	log, tel := parts.Logger, parts.Telemetry
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if tel == nil {
		tel = NopTelemetry{}
	}
	drain := parts.DrainTimeout
	if drain <= 0 {
		drain = 30 * time.Second
	}
	retry := parts.Retry
	if retry == (RetryPolicy{}) {
		retry = DefaultRetryPolicy()
	}
	p := &Pipeline{log: log, tel: tel, store: parts.Store, drainTimeout: drain}
	p.engine = &engine{log: log, tel: tel, drain: drain, storeRetry: DefaultRetryPolicy(), store: parts.Store}
	for _, name := range sortedKeys(parts.Sinks) {
		c := parts.Sinks[name]
		s, ok := c.(Sink)
		if !ok {
			s = bareSink{c}
		}
		p.sinks = append(p.sinks, namedSink{name, s})
		p.engine.sinks = append(p.engine.sinks, newSlot(name, c, retry))
	}
	for i, t := range parts.Transforms {
		p.transforms = append(p.transforms, namedTransform{name: fmt.Sprint("transform", i), t: t})
	}
	p.engine.transforms = p.transforms
	for _, name := range sortedKeys(parts.Sources) {
		p.sources = append(p.sources, namedSource{name, parts.Sources[name]})
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// bareSink gives a Consumer the lifecycle of a Sink.
type bareSink struct{ Consumer }

func (bareSink) Start(context.Context) error    { return nil }
func (bareSink) Shutdown(context.Context) error { return nil }
