package otlp

import (
	"context"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

// BenchmarkConsume measures the sink's throughput (events/s) against an
// in-process OTLP server, mapping included, in batches of 1000 events.
func BenchmarkConsume(b *testing.B) {
	for _, proto := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		for _, body := range []string{"structured", "string"} {
			b.Run(proto+"/"+body, func(b *testing.B) {
				c := &collector{reply: nil}
				var endpoint string
				if proto == ProtocolGRPC {
					endpoint = startGRPC(b, c)
				} else {
					endpoint = startHTTP(b, c, nil)
				}
				s := newSink(b, func(cfg *Config) { cfg.Protocol, cfg.Endpoint, cfg.Body = proto, endpoint, body })
				batch := pipeline.Batch{Source: "acme", Events: manyEvents(b, 1000)}
				b.SetBytes(int64(batch.Bytes()))
				b.ResetTimer()
				for b.Loop() {
					if err := s.Consume(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(batch.Events))/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkMap measures the mapping alone.
func BenchmarkMap(b *testing.B) {
	m := newMapper(defaultConfig())
	evs := manyEvents(b, 1000)
	for b.Loop() {
		_ = m.logs("acme", evs)
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
