// Command kafka compares the Kafka sink's throughput with kcat producing the
// same JSONL to the same broker (a kfake broker in its own process), with
// the same compression and acks=all, and prints both rates and their ratio.
//
//	go run ./test/bench/kafka -events 200000 -compression snappy
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/kafka"
	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

func main() {
	n := flag.Int("events", 200000, "events to produce")
	comp := flag.String("compression", "snappy", "none, gzip, snappy, lz4 or zstd")
	batch := flag.Int("batch", 1000, "events per sink batch")
	flag.Parse()
	if err := run(*n, *batch, *comp); err != nil {
		fmt.Fprintln(os.Stderr, "bench kafka:", err)
		os.Exit(1)
	}
}

func run(n, batchSize int, comp string) error {
	ctx := context.Background()
	dir, bins, err := benchkit.Build("bench-kafka-*", map[string]string{"kfakebroker": "./test/kfakebroker"})
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	broker, err := benchkit.StartBroker(bins["kfakebroker"], 6, "kcat", "sink")
	if err != nil {
		return err
	}
	defer broker.Stop()
	addr := broker.Addr

	evs := make([]pipeline.Event, n)
	var jsonl bytes.Buffer
	for i := range evs {
		evs[i] = event(i)
		jsonl.Write(evs[i].Raw)
		jsonl.WriteByte('\n')
	}
	size := jsonl.Len() - n

	kc := exec.Command("kcat", "-P", "-b", addr, "-t", "kcat", "-z", comp, "-X", "acks=all", "-X", "enable.idempotence=true")
	kc.Stdin = bytes.NewReader(jsonl.Bytes())
	t0 := time.Now()
	if out, err := kc.CombinedOutput(); err != nil {
		return fmt.Errorf("kcat -P: %v\n%s", err, out)
	}
	kcatD := time.Since(t0)

	cfg := kafka.NewFactory().DefaultConfig().(*kafka.Config)
	cfg.Brokers, cfg.Topic, cfg.Compression = []string{addr}, "sink", comp
	if err := cfg.Validate(); err != nil {
		return err
	}
	s, err := kafka.New(pipeline.Settings{Name: "bench", Logger: slog.New(slog.DiscardHandler), Telemetry: pipeline.NopTelemetry{}}, cfg)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer s.Shutdown(ctx)
	t0 = time.Now()
	for i := 0; i < n; i += batchSize {
		if err := s.Consume(ctx, pipeline.Batch{Source: "acme", Events: evs[i:min(i+batchSize, n)]}); err != nil {
			return err
		}
	}
	sinkD := time.Since(t0)

	rate := func(d time.Duration) (float64, float64) {
		return float64(n) / d.Seconds(), float64(size) / d.Seconds() / 1e6
	}
	ke, km := rate(kcatD)
	se, sm := rate(sinkD)
	fmt.Printf("kafka bench: %d events of %d bytes avg, compression %s, acks=all, one kfake broker\n", n, size/n, comp)
	fmt.Printf("  kcat -P     %10.0f events/s  %7.1f MB/s\n", ke, km)
	fmt.Printf("  kafka sink  %10.0f events/s  %7.1f MB/s\n", se, sm)
	fmt.Printf("  ratio sink/kcat: %.2fx\n", se/ke)
	return nil
}

// event returns a realistic audit event of about 700 bytes.
func event(i int) pipeline.Event {
	id := fmt.Sprintf("audit_log-%08d_20250101", i)
	typ := []string{"login.succeeded", "api_key.created", "project.archived"}[i%3]
	raw := fmt.Sprintf(`{"id":%q,"type":%q,"effective_at":%d,"project":{"id":"proj_%03d","name":"Project %d"},`+
		`"actor":{"type":"session","session":{"user":{"id":"user_%03d","email":"user%d@example.com"},`+
		`"ip_address":"203.0.113.%d","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",`+
		`"ja3":"a0e9f5d64349fb13191bc781f81f42e1","ja4":"t13d1516h2_8daaf6152771_02713d6af862",`+
		`"ip_address_details":{"country":"US","city":"San Francisco","region":"California","region_code":"CA","asn":"1234","latitude":"37.77","longitude":"-122.41"}}},`+
		`%q:{"id":"obj_%d","data":{"scopes":["api.model.read","api.model.request"]}}}`,
		id, typ, 1735689600+i, i%7, i%7, i%11, i%11, i%250, typ, i)
	return pipeline.Event{ID: id, Type: typ, Source: "acme", Schema: "openai.audit_log", Raw: []byte(raw)}
}
