package otlp

import (
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

func BenchmarkMapSimulator(b *testing.B) {
	sim := openaisim.New(openaisim.Options{Seed: 1, Events: 1000})
	evs := make([]pipeline.Event, 1000)
	for i := range evs {
		evs[i] = pipeline.Event{ID: sim.EventID(i), Raw: sim.Event(i)}
	}
	m := newMapper(defaultConfig())
	b.ResetTimer()
	for b.Loop() {
		_ = m.logs("acme", evs)
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
