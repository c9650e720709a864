package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditrelay/auditrelay/pipeline"
)

// ErrFenced is wrapped by the (permanent) error a sink returns once another
// instance took over one of its transactional ids.
var ErrFenced = errors.New("fenced by another instance")

// errCrashed is what the test hook makes Save return.
var errCrashed = errors.New("simulated crash before commit")

// txnProducer is the transactional producer of one source.
//
// A window's records go into one transaction that Save commits together with
// the cursor. The records of the window delivered so far are kept (copied)
// so that after any failure the transaction is aborted and the next call
// replays them in a new one: a retried batch or a retried Save then needs no
// help from the source, and nothing reaches read_committed consumers twice.
type txnProducer struct {
	id string // transactional id
	cl *kgo.Client

	mu     sync.Mutex
	inTxn  bool         // a transaction is begun
	replay bool         // the open transaction (if any) is spoiled: abort, then re-produce window
	window []kgo.Record // the window's records delivered so far, values copied
	fatal  error        // set once fenced; every later call returns it
}

// txnFor returns the producer of source, creating it on first use.
func (s *Sink) txnFor(source string) (*txnProducer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.shutdown {
		return nil, fmt.Errorf("kafka sink %q: not running", s.name)
	}
	if tp := s.txns[source]; tp != nil {
		return tp, nil
	}
	id := s.cfg.TransactionalIDPrefix + "-" + source
	opts := append(connOpts(s.cfg, s.tc, s.log), producerOpts(s.cfg)...)
	opts = append(opts, kgo.TransactionalID(id), kgo.TransactionTimeout(s.cfg.TransactionTimeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %q: transactional producer for source %q: %w", s.name, source, err)
	}
	tp := &txnProducer{id: id, cl: cl}
	s.txns[source] = tp
	return tp, nil
}

// initTxn loads the producer id of source's transactional producer, which
// fences any other instance using the same transactional id and aborts the
// transaction it left open.
func (s *Sink) initTxn(ctx context.Context, source string) error {
	tp, err := s.txnFor(source)
	if err != nil {
		return err
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if _, _, err := tp.cl.ProducerID(ctx); err != nil {
		return s.txnFail(ctx, tp, fmt.Errorf("initializing transactional id %s: %w", quote(tp.id), err))
	}
	return nil
}

// consumeTxn produces recs inside the window's transaction of b.Source.
func (s *Sink) consumeTxn(ctx context.Context, b pipeline.Batch, recs []outRecord, rejected []pipeline.Rejection) error {
	tp, err := s.txnFor(b.Source)
	if err != nil {
		return err
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.fatal != nil {
		return tp.fatal
	}
	if b.WindowStart {
		tp.window = tp.window[:0]
		if tp.inTxn {
			tp.replay = true // abort what an earlier attempt left
		}
	} else if !tp.inTxn && !tp.replay {
		return pipeline.Permanent(fmt.Errorf("kafka sink %q: exactly_once: a batch of source %q arrived outside a window (no WindowStart)", s.name, b.Source))
	}
	if err := s.txnOpen(ctx, tp); err != nil {
		return err
	}
	if len(recs) > 0 {
		errs := s.produce(ctx, tp.cl, recs)
		var brokerRejected []pipeline.Rejection
		if err := s.classify(ctx, b, recs, errs, &brokerRejected); err != nil {
			return s.txnFail(ctx, tp, err)
		}
		if len(brokerRejected) > 0 {
			// The transaction holds failed records and must be aborted;
			// the accepted ones join the window and are replayed.
			refused := map[int]bool{}
			for i, e := range errs {
				if e != nil {
					refused[i] = true
				}
			}
			for i, r := range recs {
				if !refused[i] {
					tp.keep(r.rec)
				}
			}
			_ = s.txnFail(ctx, tp, errors.New("records refused by the brokers"))
			return s.rejection(append(rejected, brokerRejected...))
		}
		for _, r := range recs {
			tp.keep(r.rec)
		}
	}
	return s.rejection(rejected)
}

// keep copies r into the window buffer.
func (tp *txnProducer) keep(r *kgo.Record) {
	tp.window = append(tp.window, kgo.Record{Topic: r.Topic, Key: r.Key, Headers: r.Headers, Value: append([]byte(nil), r.Value...)})
}

// txnOpen makes sure a clean transaction is open, aborting a spoiled one
// and replaying the window's records. tp.mu is held.
func (s *Sink) txnOpen(ctx context.Context, tp *txnProducer) error {
	if tp.inTxn && tp.replay {
		if err := s.txnAbort(ctx, tp); err != nil {
			return err
		}
	}
	if tp.inTxn {
		return nil
	}
	if err := tp.cl.BeginTransaction(); err != nil {
		return s.txnFail(ctx, tp, fmt.Errorf("beginning transaction: %w", err))
	}
	tp.inTxn = true
	if tp.replay && len(tp.window) > 0 {
		recs := make([]outRecord, len(tp.window))
		for i := range tp.window {
			w := &tp.window[i]
			recs[i] = outRecord{rec: &kgo.Record{Topic: w.Topic, Key: w.Key, Headers: w.Headers, Value: w.Value}}
		}
		errs := s.produce(ctx, tp.cl, recs)
		if err := errors.Join(errs...); err != nil {
			return s.txnFail(ctx, tp, fmt.Errorf("replaying %d records of the window: %w", len(recs), err))
		}
	}
	tp.replay = false
	return nil
}

// txnAbort aborts the open transaction. tp.mu is held.
func (s *Sink) txnAbort(ctx context.Context, tp *txnProducer) error {
	if err := tp.cl.AbortBufferedRecords(ctx); err != nil {
		return fmt.Errorf("kafka sink %q: aborting transaction of %s: %w", s.name, quote(tp.id), err)
	}
	if err := tp.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		if isFenced(err) {
			return s.fenced(tp, err)
		}
		return fmt.Errorf("kafka sink %q: aborting transaction of %s: %w", s.name, quote(tp.id), err)
	}
	tp.inTxn = false
	return nil
}

// txnFail aborts the transaction after err and marks the window for replay.
// It returns err, permanent when the producer was fenced. tp.mu is held.
func (s *Sink) txnFail(ctx context.Context, tp *txnProducer, err error) error {
	if isFenced(err) {
		return s.fenced(tp, err)
	}
	tp.replay = true
	if tp.inTxn {
		if aerr := s.txnAbort(ctx, tp); aerr != nil {
			if tp.fatal != nil {
				return tp.fatal
			}
			err = errors.Join(err, aerr)
		}
	}
	if pipeline.IsPermanent(err) {
		return err
	}
	return fmt.Errorf("kafka sink %q: transaction %s aborted, the window will be replayed: %w", s.name, quote(tp.id), err)
}

func (s *Sink) fenced(tp *txnProducer, err error) error {
	if tp.fatal == nil {
		tp.fatal = pipeline.Permanent(fmt.Errorf("kafka sink %q: %w using transactional id %s; this instance stops (%v)", s.name, ErrFenced, quote(tp.id), err))
		s.log.Error("fenced by another instance", "transactional_id", tp.id)
	}
	tp.inTxn = false
	return tp.fatal
}

// commitCursor writes cursor for source inside the open transaction of the
// source and commits it. handled is false when the source has no
// transaction (then the caller writes the cursor on its own).
func (s *Sink) commitCursor(ctx context.Context, source, topic string, cursor []byte) (handled bool, err error) {
	if !s.cfg.ExactlyOnce {
		return false, nil
	}
	s.mu.Lock()
	tp := s.txns[source]
	s.mu.Unlock()
	if tp == nil {
		return false, nil
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.fatal != nil {
		return true, tp.fatal
	}
	if !tp.inTxn && !tp.replay {
		return false, nil
	}
	if err := s.txnOpen(ctx, tp); err != nil {
		return true, err
	}
	rec := &kgo.Record{Topic: topic, Key: []byte(source), Value: cursor}
	if err := tp.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return true, s.txnFail(ctx, tp, fmt.Errorf("writing cursor to %q: %w", topic, err))
	}
	if s.crashBeforeCommit != nil && s.crashBeforeCommit(source) {
		return true, errCrashed
	}
	if err := tp.cl.Flush(ctx); err != nil {
		return true, s.txnFail(ctx, tp, fmt.Errorf("flushing: %w", err))
	}
	if err := tp.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return true, s.txnFail(ctx, tp, fmt.Errorf("committing: %w", err))
	}
	tp.inTxn = false
	tp.window = tp.window[:0]
	return true, nil
}

// close aborts an open transaction and closes the client.
func (tp *txnProducer) close(ctx context.Context) error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var err error
	if tp.inTxn && tp.fatal == nil {
		if e := tp.cl.AbortBufferedRecords(ctx); e != nil {
			err = e
		} else if e := tp.cl.EndTransaction(ctx, kgo.TryAbort); e != nil && !isFenced(e) {
			err = e
		}
		tp.inTxn = false
	}
	tp.cl.Close()
	if err != nil {
		return fmt.Errorf("aborting transaction of %s: %w", quote(tp.id), err)
	}
	return nil
}

// ReleaseSource closes the transactional producer of source, aborting the
// transaction it has open, and forgets it, so that the next window of source
// on this instance initializes the transactional id afresh (which fences
// whichever instance used it meanwhile). A replica that gives a source up to
// another replica calls it once the source stopped: without it, a producer
// whose epoch the other replica bumped would stay fenced for good when the
// source comes back to this replica. It blocks until the producer is closed
// or ctx is done. The source must not be running; safe for concurrent use
// with other sources. Without exactly_once it does nothing.
func (s *Sink) ReleaseSource(ctx context.Context, source string) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil // Shutdown closes every producer
	}
	tp := s.txns[source]
	delete(s.txns, source)
	s.mu.Unlock()
	if tp == nil {
		return nil
	}
	if err := tp.close(ctx); err != nil {
		return fmt.Errorf("kafka sink %q: releasing source %q: %w", s.name, source, err)
	}
	return nil
}
