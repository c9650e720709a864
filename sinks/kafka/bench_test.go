package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auditrelay/auditrelay/pipeline"
)

// BenchmarkSink produces realistic ~700-byte audit events to an in-process
// kfake broker in batches of 1000 (acks=all, idempotent, snappy) and
// reports events/s and MB/s.
func BenchmarkSink(b *testing.B) {
	for _, comp := range []string{"snappy", "none"} {
		b.Run(comp, func(b *testing.B) {
			_, addr := newCluster(b, kfake.SeedTopics(6, "audit"))
			cfg := testConfig(addr, "audit")
			cfg.Compression = comp
			s := startSink(b, cfg)
			batch := pipeline.Batch{Source: "acme", Events: events(0, 1000, "acme")}
			size := batch.Bytes()
			b.SetBytes(int64(size))
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if err := s.Consume(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N*len(batch.Events))/secs, "events/s")
			b.ReportMetric(float64(b.N*size)/secs/1e6, "MB/s")
		})
	}
}
