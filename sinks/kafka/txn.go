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

// errCrashed is what the test hook makes a commit return.
var errCrashed = errors.New("simulated crash before commit")

// TxnSink is the Kafka sink with exactly_once: the records of a source's
// window go into one Kafka transaction per source, which the cursor store
// (Store, built on this sink) commits together with the window's cursor, so
// that read_committed consumers see a window's records exactly when its
// cursor moved. Any failure aborts the transaction and the engine sends the
// window again from its first batch (see pipeline.Committer): the sink
// keeps no copy of the window.
type TxnSink struct {
	*Sink

	// crashBeforeCommit, set by tests only, makes a commit return before
	// committing, leaving the transaction open as a killed process would.
	crashBeforeCommit func(source string) bool
}

var (
	_ pipeline.Sink      = (*TxnSink)(nil)
	_ pipeline.Committer = (*TxnSink)(nil)
)

// txnProducer is the transactional producer of one source.
type txnProducer struct {
	id string // transactional id
	cl *kgo.Client

	mu    sync.Mutex
	inTxn bool  // a transaction is begun
	fatal error // set once fenced; every later call returns it
}

// txnFor returns the producer of source, creating it on first use.
func (t *TxnSink) txnFor(source string) (*txnProducer, error) {
	s := t.Sink
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.shutdown {
		return nil, fmt.Errorf("kafka sink %q: not running", s.name)
	}
	if tp := s.txns[source]; tp != nil {
		return tp, nil
	}
	id := s.cfg.TransactionalIDPrefix + "-" + source
	opts := append(s.clientOpts(), producerOpts(s.cfg)...)
	opts = append(opts, kgo.TransactionalID(id), kgo.TransactionTimeout(s.cfg.TransactionTimeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %q: transactional producer for source %q: %w", s.name, source, err)
	}
	tp := &txnProducer{id: id, cl: cl}
	s.txns[source] = tp
	return tp, nil
}

// locked runs f with the producer of source (see txnFor), its mu held.
func (t *TxnSink) locked(source string, f func(tp *txnProducer) error) error {
	tp, err := t.txnFor(source)
	if err != nil {
		return err
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return f(tp)
}

// initTxn loads the producer id of source's transactional producer, which
// fences any other instance using the same transactional id and aborts the
// transaction it left open.
func (t *TxnSink) initTxn(ctx context.Context, source string) error {
	return t.locked(source, func(tp *txnProducer) error {
		if _, _, err := tp.cl.ProducerID(ctx); err != nil {
			return t.txnFail(ctx, tp, fmt.Errorf("initializing transactional id %s: %w", quote(tp.id), err))
		}
		return nil
	})
}

// Consume produces b's records inside the open transaction of b.Source,
// beginning one when none is open, and blocks until the brokers
// acknowledged them. A failure aborts the transaction (the engine sends the
// window again); records the brokers refused for their content come back
// as a *pipeline.RejectedError joined with that abort.
func (t *TxnSink) Consume(ctx context.Context, b pipeline.Batch) error {
	s := t.Sink
	if err := s.running(); err != nil {
		return err
	}
	recs, rejected, err := s.records(ctx, &b)
	if err != nil {
		return err
	}
	return t.locked(b.Source, func(tp *txnProducer) error {
		if err := t.begin(ctx, tp); err != nil {
			return err
		}
		if len(recs) > 0 {
			errs := s.produce(ctx, tp.cl, recs)
			var refused []pipeline.Rejection
			if err := s.classify(ctx, b, recs, errs, &refused); err != nil {
				return t.txnFail(ctx, tp, err)
			}
			if len(refused) > 0 {
				// The transaction holds failed records and must be aborted;
				// the engine sends the window again without the refused ones.
				err := t.txnFail(ctx, tp, errors.New("records refused by the brokers"))
				return errors.Join(s.rejection(append(rejected, refused...)), err)
			}
		}
		return s.rejection(rejected)
	})
}

// begin makes sure a transaction is open. tp.mu is held.
func (t *TxnSink) begin(ctx context.Context, tp *txnProducer) error {
	if tp.fatal != nil {
		return tp.fatal
	}
	if tp.inTxn {
		return nil
	}
	if err := tp.cl.BeginTransaction(); err != nil {
		return t.txnFail(ctx, tp, fmt.Errorf("beginning transaction: %w", err))
	}
	tp.inTxn = true
	return nil
}

// CommitWindow returns nil once the window's records are acknowledged,
// which Consume already waited for: the commit itself happens when the
// store saves the window's cursor in the same transaction.
func (t *TxnSink) CommitWindow(ctx context.Context, source string, _ []byte) error {
	return t.locked(source, func(tp *txnProducer) error { return tp.fatal })
}

// AbortWindow aborts the open transaction of source, if any.
func (t *TxnSink) AbortWindow(ctx context.Context, source string) error {
	return t.locked(source, func(tp *txnProducer) error {
		if !tp.inTxn || tp.fatal != nil {
			return nil
		}
		return t.txnAbort(ctx, tp)
	})
}

// commitCursor writes rec (the cursor of source) into the source's
// transaction, beginning one for a window without records, and commits it.
// When the commit fails the transaction is aborted and the error is a
// *pipeline.RedeliverError: the window's records are gone with it.
func (t *TxnSink) commitCursor(ctx context.Context, source string, rec *kgo.Record) error {
	return t.locked(source, func(tp *txnProducer) error {
		if err := t.begin(ctx, tp); err != nil {
			return t.redeliver(err)
		}
		if err := tp.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return t.redeliver(t.txnFail(ctx, tp, fmt.Errorf("writing cursor to %q: %w", rec.Topic, err)))
		}
		if t.crashBeforeCommit != nil && t.crashBeforeCommit(source) {
			return errCrashed
		}
		if err := tp.cl.Flush(ctx); err != nil {
			return t.redeliver(t.txnFail(ctx, tp, fmt.Errorf("flushing: %w", err)))
		}
		if err := tp.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return t.redeliver(t.txnFail(ctx, tp, fmt.Errorf("committing: %w", err)))
		}
		tp.inTxn = false
		return nil
	})
}

// redeliver marks a retryable commit failure as one that lost the window.
func (t *TxnSink) redeliver(err error) error {
	if pipeline.IsPermanent(err) {
		return err
	}
	return &pipeline.RedeliverError{Sink: t.name, Err: err}
}

// txnAbort aborts the open transaction. tp.mu is held.
func (t *TxnSink) txnAbort(ctx context.Context, tp *txnProducer) error {
	if err := tp.cl.AbortBufferedRecords(ctx); err != nil {
		return fmt.Errorf("kafka sink %q: aborting transaction of %s: %w", t.name, quote(tp.id), err)
	}
	if err := tp.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		if isFenced(err) {
			return t.fenced(tp, err)
		}
		return fmt.Errorf("kafka sink %q: aborting transaction of %s: %w", t.name, quote(tp.id), err)
	}
	tp.inTxn = false
	return nil
}

// txnFail aborts the transaction after err. It returns err, permanent when
// the producer was fenced. tp.mu is held.
func (t *TxnSink) txnFail(ctx context.Context, tp *txnProducer, err error) error {
	if isFenced(err) {
		return t.fenced(tp, err)
	}
	if tp.inTxn {
		if aerr := t.txnAbort(ctx, tp); aerr != nil {
			if tp.fatal != nil {
				return tp.fatal
			}
			err = errors.Join(err, aerr)
		}
	}
	if pipeline.IsPermanent(err) {
		return err
	}
	return fmt.Errorf("kafka sink %q: transaction %s aborted, the window is sent again: %w", t.name, quote(tp.id), err)
}

func (t *TxnSink) fenced(tp *txnProducer, err error) error {
	if tp.fatal == nil {
		tp.fatal = pipeline.Permanent(fmt.Errorf("kafka sink %q: %w using transactional id %s; this instance stops (%v)", t.name, ErrFenced, quote(tp.id), err))
		t.log.Error("fenced by another instance", "transactional_id", tp.id)
	}
	tp.inTxn = false
	return tp.fatal
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

// releaseSource closes the transactional producer of source, aborting the
// transaction it has open, and forgets it, so that the next window of source
// on this instance initializes the transactional id afresh (which fences
// whichever instance used it meanwhile). A replica that gives a source up to
// another replica calls it once the source stopped: without it, a producer
// whose epoch the other replica bumped would stay fenced for good when the
// source comes back to this replica. It blocks until the producer is closed
// or ctx is done. The source must not be running.
func (t *TxnSink) releaseSource(ctx context.Context, source string) error {
	s := t.Sink
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
