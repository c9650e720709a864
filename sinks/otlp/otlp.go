package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/auditrelay/auditrelay/pipeline"
)

// exporter sends one request. Implementations are safe for concurrent use.
type exporter interface {
	// export blocks until the destination answered req or ctx is done; it
	// returns the response (for partial success) or a classified error.
	export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error)
	close() error
}

// Sink exports events as OTLP log records. Consume is safe for concurrent
// use; Start and Shutdown follow pipeline.Component.
type Sink struct {
	name string
	cfg  Config // resolved
	log  *slog.Logger
	m    *mapper

	mu  sync.Mutex
	exp exporter
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for c (already validated). It does not connect; Start
// does.
func New(set pipeline.Settings, c *Config) *Sink {
	return &Sink{name: set.Name, cfg: c.resolved(), log: set.Log(), m: newMapper(c)}
}

// Start creates the client. gRPC connects lazily, so an unreachable
// collector does not fail Start: the first Consume reports it as a
// retryable error. ctx bounds the start-up only.
func (s *Sink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exp != nil {
		return nil
	}
	tc, err := s.cfg.TLS.Load(s.log)
	if err != nil {
		return fmt.Errorf("otlp sink %q: %w", s.name, err)
	}
	switch s.cfg.Protocol {
	case ProtocolGRPC:
		s.exp, err = newGRPCExporter(&s.cfg, tc)
	default:
		s.exp, err = newHTTPExporter(&s.cfg, tc)
	}
	if err != nil {
		return fmt.Errorf("otlp sink %q: endpoint: %w", s.name, err)
	}
	s.log.Info("otlp sink ready", "endpoint", s.cfg.Endpoint, "protocol", s.cfg.Protocol)
	return nil
}

// Shutdown closes the client; Consume calls after it fail. Requests in
// flight end with their Consume's context. It is safe without Start and
// more than once.
func (s *Sink) Shutdown(context.Context) error {
	s.mu.Lock()
	exp := s.exp
	s.exp = nil
	s.mu.Unlock()
	if exp == nil {
		return nil
	}
	return exp.close()
}

func (s *Sink) exporter() (exporter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exp == nil {
		return nil, pipeline.Permanent(fmt.Errorf("otlp sink %q: not started", s.name))
	}
	return s.exp, nil
}

// Consume exports b in requests of at most max_records records and
// max_bytes, up to max_concurrent_requests at once, and returns nil once
// the destination accepted all of them (OTLP has no later durability step:
// its 2xx is the acknowledgement). It reads b and never modifies it. A
// retryable failure of any request fails the batch (the engine sends the
// batch again, so records of requests that had succeeded are sent again:
// at-least-once).
//
// Records a destination reports as rejected (OTLP partial success) come
// back as a *pipeline.RejectedError naming every event of that request
// (OTLP does not say which records were refused). ctx cancels the requests.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	exp, err := s.exporter()
	if err != nil {
		return err
	}
	rejected, err := s.sendAll(ctx, exp, b.Source, s.chunks(b.Events))
	if err != nil {
		return err
	}
	if len(rejected) > 0 {
		return &pipeline.RejectedError{Sink: s.name, Rejected: rejected}
	}
	return nil
}

// chunks splits evs into requests.
func (s *Sink) chunks(evs []pipeline.Event) [][]pipeline.Event {
	var out [][]pipeline.Event
	for start := 0; start < len(evs); {
		end := s.split(evs, start)
		out = append(out, evs[start:end])
		start = end
	}
	return out
}

// sendAll sends chunks, up to max_concurrent_requests at once, and returns
// their rejections, in the order of the chunks, and the first failure. The
// first failure cancels the other requests; their cancellations are not
// what went wrong, so only it is returned.
func (s *Sink) sendAll(ctx context.Context, exp exporter, source string, chunks [][]pipeline.Event) ([]pipeline.Rejection, error) {
	rejected := make([][]pipeline.Rejection, len(chunks))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first error
	var failOnce sync.Once
	sem := make(chan struct{}, s.cfg.MaxConcurrentRequests)
	var wg sync.WaitGroup
	for i, evs := range chunks {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			failOnce.Do(func() { first = err })
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			if rejected[i], err = s.send(ctx, exp, source, evs); err != nil {
				failOnce.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	return slices.Concat(rejected...), first
}

// send exports one request and returns the events the destination rejected.
func (s *Sink) send(ctx context.Context, exp exporter, source string, evs []pipeline.Event) ([]pipeline.Rejection, error) {
	req := plogotlp.NewExportRequestFromLogs(s.m.logs(source, evs))
	resp, err := exp.export(ctx, req)
	if errors.Is(err, errTooLarge) {
		if len(evs) == 1 {
			return []pipeline.Rejection{{Event: evs[0], Reason: "the destination refused the record as too large: " + err.Error()}}, nil
		}
		// Halve the request until the destination takes it.
		h := len(evs) / 2
		r1, err := s.send(ctx, exp, source, evs[:h])
		if err != nil {
			return nil, err
		}
		r2, err := s.send(ctx, exp, source, evs[h:])
		return append(r1, r2...), err
	}
	if err != nil {
		return nil, fmt.Errorf("otlp sink %q: exporting %d records to %s: %w", s.name, len(evs), s.cfg.Endpoint, err)
	}
	ps := resp.PartialSuccess()
	if ps.RejectedLogRecords() == 0 {
		if msg := ps.ErrorMessage(); msg != "" {
			s.log.Warn("destination accepted the records with a warning", "warning", msg)
		}
		return nil, nil
	}
	reason := fmt.Sprintf("the destination rejected %d of the %d records of the request holding this event: %s",
		ps.RejectedLogRecords(), len(evs), ps.ErrorMessage())
	out := make([]pipeline.Rejection, len(evs))
	for i := range evs {
		out[i] = pipeline.Rejection{Event: evs[i], Reason: reason}
	}
	return out, nil
}

// errTooLarge marks a request the destination refused for its size (HTTP
// 413, gRPC's "message larger than max"): the sink splits it.
var errTooLarge = errors.New("request too large")

// split returns the end of the request starting at evs[start]: at most
// MaxRecords events and MaxBytes of JSON, at least one event.
func (s *Sink) split(evs []pipeline.Event, start int) int {
	end, size := start, 0
	for end < len(evs) && end-start < s.cfg.MaxRecords {
		n := len(evs[end].Raw)
		if end > start && size+n > s.cfg.MaxBytes {
			break
		}
		size += n
		end++
	}
	return end
}
