package detect

import (
	"context"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

// BenchmarkDefaultPack runs the default pack over simulator audit events
// in windows of 1000, state in memory: the transform's own cost per event.
func BenchmarkDefaultPack(b *testing.B) {
	evs := openaiCorpus(b, 20000)
	c := DefaultConfig()
	d, err := New(c, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		i := n % len(evs)
		w := evs[i:min(i+1000, len(evs))]
		n += len(w)
		in := []pipeline.Batch{{Source: "acme", Events: append([]pipeline.Event(nil), w...)}}
		if _, err := d.ProcessWindow(context.Background(), "acme", in); err != nil {
			b.Fatal(err)
		}
		if err := d.CommitWindow(context.Background(), "acme"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}
