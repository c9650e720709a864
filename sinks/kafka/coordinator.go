package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditrelay/auditrelay/pipeline"
)

// OwnershipObserver is an optional extension of the pipeline.Telemetry
// given to the store: the coordinator reports to it which sources this
// replica runs, so that readiness does not hold a source another replica
// runs against this one. Implementations must be safe for concurrent use and
// must not block.
type OwnershipObserver interface {
	// SourceOwned is called with false for every source when the group
	// is joined, then on every change.
	SourceOwned(source string, owned bool)
}

// coordinator shares the sources of a config among the replicas of
// auditrelay, with Kafka as the coordinator (see the package doc). It joins
// the group at the first Acquire (a `run --once` never calls it, so it never
// takes sources from running replicas) and leaves it at stop. Safe for
// concurrent use.
type coordinator struct {
	cfg  CoordinationConfig
	sink *TxnSink
	log  *slog.Logger
	obs  OwnershipObserver // nil when the telemetry lacks it

	mu      sync.Mutex
	slots   map[string]*slot // by source name
	byPart  map[int32][]*slot
	joined  bool
	cl      *kgo.Client
	changed chan struct{} // closed and replaced whenever ownership changes
}

// slot is the ownership state of one source. Guarded by coordinator.mu.
type slot struct {
	name  string
	owned bool
	grant chan struct{} // closed while owned
	// cancel and done belong to the run in progress (nil when none):
	// cancel stops it, done is closed once it returned and its producer
	// was released.
	cancel context.CancelFunc
	done   chan struct{}
}

// newCoordinator returns a coordinator of sources over the cluster of sink.
func newCoordinator(cfg CoordinationConfig, sink *TxnSink, sources []string, log *slog.Logger, tel pipeline.Telemetry) *coordinator {
	c := &coordinator{cfg: cfg, sink: sink, log: log, slots: map[string]*slot{}, changed: make(chan struct{})}
	c.obs, _ = tel.(OwnershipObserver)
	for _, n := range sources {
		c.slots[n] = &slot{name: n, grant: make(chan struct{})}
	}
	return c
}

// Owned returns the sorted names of the sources this replica owns now.
func (c *coordinator) Owned() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n, s := range c.slots {
		if s.owned {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Changed returns a channel closed at the next change of ownership, for
// tests and status pages that wait for a hand-over.
func (c *coordinator) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// MemberID returns this replica's member id in the group ("" before it
// joined).
func (c *coordinator) MemberID() string {
	c.mu.Lock()
	cl := c.cl
	c.mu.Unlock()
	if cl == nil {
		return ""
	}
	id, _ := cl.GroupMetadata()
	return id
}

// ensureJoined joins the group on the first call: it maps the sources to
// the partitions of the coordination topic (creating the topic when
// missing) and creates the group client. ctx bounds the topic lookup.
func (c *coordinator) ensureJoined(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joined {
		return nil
	}
	if err := c.join(ctx); err != nil {
		return err
	}
	c.joined = true
	return nil
}

// join runs with c.mu held.
func (c *coordinator) join(ctx context.Context) error {
	names := make([]string, 0, len(c.slots))
	for n := range c.slots {
		names = append(names, n)
	}
	slices.Sort(names)
	parts, err := c.ensureTopic(ctx, int32(len(names)))
	if err != nil {
		return err
	}
	if int(parts) != len(names) {
		c.log.Warn("coordination topic has not one partition per source: some replicas may get more sources than others",
			"topic", c.cfg.Topic, "partitions", parts, "sources", len(names))
	}
	c.byPart = map[int32][]*slot{}
	for i, n := range names {
		if c.obs != nil {
			c.obs.SourceOwned(n, false)
		}
		p := int32(i) % parts
		c.byPart[p] = append(c.byPart[p], c.slots[n])
	}
	opts := append(c.sink.clientOpts(),
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.ConsumeTopics(c.cfg.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.SessionTimeout(c.cfg.SessionTimeout),
		kgo.HeartbeatInterval(c.cfg.HeartbeatInterval),
		kgo.RebalanceTimeout(c.cfg.RebalanceTimeout),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onRevoked),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("coordinator: group %q: %w", c.cfg.Group, err)
	}
	c.cl = cl
	c.log.Info("joining the group of replicas", "group", c.cfg.Group, "topic", c.cfg.Topic, "sources", len(names))
	return nil
}

// ensureTopic returns the partition count of the coordination topic,
// creating it with want partitions when it is missing.
func (c *coordinator) ensureTopic(ctx context.Context, want int32) (int32, error) {
	cl, err := kgo.NewClient(append(c.sink.clientOpts(), kgo.MetadataMinAge(250*time.Millisecond))...)
	if err != nil {
		return 0, fmt.Errorf("coordinator: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	created := false
	for attempt := 0; ; attempt++ {
		td, err := adm.ListTopics(ctx, c.cfg.Topic)
		if err != nil {
			return 0, fmt.Errorf("coordinator: topic %q: %w", c.cfg.Topic, err)
		}
		if d, ok := td[c.cfg.Topic]; ok && d.Err == nil && len(d.Partitions) > 0 {
			return int32(len(d.Partitions)), nil
		} else if ok && d.Err != nil && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return 0, fmt.Errorf("coordinator: topic %q: %w", c.cfg.Topic, d.Err)
		}
		if !created {
			resp, err := adm.CreateTopic(ctx, want, c.cfg.ReplicationFactor, nil, c.cfg.Topic)
			if err == nil {
				err = resp.Err
			}
			if err == nil {
				c.log.Info("created the coordination topic", "topic", c.cfg.Topic, "partitions", want)
				return want, nil
			}
			if !errors.Is(err, kerr.TopicAlreadyExists) {
				return 0, fmt.Errorf("coordinator: creating topic %q with %d partitions: %w", c.cfg.Topic, want, err)
			}
			created = true // by another replica: wait until it is visible
		}
		if attempt >= 20 {
			return 0, fmt.Errorf("coordinator: topic %q exists but its metadata is not visible", c.cfg.Topic)
		}
		if err := pipeline.Sleep(ctx, 250*time.Millisecond); err != nil {
			return 0, fmt.Errorf("coordinator: topic %q: %w", c.cfg.Topic, err)
		}
	}
}

// stop leaves the group. Leaving makes Kafka hand this replica's sources
// to the others at once, without waiting for the session timeout. ctx and
// the session timeout bound the leave.
func (c *coordinator) stop(ctx context.Context) {
	c.mu.Lock()
	cl := c.cl
	c.cl, c.joined = nil, false
	c.mu.Unlock()
	if cl == nil {
		return
	}
	// Past the session timeout Kafka expels this member anyway: do not
	// let an unreachable coordinator hold the shutdown longer.
	lctx, cancel := context.WithTimeout(ctx, c.cfg.SessionTimeout)
	defer cancel()
	if err := cl.LeaveGroupContext(lctx); err != nil {
		c.log.Warn("leaving the group of replicas", "group", c.cfg.Group, "err", err)
	}
	cl.Close()
	c.log.Info("left the group of replicas", "group", c.cfg.Group)
}

// onAssigned grants the sources of the assigned partitions. It runs in the
// client's group loop.
func (c *coordinator) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for _, p := range assigned[c.cfg.Topic] {
		for _, s := range c.byPart[p] {
			if !s.owned {
				s.owned = true
				close(s.grant)
				got = append(got, s.name)
				if c.obs != nil {
					c.obs.SourceOwned(s.name, true)
				}
			}
		}
	}
	if len(got) > 0 {
		c.notifyLocked()
		c.log.Info("this replica now owns sources", "sources", got)
	}
}

// onRevoked (also for lost partitions) takes the sources of the partitions
// away and blocks until their runs stopped and released their producers,
// so that the group moves a partition on only after its source stopped
// here. It runs in the client's group loop; ctx is the client's.
func (c *coordinator) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	t0 := time.Now()
	c.mu.Lock()
	var lost []string
	var waits []chan struct{}
	for _, p := range revoked[c.cfg.Topic] {
		for _, s := range c.byPart[p] {
			if s.owned {
				s.owned = false
				s.grant = make(chan struct{})
				lost = append(lost, s.name)
				if c.obs != nil {
					c.obs.SourceOwned(s.name, false)
				}
			}
			if s.cancel != nil {
				s.cancel()
				waits = append(waits, s.done)
			}
		}
	}
	if len(lost) > 0 {
		c.notifyLocked()
	}
	c.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
		}
	}
	if len(lost) > 0 {
		c.log.Info("this replica gave sources up", "sources", lost, "stopping_took", time.Since(t0).Round(time.Millisecond))
	}
}

func (c *coordinator) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Acquire blocks until this replica owns source (joining the group on the
// first call) or ctx is done. The returned context is cancelled when the
// source is revoked; release must be called once the source stopped: it
// closes the source's transactional producer (a later run here initializes
// the transactional id afresh) and lets a pending revocation complete.
func (c *coordinator) Acquire(ctx context.Context, source string) (context.Context, func(), error) {
	if err := c.ensureJoined(ctx); err != nil {
		return nil, nil, err
	}
	for {
		c.mu.Lock()
		sl := c.slots[source]
		if sl == nil {
			c.mu.Unlock()
			return nil, nil, fmt.Errorf("coordinator: unknown source %q", source)
		}
		grant := sl.grant
		c.mu.Unlock()
		select {
		case <-grant:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		c.mu.Lock()
		if !sl.owned {
			c.mu.Unlock()
			continue // revoked between the grant and now
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		sl.cancel, sl.done = cancel, done
		c.mu.Unlock()
		c.log.Info("running source", "source", source)
		release := func() {
			cancel()
			c.release(ctx, source)
			c.mu.Lock()
			sl.cancel, sl.done = nil, nil
			c.mu.Unlock()
			close(done)
		}
		return rctx, release, nil
	}
}

// release closes the source's transactional producer so that a later run
// here initializes the transactional id afresh. It is bounded by the
// session timeout: a replica that cannot reach Kafka is fenced anyway.
func (c *coordinator) release(ctx context.Context, source string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.SessionTimeout)
	defer cancel()
	if err := c.sink.releaseSource(rctx, source); err != nil {
		c.log.Warn("releasing the source's transactional producer", "source", source, "err", err)
	}
}
