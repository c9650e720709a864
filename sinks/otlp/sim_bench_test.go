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
	benchMap(b, evs)
}
