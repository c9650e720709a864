package coordinator

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

// Sink is what the coordinator needs of the Kafka sink it names: its
// cluster, and a way to drop a source's transactional producer when the
// source moves to another replica. *kafka.Sink implements it.
type Sink interface {
	// ClientOpts returns options connecting a client to the sink's cluster.
	ClientOpts() []kgo.Opt
	// ExactlyOnce reports whether windows are written in transactions.
	ExactlyOnce() bool
	// ReleaseSource closes the transactional producer of a stopped source.
	ReleaseSource(ctx context.Context, source string) error
}

// OwnershipObserver is an optional extension of the pipeline.Telemetry
// given to New: the coordinator reports to it which sources this replica
// runs, so that readiness does not hold a source another replica runs
// against this one. Implementations must be safe for concurrent use and
// must not block.
type OwnershipObserver interface {
	// SourceOwned is called with false for every source when the group
	// is joined, then on every change.
	SourceOwned(source string, owned bool)
}

// Coordinator owns the group membership of one replica and runs each
// wrapped source only while this replica owns it. Create it with New, wrap
// every source with Wrap before the pipeline runs; the group is joined when
// the first wrapped source starts and left when the last one shuts down.
// Safe for concurrent use.
type Coordinator struct {
	cfg  Config
	sink Sink
	log  *slog.Logger
	obs  OwnershipObserver // nil when the telemetry lacks it

	mu      sync.Mutex
	slots   map[string]*slot // by source name
	byPart  map[int32][]*slot
	refs    int // started wrappers
	cl      *kgo.Client
	changed chan struct{} // closed and replaced whenever ownership changes
}

// slot is the ownership state of one source. Guarded by Coordinator.mu.
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

// New returns a coordinator for cfg (validated) that talks to the cluster
// of sink, which must run exactly_once. tel (may be nil) is told which
// sources this replica owns when it implements OwnershipObserver. Nothing
// connects before a wrapped source starts.
func New(cfg Config, sink Sink, log *slog.Logger, tel pipeline.Telemetry) (*Coordinator, error) {
	if !sink.ExactlyOnce() {
		return nil, pipeline.Permanent(fmt.Errorf("coordination.sink: kafka sink %q must have exactly_once: replicas hand sources over through its transactions", cfg.Sink))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Coordinator{cfg: cfg, sink: sink, log: log, slots: map[string]*slot{}, changed: make(chan struct{})}
	c.obs, _ = tel.(OwnershipObserver)
	return c, nil
}

// Wrap returns src wrapped so that it runs only while this replica owns
// source name. It fits pipeline.Pipeline.WrapSources. Call it for every
// source before the pipeline starts.
func (c *Coordinator) Wrap(name string, src pipeline.Source) pipeline.Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slots[name] = &slot{name: name, grant: make(chan struct{})}
	return &source{c: c, name: name, inner: src}
}

// Owned returns the sorted names of the sources this replica owns now.
func (c *Coordinator) Owned() []string {
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
func (c *Coordinator) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// MemberID returns this replica's member id in the group ("" before it
// joined).
func (c *Coordinator) MemberID() string {
	c.mu.Lock()
	cl := c.cl
	c.mu.Unlock()
	if cl == nil {
		return ""
	}
	id, _ := cl.GroupMetadata()
	return id
}

// start joins the group when the first wrapper starts: it maps the sources
// to the partitions of the coordination topic (creating the topic when
// missing) and creates the group client. ctx bounds the topic lookup.
func (c *Coordinator) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs++
	if c.refs > 1 {
		return nil
	}
	err := c.join(ctx)
	if err != nil {
		c.refs--
	}
	return err
}

// join runs with c.mu held.
func (c *Coordinator) join(ctx context.Context) error {
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
	opts := append(c.sink.ClientOpts(),
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
func (c *Coordinator) ensureTopic(ctx context.Context, want int32) (int32, error) {
	cl, err := kgo.NewClient(append(c.sink.ClientOpts(), kgo.MetadataMinAge(250*time.Millisecond))...)
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

// stop leaves the group when the last wrapper shuts down. Leaving makes
// Kafka hand this replica's sources to the others at once, without waiting
// for the session timeout. ctx and the session timeout bound the leave.
func (c *Coordinator) stop(ctx context.Context) {
	c.mu.Lock()
	c.refs--
	if c.refs > 0 || c.cl == nil {
		c.mu.Unlock()
		return
	}
	cl := c.cl
	c.cl = nil
	c.mu.Unlock()
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
func (c *Coordinator) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
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
func (c *Coordinator) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
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

func (c *Coordinator) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// source runs its inner source only while the coordinator grants it.
type source struct {
	c     *Coordinator
	name  string
	inner pipeline.Source

	mu      sync.Mutex
	started bool
}

var _ pipeline.Source = (*source)(nil)

// Start starts the inner source and, for the first source, joins the
// group. ctx bounds the start-up only.
func (s *source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil
	}
	if err := s.c.start(ctx); err != nil {
		return err
	}
	if err := s.inner.Start(ctx); err != nil {
		s.c.stop(ctx)
		return err
	}
	s.started = true
	return nil
}

// Shutdown shuts the inner source down and, for the last source, leaves
// the group. Safe without Start and twice; ctx bounds it.
func (s *source) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.inner.Shutdown(ctx)
	if s.started {
		s.started = false
		s.c.stop(ctx)
	}
	return err
}

// Run blocks until this replica owns the source, runs the inner source
// with a context that is cancelled when ownership is revoked (the inner
// source then drains and commits as at a shutdown), releases the source's
// transactional producer, and waits for ownership again. It returns when
// ctx is done, when the inner source fails while still owned (the runner
// restarts it), or, with host.Once, when the inner source caught up.
func (s *source) Run(ctx context.Context, host pipeline.SourceHost) error {
	c := s.c
	for {
		c.mu.Lock()
		sl := c.slots[s.name]
		grant := sl.grant
		c.mu.Unlock()
		select {
		case <-grant:
		case <-ctx.Done():
			return nil
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

		c.log.Info("running source", "source", s.name)
		err := s.inner.Run(rctx, host)
		revoked := rctx.Err() != nil && ctx.Err() == nil
		cancel()
		s.release(ctx)
		c.mu.Lock()
		sl.cancel, sl.done = nil, nil
		c.mu.Unlock()
		close(done)

		switch {
		case ctx.Err() != nil:
			return err
		case revoked:
			if err != nil {
				c.log.Warn("source stopped with an error after this replica lost it", "source", s.name, "err", err)
			} else {
				c.log.Info("source stopped: another replica takes it over", "source", s.name)
			}
			continue
		}
		return err
	}
}

// release closes the source's transactional producer so that a later run
// here initializes the transactional id afresh. It is bounded by the
// session timeout: a replica that cannot reach Kafka is fenced anyway.
func (s *source) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.c.cfg.SessionTimeout)
	defer cancel()
	if err := s.c.sink.ReleaseSource(rctx, s.name); err != nil {
		s.c.log.Warn("releasing the source's transactional producer", "source", s.name, "err", err)
	}
}
