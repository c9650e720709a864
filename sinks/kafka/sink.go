package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Header names of the event fields (see HeadersConfig).
var headerNames = map[string]string{
	HeaderType:   "event.type",
	HeaderID:     "event.id",
	HeaderSource: "event.source",
	HeaderSchema: "event.schema",
	HeaderVendor: "event.vendor",
}

// ProduceMetrics is the optional extension of pipeline.Telemetry through
// which the sink reports per-topic produce measurements. The sink discovers
// it on Settings.Telemetry at run time; implementations must be safe for
// concurrent use and must not block.
type ProduceMetrics interface {
	// KafkaProduced records records and bytes acknowledged on topic and
	// how long the acknowledgement of the batch took.
	KafkaProduced(sink, topic string, records, bytes int, latency time.Duration)
	// KafkaProduceFailed records n records that failed, by reason
	// ("retryable", "rejected", "fenced", "canceled").
	KafkaProduceFailed(sink, reason string, n int)
}

// Sink writes events to Kafka. It is safe for concurrent use.
type Sink struct {
	name  string
	cfg   *Config
	log   *slog.Logger
	tel   pipeline.Telemetry
	met   ProduceMetrics // nil when the telemetry lacks it
	tmpl  *template.Template
	fixed string // the topic when cfg.Topic is not a template
	tc    *tls.Config

	static []kgo.RecordHeader

	mu       sync.Mutex
	cl       *kgo.Client // non-transactional producer and metadata
	adm      *kadm.Client
	known    map[string]bool         // topics known to exist
	txns     map[string]*txnProducer // exactly_once: by source (see TxnSink)
	started  bool
	shutdown bool
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for cfg (already validated, paths resolved) that
// produces each batch and waits for its acknowledgements; with exactly_once
// it is wrapped in a TxnSink (see NewFactory). Nothing connects before Start.
func New(set pipeline.Settings, cfg *Config) (*Sink, error) {
	tmpl, err := parseTopic(cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %q: topic: %w", set.Name, err)
	}
	log := set.Log()
	tc, err := cfg.TLS.Load(log)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %q: %w", set.Name, err)
	}
	tel := set.Tel()
	s := &Sink{name: set.Name, cfg: cfg, log: log, tel: tel, tmpl: tmpl, tc: tc,
		known: map[string]bool{}, txns: map[string]*txnProducer{}}
	if m, ok := tel.(ProduceMetrics); ok {
		s.met = m
	}
	if tmpl == nil {
		s.fixed = cfg.Topic
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Headers.Static)) {
		s.static = append(s.static, kgo.RecordHeader{Key: k, Value: []byte(cfg.Headers.Static[k])})
	}
	return s, nil
}

// Start connects to the brokers and checks (or, with create_topics, creates)
// a fixed topic, so that a missing topic fails here rather than losing
// records later. ctx bounds the start-up only.
func (s *Sink) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil
	}
	opts := append(s.clientOpts(), producerOpts(s.cfg)...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka sink %q: %w", s.name, err)
	}
	s.cl, s.adm = cl, kadm.NewClient(cl)
	s.started = true
	if _, err := s.adm.BrokerMetadata(ctx); err != nil {
		return fmt.Errorf("kafka sink %q: brokers %v unreachable: %w", s.name, s.cfg.Brokers, err)
	}
	if s.fixed != "" {
		if missing, err := s.ensureTopicsLocked(ctx, []string{s.fixed}); err != nil {
			return err
		} else if len(missing) > 0 {
			return pipeline.Permanent(fmt.Errorf("kafka sink %q: topic %q does not exist and create_topics is off", s.name, s.fixed))
		}
	}
	return nil
}

// ensureTopicsLocked checks that topics exist (creating them with
// create_topics) and returns the ones that are missing. s.mu is held.
func (s *Sink) ensureTopicsLocked(ctx context.Context, topics []string) (missing []string, err error) {
	var unknown []string
	for _, t := range topics {
		if !s.known[t] {
			unknown = append(unknown, t)
		}
	}
	if len(unknown) == 0 {
		return nil, nil
	}
	if s.cfg.CreateTopics {
		resp, err := s.adm.CreateTopics(ctx, s.cfg.Partitions, s.cfg.ReplicationFactor, nil, unknown...)
		if err != nil {
			return nil, fmt.Errorf("kafka sink %q: creating topics %v: %w", s.name, unknown, err)
		}
		for _, r := range resp.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				return nil, classifyAdmin(fmt.Errorf("kafka sink %q: creating topic %q: %w", s.name, r.Topic, r.Err))
			}
			s.known[r.Topic] = true
		}
		return nil, nil
	}
	td, err := s.adm.ListTopics(ctx, unknown...)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %q: looking up topics %v: %w", s.name, unknown, err)
	}
	for _, t := range unknown {
		d, ok := td[t]
		switch {
		case ok && d.Err == nil:
			s.known[t] = true
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			missing = append(missing, t)
		default:
			return nil, classifyAdmin(fmt.Errorf("kafka sink %q: topic %q: %w", s.name, t, d.Err))
		}
	}
	return missing, nil
}

// classifyAdmin marks authorization failures permanent.
func classifyAdmin(err error) error {
	if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) ||
		errors.Is(err, kerr.PolicyViolation) || errors.Is(err, kerr.InvalidTopicException) {
		return pipeline.Permanent(err)
	}
	return err
}

// Consume produces one record per event and blocks until the brokers
// acknowledged every one of them (acks as configured), ctx is done, or a
// record failed. It never modifies b and keeps no reference to it after
// returning. Safe for concurrent use.
//
// Errors: events whose content Kafka refuses (too large, invalid or missing
// topic, topic authorization) come back as a *pipeline.RejectedError after
// every other event was delivered; retryable broker errors as plain errors
// (the runner retries the batch); a refused authorization as
// pipeline.Permanent.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	if err := s.running(); err != nil {
		return err
	}
	recs, rejected, err := s.records(ctx, &b)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		errs := s.produce(ctx, s.cl, recs)
		if err := s.classify(ctx, b, recs, errs, &rejected); err != nil {
			return err
		}
	}
	return s.rejection(rejected)
}

// running reports an error unless the sink is started and not shut down.
func (s *Sink) running() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.shutdown {
		return fmt.Errorf("kafka sink %q: not running", s.name)
	}
	return nil
}

// outRecord is a record and the index of its event in the batch.
type outRecord struct {
	rec *kgo.Record
	ev  int
}

// records builds the batch's records, refusing up front the events that
// cannot be produced (oversize, invalid or missing topic).
func (s *Sink) records(ctx context.Context, b *pipeline.Batch) ([]outRecord, []pipeline.Rejection, error) {
	recs := make([]outRecord, 0, len(b.Events))
	var rejected []pipeline.Rejection
	topics := make([]string, len(b.Events))
	var distinct []string
	seen := map[string]bool{}
	var buf bytes.Buffer
	for i := range b.Events {
		ev := &b.Events[i]
		topic := s.fixed
		if s.tmpl != nil {
			buf.Reset()
			src := ev.Source
			if src == "" {
				src = b.Source
			}
			if err := s.tmpl.Execute(&buf, topicFields{Type: ev.Type, Source: src, Schema: ev.Schema, Vendor: ev.Vendor(), ProjectID: ev.ProjectID}); err != nil {
				rejected = append(rejected, pipeline.Rejection{Event: *ev, Reason: fmt.Sprintf("topic template: %v", err)})
				continue
			}
			topic = buf.String()
			if err := validTopicName(topic); err != nil {
				rejected = append(rejected, pipeline.Rejection{Event: *ev, Reason: err.Error()})
				continue
			}
		}
		topics[i] = topic
		if !seen[topic] {
			seen[topic] = true
			distinct = append(distinct, topic)
		}
	}
	var missing map[string]bool
	if s.tmpl != nil && len(distinct) > 0 {
		s.mu.Lock()
		m, err := s.ensureTopicsLocked(ctx, distinct)
		s.mu.Unlock()
		if err != nil {
			return nil, nil, err
		}
		if len(m) > 0 {
			missing = map[string]bool{}
			for _, t := range m {
				missing[t] = true
			}
		}
	}
	for i := range b.Events {
		topic := topics[i]
		if topic == "" {
			continue // rejected above
		}
		ev := &b.Events[i]
		if missing[topic] {
			rejected = append(rejected, pipeline.Rejection{Event: *ev, Reason: fmt.Sprintf("topic %q does not exist and create_topics is off", topic)})
			continue
		}
		r := &kgo.Record{Topic: topic, Key: s.key(b, ev), Value: ev.Raw, Headers: s.headers(b, ev)}
		if n := recordSize(r); n > s.cfg.MaxMessageBytes {
			rejected = append(rejected, pipeline.Rejection{Event: *ev, Reason: fmt.Sprintf("record of %d bytes exceeds max_message_bytes %d", n, s.cfg.MaxMessageBytes)})
			continue
		}
		recs = append(recs, outRecord{rec: r, ev: i})
	}
	return recs, rejected, nil
}

func recordSize(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

func (s *Sink) key(b *pipeline.Batch, ev *pipeline.Event) []byte {
	var k string
	switch s.cfg.Key {
	case KeyID:
		k = ev.ID
	case KeySource:
		k = cmp(ev.Source, b.Source)
	case KeyActor:
		k = cmp(ev.ActorID, ev.ActorEmail)
	case KeyProject:
		k = ev.ProjectID
	case KeyType:
		k = ev.Type
	}
	if k == "" {
		return nil
	}
	return []byte(k)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Sink) headers(b *pipeline.Batch, ev *pipeline.Event) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 0, len(s.cfg.Headers.Fields)+len(s.static))
	for _, f := range s.cfg.Headers.Fields {
		var v string
		switch f {
		case HeaderType:
			v = ev.Type
		case HeaderID:
			v = ev.ID
		case HeaderSource:
			v = cmp(ev.Source, b.Source)
		case HeaderSchema:
			v = ev.Schema
		case HeaderVendor:
			v = ev.Vendor()
		}
		hs = append(hs, kgo.RecordHeader{Key: headerNames[f], Value: []byte(v)})
	}
	return append(hs, s.static...)
}

// produce hands every record to cl and waits for every promise. The
// returned slice holds each record's error. A record is never left without
// its promise being checked: franz-go may drop a record whose promise is nil.
func (s *Sink) produce(ctx context.Context, cl *kgo.Client, recs []outRecord) []error {
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	wg.Add(len(recs))
	start := time.Now()
	for i := range recs {
		cl.Produce(ctx, recs[i].rec, func(_ *kgo.Record, err error) {
			errs[i] = err
			wg.Done()
		})
	}
	wg.Wait()
	if s.met != nil {
		d := time.Since(start)
		per := map[string][2]int{}
		for i, r := range recs {
			if errs[i] == nil {
				v := per[r.rec.Topic]
				per[r.rec.Topic] = [2]int{v[0] + 1, v[1] + len(r.rec.Value)}
			}
		}
		for t, v := range per {
			s.met.KafkaProduced(s.name, t, v[0], v[1], d)
		}
	}
	return errs
}

// Reasons a record can fail, from the most to the least severe.
type failure int

const (
	failNone failure = iota
	failRejected
	failRetryable
	failCanceled
	failFenced
	failPermanent
)

// classifyRecordErr sorts a record's error.
func classifyRecordErr(ctx context.Context, err error) failure {
	switch {
	case err == nil:
		return failNone
	case isFenced(err):
		return failFenced
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return failCanceled
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge),
		errors.Is(err, kerr.InvalidRecord), errors.Is(err, kerr.CorruptMessage),
		errors.Is(err, kerr.InvalidTopicException), errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.PolicyViolation):
		return failRejected
	case errors.Is(err, kerr.ClusterAuthorizationFailed), errors.Is(err, kerr.TransactionalIDAuthorizationFailed),
		errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.UnsupportedForMessageFormat):
		return failPermanent
	}
	return failRetryable
}

func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDNotFound)
}

// classify turns the records' errors into the batch's outcome: nil when
// every record was acknowledged (or only rejections happened, which it
// appends to rejected), otherwise the most severe error.
func (s *Sink) classify(ctx context.Context, b pipeline.Batch, recs []outRecord, errs []error, rejected *[]pipeline.Rejection) error {
	worst, worstErr := failNone, error(nil)
	counts := map[failure]int{}
	for i, err := range errs {
		f := classifyRecordErr(ctx, err)
		if f == failNone {
			continue
		}
		counts[f]++
		if f == failRejected {
			*rejected = append(*rejected, pipeline.Rejection{Event: b.Events[recs[i].ev], Reason: fmt.Sprintf("kafka refused the record for topic %q: %v", recs[i].rec.Topic, err)})
		}
		if f > worst {
			worst, worstErr = f, err
		}
	}
	if s.met != nil {
		for f, n := range counts {
			s.met.KafkaProduceFailed(s.name, f.String(), n)
		}
	}
	failed := 0
	for _, n := range counts {
		failed += n
	}
	switch worst {
	case failNone, failRejected:
		return nil
	case failCanceled:
		return fmt.Errorf("kafka sink %q: %w", s.name, ctx.Err())
	case failFenced:
		return pipeline.Permanent(fmt.Errorf("kafka sink %q: %w", s.name, worstErr))
	case failPermanent:
		return pipeline.Permanent(fmt.Errorf("kafka sink %q: %d of %d records failed: %w", s.name, failed, len(recs), worstErr))
	}
	return fmt.Errorf("kafka sink %q: %d of %d records failed: %w", s.name, failed, len(recs), worstErr)
}

func (f failure) String() string {
	switch f {
	case failRejected:
		return "rejected"
	case failRetryable:
		return "retryable"
	case failCanceled:
		return "canceled"
	case failFenced:
		return "fenced"
	case failPermanent:
		return "permanent"
	}
	return "none"
}

func (s *Sink) rejection(rejected []pipeline.Rejection) error {
	if len(rejected) == 0 {
		return nil
	}
	return &pipeline.RejectedError{Sink: s.name, Rejected: rejected}
}

// Shutdown aborts open transactions (their windows are replayed by the
// sources), flushes and closes every client. Safe without Start and twice;
// ctx bounds the flush.
func (s *Sink) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shutdown || !s.started {
		s.shutdown = true
		s.mu.Unlock()
		return nil
	}
	s.shutdown = true
	txns := s.txns
	s.mu.Unlock()
	var errs []error
	for _, tp := range txns {
		errs = append(errs, tp.close(ctx))
	}
	if err := s.cl.Flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("kafka sink %q: flush: %w", s.name, err))
	}
	s.cl.Close()
	return errors.Join(errs...)
}

// Name returns the sink's name.
func (s *Sink) Name() string { return s.name }

// quote is used in messages naming transactional ids.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
