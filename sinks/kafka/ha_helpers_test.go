package kafka

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/openai"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/telemetry"
)

const apiKey = "sk-admin-ha-test"

// org is one simulated organization.
type org struct {
	name string
	url  string
	ids  []string // every event id visible when the test started
}

func newOrgs(t *testing.T, n, events int) []org {
	t.Helper()
	out := make([]org, n)
	for i := range out {
		sim := openaisim.New(openaisim.Options{Seed: int64(100 + i), Events: events, Span: 6 * time.Hour, APIKey: apiKey})
		url, err := sim.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		out[i] = org{name: fmt.Sprintf("org%d", i), url: url, ids: sim.VisibleIDs(time.Now())}
		if len(out[i].ids) < events/2 {
			t.Fatalf("simulator %d shows %d of %d events", i, len(out[i].ids), events)
		}
	}
	return out
}

// newHACluster starts the cluster of the replicas. The group requests it
// receives (joins, syncs, heartbeats, leaves) wake waitUntil, so that a
// wait for a change of membership sees it.
func newHACluster(t *testing.T) (*kfake.Cluster, string) {
	t.Helper()
	c, addr := newCluster(t, kfake.SeedTopics(3, "audit"), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	for _, k := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.LeaveGroup} {
		c.ControlKey(int16(k), func(kmsg.Request) (kmsg.Response, error, bool) {
			progress.notify()
			return nil, nil, false // observe only: the cluster handles the request
		})
	}
	return c, addr
}

// signal wakes every waiter at each notify.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// notify wakes those waiting on the channels wait returned so far.
func (s *signal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// wait returns a channel closed at the next notify.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// progress is notified whenever a replica of the HA tests does something a
// test may wait for: the sink took a batch, a window was committed, the
// replica's sources changed hands, it logged a line, or the group saw a
// request. A spurious wake (another test's replica) only costs a check.
var progress signal

// commits is notified at each committed window: what a read_committed
// consumer reads changes only then.
var commits signal

// gate is the telemetry of a replica with two test controls: it paces
// the replica (a pause after each batch the Kafka sink took) and can freeze
// it right after the sink took a batch, its transaction open, ignoring its
// context as a stopped process would.
type gate struct {
	*telemetry.Telemetry
	delay   time.Duration
	batches atomic.Int64 // batches the sink took
	mu      sync.Mutex
	freeze  chan struct{} // when set, the next batch blocks until it is closed
	frozen  chan struct{} // closed once a batch is blocked
}

// SinkBatch implements pipeline.Telemetry: the engine calls it after each
// Consume, before the window's commit.
func (g *gate) SinkBatch(sink string, events, bytes int, d time.Duration, err error) {
	g.Telemetry.SinkBatch(sink, events, bytes, d, err)
	if err != nil || events == 0 {
		return
	}
	g.mu.Lock()
	freeze, frozen := g.freeze, g.frozen
	g.freeze = nil
	g.mu.Unlock()
	if freeze != nil {
		close(frozen)
		<-freeze // deliberately deaf to any context: the process is frozen
	}
	time.Sleep(g.delay) // pacing: each batch takes this long, as if the destination were slower
	g.batches.Add(1)
	progress.notify()
}

// WindowCommitted implements pipeline.Telemetry: the window's transaction
// is committed, so what a read_committed consumer sees has changed.
func (g *gate) WindowCommitted(source string, events int, d time.Duration, cursor time.Time) {
	g.Telemetry.WindowCommitted(source, events, d, cursor)
	progress.notify()
	commits.notify()
}

// freezeNext makes the next batch block, its window's transaction open,
// until the returned release is called; frozen is closed once it blocks.
func (g *gate) freezeNext() (frozen <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.freeze, g.frozen = make(chan struct{}), make(chan struct{})
	f := g.freeze
	var once sync.Once
	return g.frozen, func() { once.Do(func() { close(f) }) }
}

// logBuffer collects a replica's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer progress.notify()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// replica is one auditrelay process: a pipeline whose Kafka cursor store
// coordinates its sources with the other replicas.
type replica struct {
	name   string
	coord  *coordinator
	gate   *gate
	logs   *logBuffer
	tel    *telemetry.Telemetry
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

type replicaOpts struct {
	sessionTimeout  time.Duration
	shutdownTimeout time.Duration
	delay           time.Duration
}

func configYAML(addr string, orgs []org, o replicaOpts) string {
	var b strings.Builder
	b.WriteString("sources:\n")
	for _, g := range orgs {
		fmt.Fprintf(&b, `  - name: %s
    type: openai_audit_logs
    base_url: %s
    api_key: %s
    start_at: 24h
    poll_interval: 100ms
    settle: 0s
    overlap: 1m
    max_window_events: 60
    page_size: 50
    batch_size: 15
    retry_wait_min: 10ms
    retry_wait_max: 100ms
`, g.name, g.url, apiKey)
	}
	fmt.Fprintf(&b, `sinks:
  - name: kafka
    type: kafka
    brokers: [%s]
    topic: audit
    exactly_once: true
    create_topics: true
    delivery_timeout: 5s
    transaction_timeout: 20s
checkpoint:
  type: kafka
  sink: kafka
  topic: cursors
  coordination:
    group: ha-test
    topic: coordination
    session_timeout: %s
    heartbeat_interval: %s
    rebalance_timeout: 10s
shutdown_timeout: %s
`, addr, o.sessionTimeout, o.sessionTimeout/5, o.shutdownTimeout)
	return b.String()
}

// startReplica builds and runs a replica the way `auditrelay run` does.
func startReplica(t *testing.T, name, addr string, orgs []org, o replicaOpts) *replica {
	t.Helper()
	var store pipeline.CursorStore
	stores := NewStoreFactory()
	keep := pipeline.NewStoreFactory("kafka", func() *StoreConfig { return stores.DefaultConfig().(*StoreConfig) },
		func(set pipeline.Settings, c *StoreConfig, host pipeline.StoreHost) (pipeline.CursorStore, error) {
			var err error
			store, err = stores.CreateStore(set, c, host)
			return store, err
		})
	reg, err := pipeline.NewRegistry(openai.NewFactory(nil), NewFactory(), keep)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(configYAML(addr, orgs, o)), t.TempDir(), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", name)
	tel := telemetry.New(telemetry.Options{StuckAfter: time.Minute, SinkFailingAfter: time.Minute})
	tel.Begin([]string{"org0", "org1", "org2"}[:len(orgs)], []string{"kafka"})
	g := &gate{Telemetry: tel, delay: o.delay}
	p, err := pipeline.Build(reg, cfg.Spec, log, g)
	if err != nil {
		t.Fatal(err)
	}
	gs, ok := store.(*gatedStore)
	if !ok {
		t.Fatalf("the store is a %T, not one that coordinates replicas", store)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	r := &replica{name: name, coord: gs.coord, gate: g, logs: logs, tel: tel, cancel: cancel, done: make(chan error, 1)}
	go func() { // a change of the sources this replica owns wakes waitUntil
		for {
			select {
			case <-r.coord.Changed():
				progress.notify()
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		err := p.Run(ctx, pipeline.RunOptions{})
		if err != nil {
			log.Error("pipeline stopped", "err", err)
		}
		r.done <- err
	}()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, logs.String())
		}
	})
	return r
}

// stop cancels the replica and waits for its pipeline to return.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Errorf("replica %s did not stop", r.name)
		}
	})
}

// isolate makes the broker ignore the replica's group membership: its
// heartbeats, joins and leave requests fail before the broker acts on
// them, so Kafka expels it only when its session times out, as if the
// process had died or lost the network.
func isolate(t *testing.T, c *kfake.Cluster, r *replica) *kfake.FaultHandle {
	t.Helper()
	member := r.coord.MemberID()
	if member == "" {
		t.Fatalf("replica %s has not joined the group", r.name)
	}
	return c.Fault(kfake.Fault{
		Keys:     []kmsg.Key{kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup, kmsg.LeaveGroup, kmsg.OffsetCommit},
		TopLevel: true,
		Err:      kerr.CoordinatorNotAvailable,
		Count:    -1,
		When: func(req kmsg.Request) bool {
			switch r := req.(type) {
			case *kmsg.HeartbeatRequest:
				return r.MemberID == member
			case *kmsg.JoinGroupRequest:
				return r.MemberID == member
			case *kmsg.SyncGroupRequest:
				return r.MemberID == member
			case *kmsg.OffsetCommitRequest:
				return r.MemberID == member
			case *kmsg.LeaveGroupRequest:
				if r.MemberID == member {
					return true
				}
				for _, m := range r.Members {
					if m.MemberID == member {
						return true
					}
				}
			}
			return false
		},
	})
}

// owners maps each source to the replicas that own it now.
func owners(rs ...*replica) map[string][]string {
	out := map[string][]string{}
	for _, r := range rs {
		for _, s := range r.coord.Owned() {
			out[s] = append(out[s], r.name)
		}
	}
	return out
}

// waitUntil waits up to d for cond and returns how long that took. cond is
// checked now and again at each notify of progress, that is right after
// each step of the replicas or of the group that may have made it true.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return waitOn(t, &progress, d, what, cond)
}

// waitCommitted is waitUntil for a cond that reads the topic back: it is
// checked at each committed window only.
func waitCommitted(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return waitOn(t, &commits, d, what, cond)
}

func waitOn(t *testing.T, s *signal, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	t0 := time.Now()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		woke := s.wait() // before cond: a step taken during cond wakes the next wait
		if cond() {
			return time.Since(t0)
		}
		select {
		case <-woke:
		case <-timeout.C:
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

// committed reads topic to its current end (see readAll) and counts the
// records by source and key (the event id).
func committed(t *testing.T, addr, topic string, readCommitted bool) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, r := range readAll(t, addr, topic, readCommitted) {
		src, _ := header(r, "event.source")
		if out[src] == nil {
			out[src] = map[string]int{}
		}
		out[src][string(r.Key)]++
	}
	return out
}

// complete reports whether every event of every org was committed.
func complete(got map[string]map[string]int, orgs []org) bool {
	for _, o := range orgs {
		for _, id := range o.ids {
			if got[o.name][id] == 0 {
				return false
			}
		}
	}
	return true
}

// checkExactlyOnce fails unless every event of every org appears exactly
// once and nothing else appears.
func checkExactlyOnce(t *testing.T, got map[string]map[string]int, orgs []org) {
	t.Helper()
	total := 0
	for _, o := range orgs {
		missing, dup := 0, 0
		for _, id := range o.ids {
			switch n := got[o.name][id]; {
			case n == 0:
				missing++
			case n > 1:
				dup++
			}
		}
		if missing > 0 || dup > 0 || len(got[o.name]) != len(o.ids) {
			t.Errorf("%s: %d events: %d missing, %d duplicated, %d distinct ids read", o.name, len(o.ids), missing, dup, len(got[o.name]))
		}
		total += len(o.ids)
	}
	if len(got) != len(orgs) {
		t.Errorf("records of %d sources, want %d", len(got), len(orgs))
	}
	t.Logf("read_committed: %d events of %d organizations, each exactly once", total, len(orgs))
}
