package dedup

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

func batch(source string, ids ...string) pipeline.Batch {
	b := pipeline.Batch{Source: source}
	for _, id := range ids {
		b.Events = append(b.Events, pipeline.Event{ID: id, Source: source, Raw: []byte(`{"id":"` + id + `"}`)})
	}
	return b
}

func got(b pipeline.Batch) string {
	s := make([]string, len(b.Events))
	for i, e := range b.Events {
		s[i] = e.ID
	}
	return strings.Join(s, ",")
}

func TestProcess(t *testing.T) {
	type step struct {
		advance time.Duration
		b       pipeline.Batch
		want    string
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"other source dropped", Config{MaxEntries: 10, TTL: time.Hour}, []step{
			{0, batch("a", "1", "2"), "1,2"},
			{0, batch("b", "2", "3"), "3"},
		}},
		{"owner re-delivery passes (retried window)", Config{MaxEntries: 10, TTL: time.Hour}, []step{
			{0, batch("a", "1", "2"), "1,2"},
			{0, batch("a", "1", "2"), "1,2"},
			{0, batch("b", "1"), ""},
		}},
		{"duplicates within a batch", Config{MaxEntries: 10, TTL: time.Hour}, []step{
			{0, batch("a", "1", "1", "2", "1"), "1,2"},
		}},
		{"events without id pass", Config{MaxEntries: 10, TTL: time.Hour}, []step{
			{0, batch("a", "", ""), ","},
		}},
		{"ttl forgets", Config{MaxEntries: 10, TTL: time.Minute}, []step{
			{0, batch("a", "1"), "1"},
			{59 * time.Second, batch("b", "1"), ""},
			{2 * time.Minute, batch("b", "1"), "1"},
		}},
		{"size bound forgets oldest", Config{MaxEntries: 2, TTL: time.Hour}, []step{
			{0, batch("a", "1", "2", "3"), "1,2,3"},
			{0, batch("b", "1", "3"), "1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			d := New(&tt.cfg, func() time.Time { return now })
			for i, s := range tt.steps {
				now = now.Add(s.advance)
				out, err := d.Process(context.Background(), s.b)
				if err != nil {
					t.Fatal(err)
				}
				if g := got(out); g != s.want {
					t.Fatalf("step %d: kept %q, want %q", i, g, s.want)
				}
				if out.Source != s.b.Source {
					t.Fatalf("step %d: source lost", i)
				}
				if d.Len() > tt.cfg.MaxEntries {
					t.Fatalf("step %d: %d ids remembered, bound %d", i, d.Len(), tt.cfg.MaxEntries)
				}
			}
		})
	}
}

func TestConcurrentSources(t *testing.T) {
	d := New(&Config{MaxEntries: 100_000, TTL: time.Hour}, time.Now)
	const n = 2000
	results := make(chan int, 2)
	for _, src := range []string{"a", "b"} {
		go func() {
			total := 0
			for i := 0; i < n; i += 100 {
				var ids []string
				for j := i; j < i+100; j++ {
					ids = append(ids, fmt.Sprint(j))
				}
				out, _ := d.Process(context.Background(), batch(src, ids...))
				total += len(out.Events)
			}
			results <- total
		}()
	}
	if sum := <-results + <-results; sum != n {
		t.Fatalf("the two sources passed %d events together, want each id once (%d)", sum, n)
	}
}

func TestValidate(t *testing.T) {
	err := (&Config{}).Validate()
	for _, key := range []string{"max_entries", "ttl"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
	if err := NewFactory().DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
}

func BenchmarkProcess(b *testing.B) {
	d := New(&Config{MaxEntries: 50_000, TTL: time.Hour}, time.Now)
	evs := make([]pipeline.Event, 100)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("audit_log-%08d", i)
	}
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		for i := range evs {
			evs[i] = pipeline.Event{ID: ids[k&(len(ids)-1)]}
			k++
		}
		if _, err := d.Process(context.Background(), pipeline.Batch{Source: "a", Events: evs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}
