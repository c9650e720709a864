package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditrelay/auditrelay/pipeline"
)

func newCluster(t testing.TB, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

func testConfig(addr, topic string) *Config {
	c := defaultConfig()
	c.Brokers = []string{addr}
	c.Topic = topic
	c.Linger = 0
	c.DeliveryTimeout = 5 * time.Second
	return c
}

func testSettings(name string) pipeline.Settings {
	return pipeline.Settings{Name: name, Type: "kafka", Logger: slog.New(slog.DiscardHandler), Telemetry: pipeline.NopTelemetry{}}
}

func startSink(t testing.TB, cfg *Config) *Sink {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New(testSettings("k"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.WithoutCancel(t.Context())) })
	return s
}

// event returns a realistic audit event of about 700 bytes.
func event(i int, source string) pipeline.Event {
	id := fmt.Sprintf("audit_log-%06d_20250101", i)
	typ := []string{"login.succeeded", "api_key.created", "project.archived"}[i%3]
	proj := fmt.Sprintf("proj_%03d", i%7)
	raw := fmt.Sprintf(`{"id":%q,"type":%q,"effective_at":%d,"project":{"id":%q,"name":"Project %d"},`+
		`"actor":{"type":"session","session":{"user":{"id":"user_%03d","email":"user%d@example.com"},`+
		`"ip_address":"203.0.113.%d","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",`+
		`"ja3":"a0e9f5d64349fb13191bc781f81f42e1","ja4":"t13d1516h2_8daaf6152771_02713d6af862",`+
		`"ip_address_details":{"country":"US","city":"San Francisco","region":"California","region_code":"CA","asn":"1234","latitude":"37.77","longitude":"-122.41"}}},`+
		`%q:{"id":"obj_%d","data":{"scopes":["api.model.read","api.model.request"],"note":"padding padding padding padding padding padding"}}}`,
		id, typ, 1735689600+i, proj, i%7, i%11, i%11, i%250, typ, i)
	return pipeline.Event{ID: id, Type: typ, Time: time.Unix(int64(1735689600+i), 0), Source: source,
		ActorID: fmt.Sprintf("user_%03d", i%11), ProjectID: proj, Schema: "openai.audit_log", Raw: []byte(raw)}
}

func events(from, n int, source string) []pipeline.Event {
	evs := make([]pipeline.Event, n)
	for i := range evs {
		evs[i] = event(from+i, source)
	}
	return evs
}

// readAll returns every record of topic up to its current end, with
// read_committed or read_uncommitted. The end of a read_committed reader
// is the last stable offset: it stops before a transaction still open.
func readAll(t testing.TB, addr, topic string, committed bool) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var ends kadm.ListedOffsets
	if committed {
		ends, err = adm.ListCommittedOffsets(ctx, topic)
	} else {
		ends, err = adm.ListEndOffsets(ctx, topic)
	}
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset - 1
		}
	})
	if len(want) == 0 {
		return nil
	}
	iso := kgo.ReadUncommitted()
	if committed {
		iso = kgo.ReadCommitted()
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(iso), kgo.KeepControlRecords(), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []*kgo.Record
	for len(want) > 0 {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: timed out, still waiting for %v", topic, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if last, ok := want[r.Partition]; ok && r.Offset >= last {
				delete(want, r.Partition)
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}
