package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

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
//
// Inside a window (after a WindowStart batch, before the WindowEnd batch of
// the same source) Consume hands a batch's requests to background
// goroutines and returns at once; the WindowEnd batch waits for them (see
// Consume). At most max_concurrent_requests such requests are in flight for
// the whole sink, which bounds the memory held to that many requests of
// max_records events.
type Sink struct {
	name string
	cfg  Config // resolved
	log  *slog.Logger
	m    *mapper
	sem  chan struct{} // one slot per background request in flight

	mu       sync.Mutex
	exp      exporter
	bg       context.Context // background requests; cancelled by Shutdown
	stop     context.CancelFunc
	inflight sync.WaitGroup // background requests; Add only under mu with exp set
	pending  atomic.Int64   // background requests in flight, for Shutdown's report

	wmu     sync.Mutex
	windows map[string]*window // by source: the open window's background state
}

// window is what the background requests of one source's window attempt
// left behind for its WindowEnd batch.
type window struct {
	wg sync.WaitGroup // background requests of this window still in flight

	mu       sync.Mutex
	failed   [][]pipeline.Event // requests that failed: sent again by the next synchronous batch
	err      error              // the first failure not yet returned
	rejected []pipeline.Rejection
}

func (w *window) hasFailed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.failed) > 0
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for c (already validated). It does not connect; Start
// does.
func New(set pipeline.Settings, c *Config) (*Sink, error) {
	m, err := newMapper(c)
	if err != nil {
		return nil, fmt.Errorf("otlp sink %q: %w", set.Name, err)
	}
	log := set.Log()
	rc := c.resolved()
	return &Sink{
		name: set.Name, cfg: rc, log: log, m: m,
		sem:     make(chan struct{}, rc.MaxConcurrentRequests),
		windows: map[string]*window{},
	}, nil
}

// Start creates the client. gRPC connects lazily, so an unreachable
// collector does not fail Start: the first Consume reports it as a
// retryable error. ctx bounds nothing that outlives Start; only its values
// are carried to the background requests.
func (s *Sink) Start(ctx context.Context) error {
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
	s.bg, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.log.Info("otlp sink ready", "endpoint", s.cfg.Endpoint, "protocol", s.cfg.Protocol)
	return nil
}

// Shutdown waits until the background requests in flight are answered,
// then closes the client. When ctx ends first it cancels them and returns
// an error saying how many were abandoned (their windows were never
// acknowledged, so their sources read them again). Consume calls after it
// fail. It is safe without Start and more than once.
func (s *Sink) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	exp, stop := s.exp, s.stop
	s.exp = nil
	s.mu.Unlock()
	if exp == nil {
		return nil
	}
	var err error
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		n := s.pending.Load()
		stop()
		<-done
		err = fmt.Errorf("otlp sink %q: shutdown: abandoned %d requests still in flight (their windows were not acknowledged): %w", s.name, n, ctx.Err())
	}
	stop()
	s.wmu.Lock()
	clear(s.windows)
	s.wmu.Unlock()
	return errors.Join(err, exp.close())
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
// max_bytes. It reads b and never modifies it; it keeps a copy of the
// events it sends in the background.
//
// A batch inside a window (WindowStart set without WindowEnd, or neither
// mark after a WindowStart of the same source) is handed to the destination
// without waiting for its answer: Consume copies the events, starts one
// background request per part (blocking, until ctx ends, while
// max_concurrent_requests requests of the sink are in flight) and returns
// nil. The WindowEnd batch then waits for every background request of its
// source, sends again the requests that failed, sends its own, and returns
// nil only when the destination accepted all of them: that is the
// acknowledgement that moves the source's cursor. A background failure is
// returned by the next batch of its window (the WindowEnd batch at the
// latest) before anything is resent, so that the runner's back-off and a
// server's requested delay apply; the runner's retry of that batch sends
// the failed requests again with it. Once a request of the window failed,
// the rest of the batch being dispatched waits behind it and the window's
// further batches are sent synchronously until the failed ones went
// through: the records keep their order, and what is kept for resending
// stays bounded. A WindowStart batch
// forgets what an earlier attempt of its source left.
//
// Any other batch (a window of one batch, or a batch outside a window) is
// sent synchronously, up to max_concurrent_requests requests at once, and
// acknowledged when the destination accepted all of them. A retryable
// failure of any request fails the whole batch (the runner retries it, so
// records of requests that had succeeded are sent again: at-least-once).
//
// Records a destination reports as rejected (OTLP partial success) come
// back as a *pipeline.RejectedError naming every event of that request
// (OTLP does not say which records were refused); those of background
// requests come back from the WindowEnd batch. ctx cancels the synchronous
// requests; background requests end with Shutdown or their timeout.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	exp, err := s.exporter()
	if err != nil {
		return err
	}
	w := s.window(b)
	if w != nil && !b.WindowEnd && !w.hasFailed() {
		return s.dispatch(ctx, w, b)
	}
	var carried [][]pipeline.Event
	if w != nil {
		if err := waitGroup(ctx, &w.wg); err != nil {
			return fmt.Errorf("otlp sink %q: waiting for the window's requests: %w", s.name, err)
		}
		w.mu.Lock()
		err, w.err = w.err, nil
		if err == nil {
			// This batch takes the failed requests over; those that
			// fail again go back below.
			carried, w.failed = w.failed, nil
		}
		w.mu.Unlock()
		if err != nil {
			// Reported first, so that the runner's back-off (and the
			// delay a server asked for) comes before the resend.
			if pipeline.IsPermanent(err) {
				// Not retried: the window is not acknowledged, and the
				// source reads it again when it restarts.
				return fmt.Errorf("%w (a request of this window sent earlier was refused)", err)
			}
			return fmt.Errorf("%w (a request of this window sent earlier failed; it is sent again with this batch)", err)
		}
	}
	chunks := append(carried, s.chunks(b.Events)...)
	rejected, errs, first := s.sendAll(ctx, exp, b.Source, chunks)
	var own []pipeline.Rejection
	if w != nil {
		w.mu.Lock()
		for i := range carried {
			if errs[i] != nil {
				w.failed = append(w.failed, carried[i])
			} else {
				w.rejected = append(w.rejected, rejected[i]...)
			}
		}
		if first == nil && b.WindowEnd {
			own = w.rejected
			w.rejected = nil
		}
		w.mu.Unlock()
	}
	if first != nil {
		return first
	}
	if w != nil && b.WindowEnd {
		s.wmu.Lock()
		if s.windows[b.Source] == w {
			delete(s.windows, b.Source)
		}
		s.wmu.Unlock()
	}
	for _, r := range rejected[len(carried):] {
		own = append(own, r...)
	}
	if len(own) > 0 {
		return &pipeline.RejectedError{Sink: s.name, Rejected: own}
	}
	return nil
}

// window returns the open window of b's source, opening a new one on a
// WindowStart batch that is not also the WindowEnd; nil outside a window.
func (s *Sink) window(b pipeline.Batch) *window {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if b.WindowStart {
		// An earlier attempt's background requests report into the
		// window they started with, which is dropped here.
		delete(s.windows, b.Source)
		if b.WindowEnd {
			return nil
		}
		w := &window{}
		s.windows[b.Source] = w
		return w
	}
	return s.windows[b.Source]
}

// dispatch starts the background requests of a mid-window batch.
func (s *Sink) dispatch(ctx context.Context, w *window, b pipeline.Batch) error {
	evs := copyEvents(b.Events)
	chunks := s.chunks(evs)
	for i, chunk := range chunks {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// A request of the window failed (a slot is released only after
		// its request's outcome is recorded): the rest of the batch waits
		// behind it, in order, for the next batch to send them all again,
		// rather than go to a destination known to be failing.
		w.mu.Lock()
		if len(w.failed) > 0 {
			w.failed = append(w.failed, chunks[i:]...)
			w.mu.Unlock()
			<-s.sem
			return nil
		}
		w.mu.Unlock()
		s.mu.Lock()
		exp, bg := s.exp, s.bg
		if exp != nil {
			s.inflight.Add(1)
		}
		s.mu.Unlock()
		if exp == nil {
			<-s.sem
			return pipeline.Permanent(fmt.Errorf("otlp sink %q: shut down", s.name))
		}
		s.pending.Add(1)
		w.wg.Add(1)
		go func() {
			defer func() { s.pending.Add(-1); <-s.sem; w.wg.Done(); s.inflight.Done() }()
			rej, err := s.send(bg, exp, b.Source, chunk)
			w.mu.Lock()
			defer w.mu.Unlock()
			if err != nil {
				w.failed = append(w.failed, chunk)
				if w.err == nil {
					w.err = err
				}
				s.log.Debug("request failed; the window's last batch sends it again", "source", b.Source, "records", len(chunk), "err", err)
				return
			}
			w.rejected = append(w.rejected, rej...)
		}()
	}
	return nil
}

// copyEvents copies evs and their Raw bytes (into one block), so that
// background requests and rejections outlive the batch.
func copyEvents(evs []pipeline.Event) []pipeline.Event {
	n := 0
	for i := range evs {
		n += len(evs[i].Raw)
	}
	block := make([]byte, 0, n)
	out := make([]pipeline.Event, len(evs))
	for i := range evs {
		out[i] = evs[i]
		start := len(block)
		block = append(block, evs[i].Raw...)
		out[i].SetRaw(block[start:len(block):len(block)])
	}
	return out
}

// waitGroup waits for wg or ctx.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
// each one's rejections and error, and the first failure. The first failure
// cancels the other requests; their cancellations are not what went wrong,
// so only it is returned as first.
func (s *Sink) sendAll(ctx context.Context, exp exporter, source string, chunks [][]pipeline.Event) ([][]pipeline.Rejection, []error, error) {
	rejected := make([][]pipeline.Rejection, len(chunks))
	errs := make([]error, len(chunks))
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
			for j := i; j < len(chunks); j++ {
				errs[j] = err
			}
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rejected[i], errs[i] = s.send(ctx, exp, source, evs)
			if errs[i] != nil {
				failOnce.Do(func() { first = errs[i]; cancel() })
			}
		})
	}
	wg.Wait()
	return rejected, errs, first
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
