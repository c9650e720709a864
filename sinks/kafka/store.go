package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Store keeps source cursors in a compacted Kafka topic: one record per
// save, key = source name, value = the cursor. It is built on a Kafka sink
// (the `sink` key of the checkpoint section) whose cluster it shares. With a
// TxnSink (exactly_once), Save writes the cursor inside the source's open
// transaction and commits it, so a window's records and its cursor become
// visible together. Safe for concurrent use.
type Store struct {
	sink  *Sink
	txn   *TxnSink // nil without exactly_once
	topic string

	mu       sync.Mutex
	cl       *kgo.Client // idempotent acks=all producer for cursors outside transactions
	adm      *kadm.Client
	started  bool
	shutdown bool
}

var _ pipeline.CursorStore = (*Store)(nil)

// NewStore returns a store writing to topic through sink, a *Sink or a
// *TxnSink (then cursors commit the windows' transactions).
func NewStore(sink pipeline.Sink, topic string) (*Store, error) {
	switch s := sink.(type) {
	case *TxnSink:
		return &Store{sink: s.Sink, txn: s, topic: topic}, nil
	case *Sink:
		return &Store{sink: s, topic: topic}, nil
	}
	return nil, fmt.Errorf("kafka checkpoint store: sink is a %T, not a kafka sink", sink)
}

// Start checks that the checkpoint topic exists, creating it compacted when
// the sink has create_topics. The sink must have been started. ctx bounds
// the start-up only.
func (st *Store) Start(ctx context.Context) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.started {
		return nil
	}
	c := st.sink.cfg
	opts := append(st.sink.clientOpts(),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(c.DeliveryTimeout), kgo.UnknownTopicRetries(4),
		// Offsets are listed right after the topic may have been created:
		// do not trust a cached "unknown topic" for long.
		kgo.MetadataMinAge(250*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka checkpoint store: %w", err)
	}
	st.cl, st.adm, st.started = cl, kadm.NewClient(cl), true
	td, err := st.adm.ListTopics(ctx, st.topic)
	if err != nil {
		return fmt.Errorf("kafka checkpoint store: looking up topic %q: %w", st.topic, err)
	}
	if d, ok := td[st.topic]; ok && d.Err == nil {
		return nil
	} else if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("kafka checkpoint store: topic %q: %w", st.topic, d.Err)
	}
	if !c.CreateTopics {
		return pipeline.Permanent(fmt.Errorf("kafka checkpoint store: topic %q does not exist: create it with cleanup.policy=compact or set create_topics on sink %q", st.topic, st.sink.name))
	}
	compact := "compact"
	resp, err := st.adm.CreateTopic(ctx, 1, c.ReplicationFactor, map[string]*string{"cleanup.policy": &compact}, st.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("kafka checkpoint store: creating topic %q: %w", st.topic, err)
	}
	return nil
}

// Load returns the last cursor committed for source, reading the topic to
// its end with read_committed. With exactly_once it first initializes the
// source's transactional producer, which fences an older instance and
// aborts the transaction it left open, then waits until no transaction
// begun before the read is still open, so the cursor read is the last
// committed one. Blocks until then or until ctx is done.
func (st *Store) Load(ctx context.Context, source string) ([]byte, error) {
	if err := st.running(); err != nil {
		return nil, err
	}
	if st.txn != nil {
		if err := st.txn.initTxn(ctx, source); err != nil {
			return nil, err
		}
	}
	cursor, err := st.read(ctx, source)
	if err != nil {
		return nil, fmt.Errorf("kafka checkpoint store: loading cursor of %q from %q: %w", source, st.topic, err)
	}
	return cursor, nil
}

func (st *Store) running() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.started || st.shutdown {
		return errors.New("kafka checkpoint store: not running")
	}
	return nil
}

// read consumes the topic from its start to the high watermark taken now.
func (st *Store) read(ctx context.Context, source string) ([]byte, error) {
	var ends kadm.ListedOffsets
	for {
		var err error
		ends, err = st.adm.ListEndOffsets(ctx, st.topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, err
		}
		// Start saw the topic: this is stale metadata of a new topic.
		if err := pipeline.Sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, fmt.Errorf("topic not visible yet: %w", err)
		}
	}
	starts, err := st.adm.ListStartOffsets(ctx, st.topic)
	if err != nil {
		return nil, err
	}
	want := map[int32]int64{} // partition -> last offset to see
	parts := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		s, _ := starts.Lookup(o.Topic, o.Partition)
		if o.Offset > s.Offset {
			want[o.Partition] = o.Offset - 1
			parts[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	// Wait until every transaction that holds offsets below the high
	// watermark has ended (the last stable offset caught up).
	for {
		lso, err := st.adm.ListCommittedOffsets(ctx, st.topic)
		if err != nil {
			return nil, err
		}
		stable := true
		for p, last := range want {
			o, ok := lso.Lookup(st.topic, p)
			if !ok || o.Err != nil || o.Offset <= last {
				stable = false
			}
		}
		if stable {
			break
		}
		if err := pipeline.Sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, fmt.Errorf("waiting for open transactions to end: %w", err)
		}
	}
	opts := append(st.sink.clientOpts(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{st.topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(200*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var cursor []byte
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			if last, ok := want[r.Partition]; ok && r.Offset >= last {
				delete(want, r.Partition)
			}
			if r.Attrs.IsControl() || string(r.Key) != source {
				return
			}
			if len(r.Value) == 0 {
				cursor = nil // tombstone
			} else {
				cursor = append([]byte(nil), r.Value...)
			}
		})
	}
	return cursor, nil
}

// Save makes cursor durable for source: with exactly_once inside the
// source's transaction, committing it (a failed commit is a
// *pipeline.RedeliverError: the window's records went with it), otherwise
// with the store's idempotent acks=all producer. It blocks until the brokers
// acknowledged it or ctx is done. Safe for concurrent use.
func (st *Store) Save(ctx context.Context, source string, cursor []byte) error {
	if err := st.running(); err != nil {
		return err
	}
	rec := &kgo.Record{Topic: st.topic, Key: []byte(source), Value: cursor}
	if st.txn != nil {
		if err := st.txn.commitCursor(ctx, source, rec); err != nil {
			return fmt.Errorf("kafka checkpoint store: saving cursor of %q: %w", source, err)
		}
		return nil
	}
	if err := st.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("kafka checkpoint store: saving cursor of %q to %q: %w", source, st.topic, err)
	}
	return nil
}

// Shutdown closes the store's client. Safe without Start and twice.
func (st *Store) Shutdown(ctx context.Context) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.shutdown || !st.started {
		st.shutdown = true
		return nil
	}
	st.shutdown = true
	err := st.cl.Flush(ctx)
	st.cl.Close()
	if err != nil {
		return fmt.Errorf("kafka checkpoint store: flush: %w", err)
	}
	return nil
}

// gatedStore is the store with a `coordination:` section: replicas share the
// sources out, and a source runs only where the group gives it
// (pipeline.Gate).
type gatedStore struct {
	*Store
	coord *coordinator
}

var _ pipeline.Gate = (*gatedStore)(nil)

// Acquire implements pipeline.Gate.
func (g *gatedStore) Acquire(ctx context.Context, source string) (context.Context, func(), error) {
	return g.coord.Acquire(ctx, source)
}

// Shutdown leaves the group of replicas, then closes the store.
func (g *gatedStore) Shutdown(ctx context.Context) error {
	g.coord.stop(ctx)
	return g.Store.Shutdown(ctx)
}
