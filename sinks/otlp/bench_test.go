package otlp

import (
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
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
				httpbatchtest.BenchConsume(b, s, pipeline.Batch{Source: "acme", Events: manyEvents(b, 1000)})
			})
		}
	}
}

// BenchmarkMap measures the mapping alone.
func BenchmarkMap(b *testing.B) {
	benchMap(b, manyEvents(b, 1000))
}

// benchMap measures the mapping of evs, in events per second.
func benchMap(b *testing.B, evs []pipeline.Event) {
	m := newMapper(defaultConfig())
	for b.Loop() {
		_ = m.logs("acme", evs)
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
