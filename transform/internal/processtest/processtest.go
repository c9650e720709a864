// Package processtest holds the checks that the transforms' tests run on a
// transform's Process alike, beyond what transform/transformtest shares:
// any input it takes comes out as valid JSON, and its speed over the corpus.
//
// It is for tests only; nothing in the binary imports it.
package processtest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

// ValidJSON processes ev alone with tr: when tr takes it, the event must
// come out as valid JSON.
func ValidJSON(t *testing.T, tr pipeline.Transform, ev pipeline.Event) {
	t.Helper()
	b, err := tr.Process(context.Background(), pipeline.Batch{Events: []pipeline.Event{ev}})
	if err != nil {
		return
	}
	if err := b.Events[0].Finalize(); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b.Events[0].Raw) {
		t.Fatalf("invalid JSON: %s", b.Events[0].Raw)
	}
}

// FuzzMapping fuzzes a transform that maps events to another schema,
// seeded with the corpus: any JSON object, as an audit log or as a request
// log, maps without panic to valid JSON.
func FuzzMapping(f *testing.F, tr pipeline.Transform) {
	for _, e := range transformtest.Corpus(f) {
		f.Add(e.Raw, e.Schema == "openai.organization_log")
	}
	f.Fuzz(func(t *testing.T, raw []byte, reqLog bool) {
		ev := pipeline.Event{Raw: raw, Schema: "openai.audit_log"}
		if reqLog {
			ev.Schema = "openai.organization_log"
		}
		ValidJSON(t, tr, ev)
	})
}

// BenchmarkCorpus processes the whole corpus with tr once an iteration,
// each time from fresh copies decoded outside the timed part, and reports
// the time per event.
func BenchmarkCorpus(b *testing.B, tr pipeline.Transform) {
	corpus := transformtest.Corpus(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		evs := transformtest.Clone(corpus)
		for i := range evs {
			_, _ = evs[i].Object()
		}
		b.StartTimer()
		if _, err := tr.Process(context.Background(), pipeline.Batch{Events: evs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus)), "ns/event")
}
