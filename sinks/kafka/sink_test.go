package kafka

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestRecordsKeysHeaders(t *testing.T) {
	_, addr := newCluster(t, kfake.SeedTopics(3, "audit"))
	for _, tc := range []struct {
		key  string
		want func(ev pipeline.Event) string
	}{
		{KeyID, func(ev pipeline.Event) string { return ev.ID }},
		{KeySource, func(pipeline.Event) string { return "acme" }},
		{KeyActor, func(ev pipeline.Event) string { return ev.ActorID }},
		{KeyProject, func(ev pipeline.Event) string { return ev.ProjectID }},
		{KeyType, func(ev pipeline.Event) string { return ev.Type }},
		{KeyNone, func(pipeline.Event) string { return "" }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			topic := "audit-" + tc.key
			cfg := testConfig(addr, topic)
			cfg.CreateTopics = true
			cfg.Key = tc.key
			cfg.Headers.Static = map[string]string{"env": "prod", "team": "sec"}
			s := startSink(t, cfg)
			evs := events(0, 50, "acme")
			if err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
				t.Fatal(err)
			}
			recs := readAll(t, addr, topic, true)
			if len(recs) != len(evs) {
				t.Fatalf("read %d records, want %d", len(recs), len(evs))
			}
			byID := map[string]pipeline.Event{}
			for _, ev := range evs {
				byID[ev.ID] = ev
			}
			for _, r := range recs {
				id, _ := header(r, "event.id")
				ev, ok := byID[id]
				if !ok {
					t.Fatalf("record with unknown event.id %q", id)
				}
				delete(byID, id)
				if !bytes.Equal(r.Value, ev.Raw) {
					t.Errorf("value of %s differs from the event's Raw", id)
				}
				if string(r.Key) != tc.want(ev) || (tc.key == KeyNone && r.Key != nil) {
					t.Errorf("key of %s = %q, want %q", id, r.Key, tc.want(ev))
				}
				for k, v := range map[string]string{"event.type": ev.Type, "event.source": "acme", "event.schema": "openai.audit_log", "env": "prod", "team": "sec"} {
					if got, ok := header(r, k); !ok || got != v {
						t.Errorf("header %s of %s = %q (present %v), want %q", k, id, got, ok, v)
					}
				}
			}
			if len(byID) != 0 {
				t.Errorf("%d events missing", len(byID))
			}
		})
	}
}

func TestTopicTemplate(t *testing.T) {
	_, addr := newCluster(t, kfake.SeedTopics(1, "openai.audit.login.succeeded", "openai.audit.api_key.created"))
	cfg := testConfig(addr, "openai.audit.{{.Type}}")
	s := startSink(t, cfg)
	evs := events(0, 9, "acme") // types cycle over login.succeeded, api_key.created, project.archived
	err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: evs})
	var rej *pipeline.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("Consume = %v, want a RejectedError for the missing topic", err)
	}
	if len(rej.Rejected) != 3 {
		t.Fatalf("rejected %d events, want the 3 project.archived ones", len(rej.Rejected))
	}
	for _, r := range rej.Rejected {
		if r.Event.Type != "project.archived" || !strings.Contains(r.Reason, `"openai.audit.project.archived" does not exist`) {
			t.Errorf("rejection %s: %s", r.Event.Type, r.Reason)
		}
	}
	for _, tc := range []struct {
		topic string
		n     int
	}{{"openai.audit.login.succeeded", 3}, {"openai.audit.api_key.created", 3}} {
		if got := len(readAll(t, addr, tc.topic, true)); got != tc.n {
			t.Errorf("%s holds %d records, want %d", tc.topic, got, tc.n)
		}
	}

	t.Run("create_topics", func(t *testing.T) {
		cfg := testConfig(addr, "org.{{.Source}}.{{.Type}}")
		cfg.CreateTopics = true
		s := startSink(t, cfg)
		if err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
			t.Fatal(err)
		}
		if got := len(readAll(t, addr, "org.acme.project.archived", true)); got != 3 {
			t.Errorf("org.acme.project.archived holds %d records, want 3", got)
		}
	})
	t.Run("invalid rendered name", func(t *testing.T) {
		cfg := testConfig(addr, "x.{{.ProjectID}}")
		cfg.CreateTopics = true
		s := startSink(t, cfg)
		ev := event(1, "acme")
		ev.ProjectID = "proj/../bad name"
		err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: []pipeline.Event{ev}})
		if !errors.As(err, &rej) || !strings.Contains(rej.Rejected[0].Reason, "invalid topic name") {
			t.Fatalf("Consume = %v, want rejection for an invalid topic name", err)
		}
	})
}

func TestMissingTopicAtStart(t *testing.T) {
	_, addr := newCluster(t)
	s, err := New(testSettings("k"), testConfig(addr, "nope"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	err = s.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), `topic "nope" does not exist and create_topics is off`) || !pipeline.IsPermanent(err) {
		t.Fatalf("Start = %v, want a permanent missing-topic error", err)
	}
}

func TestOversizeRecord(t *testing.T) {
	_, addr := newCluster(t, kfake.SeedTopics(1, "audit"))
	cfg := testConfig(addr, "audit")
	cfg.MaxMessageBytes = 4096
	s := startSink(t, cfg)
	evs := events(0, 5, "acme")
	big := evs[2]
	big.Raw = []byte(`{"id":"` + big.ID + `","pad":"` + strings.Repeat("x", 5000) + `"}`)
	evs[2] = big
	err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: evs})
	var rej *pipeline.RejectedError
	if !errors.As(err, &rej) || len(rej.Rejected) != 1 || rej.Rejected[0].Event.ID != big.ID ||
		!strings.Contains(rej.Rejected[0].Reason, "exceeds max_message_bytes 4096") {
		t.Fatalf("Consume = %v, want one rejection for %s", err, big.ID)
	}
	if got := len(readAll(t, addr, "audit", true)); got != 4 {
		t.Fatalf("topic holds %d records, want the 4 others", got)
	}
}

// produceError answers every produce request with code for all partitions.
func produceError(code int16) func(kmsg.Request) (kmsg.Response, error, bool) {
	return func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			st.TopicID = rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	}
}

func TestBrokerErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       *kerr.Error
		retryable bool // else the events are rejected
	}{
		{"not enough replicas", kerr.NotEnoughReplicas, true},
		{"not leader", kerr.NotLeaderForPartition, true},
		{"leader not available", kerr.LeaderNotAvailable, true},
		{"message too large", kerr.MessageTooLarge, false},
		{"topic authorization", kerr.TopicAuthorizationFailed, false},
		{"invalid record", kerr.InvalidRecord, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, addr := newCluster(t, kfake.SeedTopics(1, "audit"))
			cfg := testConfig(addr, "audit")
			cfg.DeliveryTimeout = time.Second
			s := startSink(t, cfg)
			var healthy atomic.Bool
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				if healthy.Load() {
					c.DropControl()
					return nil, nil, false
				}
				c.KeepControl()
				return produceError(tc.err.Code)(req)
			})
			evs := events(0, 10, "acme")
			err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: evs})
			if err == nil {
				t.Fatal("Consume succeeded while the broker failed every produce")
			}
			var rej *pipeline.RejectedError
			if tc.retryable {
				if pipeline.IsPermanent(err) || errors.As(err, &rej) {
					t.Fatalf("Consume = %v, want a retryable error", err)
				}
				// The broker recovers: the runner's retry delivers everything.
				healthy.Store(true)
				if err := s.Consume(t.Context(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
					t.Fatalf("retry after recovery: %v", err)
				}
				if got := len(readAll(t, addr, "audit", true)); got < len(evs) {
					t.Fatalf("topic holds %d records, want >= %d", got, len(evs))
				}
				return
			}
			if !errors.As(err, &rej) || len(rej.Rejected) != len(evs) {
				t.Fatalf("Consume = %v, want all %d events rejected", err, len(evs))
			}
			if !strings.Contains(rej.Rejected[0].Reason, tc.err.Message) {
				t.Errorf("reason %q does not name %s", rej.Rejected[0].Reason, tc.err.Message)
			}
		})
	}
}

func TestRestartResumesFromKafkaCursor(t *testing.T) {
	c, addr := newCluster(t, kfake.SeedTopics(1, "audit"))
	run := func(save []byte) []byte {
		cfg := testConfig(addr, "audit")
		cfg.CreateTopics = true
		s, err := New(testSettings("k"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		st, err := NewStore(s, "cursors")
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := st.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown(ctx)
		defer st.Shutdown(ctx)
		got, err := st.Load(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if save != nil {
			if err := st.Save(ctx, "other", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(ctx, "acme", save); err != nil {
				t.Fatal(err)
			}
		}
		return got
	}
	if got := run([]byte(`{"time":1}`)); got != nil {
		t.Fatalf("first Load = %q, want nil", got)
	}
	if got := run([]byte(`{"time":2}`)); string(got) != `{"time":1}` {
		t.Fatalf("second Load = %q", got)
	}
	c.Compact()
	if got := run(nil); string(got) != `{"time":2}` {
		t.Fatalf("Load after compaction = %q", got)
	}
}

func TestShutdownTwiceWithoutStart(t *testing.T) {
	s, err := New(testSettings("k"), testConfig("127.0.0.1:1", "audit"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Shutdown(t.Context()); err != nil {
			t.Fatalf("Shutdown %d: %v", i, err)
		}
	}
	if err := s.Consume(t.Context(), pipeline.Batch{}); err == nil {
		t.Fatal("Consume after Shutdown succeeded")
	}
}

// TestConsumeWhenNotRunning: before Start and after Shutdown, both sinks
// refuse a batch with a clear error, even with a topic template (which
// looks topics up before producing).
func TestConsumeWhenNotRunning(t *testing.T) {
	_, addr := newCluster(t, kfake.SeedTopics(1, "audit"))
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprint("exactly_once=", eos), func(t *testing.T) {
			cfg := testConfig(addr, "audit-{{.Type}}")
			cfg.ExactlyOnce = eos
			plain, err := New(testSettings("k"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var s pipeline.Sink = plain
			if eos {
				s = &TxnSink{Sink: plain}
			}
			b := pipeline.Batch{Source: "acme", Events: events(0, 1, "acme")}
			if err := s.Consume(t.Context(), b); err == nil || !strings.Contains(err.Error(), "not running") {
				t.Fatalf("Consume before Start = %v", err)
			}
			if err := s.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.Consume(t.Context(), b); err == nil || !strings.Contains(err.Error(), "not running") {
				t.Fatalf("Consume after Shutdown = %v", err)
			}
		})
	}
}
