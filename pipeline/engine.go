package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"
)

// DefaultBatchSize is the number of events per batch of a source that does
// not choose (see BatchSizer).
const DefaultBatchSize = 1000

// engine delivers the windows of sources: it cuts each window into
// batches, runs the transforms once, hands the batches to every sink,
// retries a sink that failed (and only that sink), asks every sink to
// commit, and saves the cursor. It is the one delivery loop of the
// project; sources only produce windows.
type engine struct {
	log        *slog.Logger
	tel        Telemetry
	tracer     Tracer
	transforms []namedTransform
	sinks      []*sinkSlot
	deadLetter *sinkSlot // nil: a rejected event stops the source
	store      CursorStore
	drain      time.Duration
	progress   func(source string, p Progress) // nil: not asked for
}

// sinkSlot is one sink as the engine drives it.
type sinkSlot struct {
	name   string
	sink   Sink
	commit Committer // nil: Consume's nil is final
	policy RetryPolicy
	accept Accept // the events the sink takes
}

// newSlot drives c, which may be a bare Consumer (see Assemble): it then
// gets a lifecycle that does nothing.
func newSlot(name string, c Consumer, policy RetryPolicy) *sinkSlot {
	s := &sinkSlot{name: name, policy: policy}
	s.commit, _ = c.(Committer)
	if s.sink, _ = c.(Sink); s.sink == nil {
		s.sink = bareSink{c}
	}
	return s
}

// bareSink gives a Consumer the lifecycle of a Sink.
type bareSink struct{ Consumer }

func (bareSink) Start(context.Context) error    { return nil }
func (bareSink) Shutdown(context.Context) error { return nil }

// runSource loads the cursor of source, runs it and delivers its windows
// in order until it returns, ctx is done (the window in delivery is then
// finished within the drain timeout) or a delivery fails for good. A
// window interrupted by the end of the drain makes it return an error
// wrapping ErrInterrupted.
func (e *engine) runSource(ctx context.Context, name string, src Source, once bool) error {
	cursor, err := e.store.Load(ctx, name)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("loading the cursor: %w", err)
	}
	size := DefaultBatchSize
	if bs, ok := src.(BatchSizer); ok && bs.BatchSize() > 0 {
		size = bs.BatchSize()
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	windows := make(chan Window)
	srcErr := make(chan error, 1)
	go func() {
		defer close(windows)
		srcErr <- src.Run(sctx, SourceHost{Cursor: cursor, Once: once, Emit: func(c context.Context, w Window) error {
			select {
			case windows <- w:
				return nil
			case <-c.Done():
				return c.Err()
			}
		}})
	}()
	prog := newProgressTracker(name, e.log, e.tel, e.progress)
	var deliverErr error
	for w := range windows {
		if ctx.Err() != nil {
			abandon(w)
			break // not started: read again at the next start
		}
		if deliverErr = e.deliver(ctx, name, w, size); deliverErr != nil {
			break
		}
		prog.committed(w)
	}
	stop()
	for w := range windows {
		abandon(w)
	}
	err = <-srcErr
	switch {
	case deliverErr != nil:
		return deliverErr
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return nil
	}
	return err
}

// drainContext returns a context that is not done when ctx is, but a
// drain timeout after that: a shutdown finishes the window in flight
// instead of replaying it.
func drainContext(ctx context.Context, drain time.Duration) (context.Context, context.CancelFunc) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(drain, cancel)
		context.AfterFunc(dctx, func() { t.Stop() })
	})
	return dctx, func() { stop(); cancel() }
}

// errNotDelivered ends the span of a window the engine never started to
// deliver (the source stopped first): it is read again at the next start.
var errNotDelivered = errors.New("window not delivered: the source stopped first")

// abandon ends the span of a window that is not delivered.
func abandon(w Window) {
	if w.Span != nil {
		w.Span.End(errNotDelivered)
	}
}

// deliver delivers one window and saves its cursor, in the window's span:
// the one the source started while reading it, or a new one.
func (e *engine) deliver(ctx context.Context, source string, w Window, size int) error {
	started := time.Now()
	dctx, cancel := drainContext(ctx, e.drain)
	defer cancel()
	span := w.Span
	if span == nil {
		dctx, span = e.tracer.StartWindow(dctx)
	} else {
		dctx = e.tracer.WithSpan(dctx, span)
	}
	if span.Recording() {
		span.SetAttributes(windowAttrs(source, w)...)
	}
	err := e.deliverWindow(dctx, source, w, size)
	if err != nil {
		e.abortAll(dctx, source)
		if dctx.Err() != nil {
			err = fmt.Errorf("%w: window %s of %d events (it is delivered again at the next start)", ErrInterrupted, spanOf(w), len(w.Events))
		}
		span.End(err)
		return err
	}
	e.tel.WindowCommitted(source, len(w.Events), time.Since(started), w.End)
	// overlap_reread: events read again because windows overlap (see
	// overlap) and dropped as already delivered; expected, not a fault.
	e.log.InfoContext(dctx, "window committed", "source", source, "window", spanOf(w), "events", len(w.Events),
		"overlap_reread", max(w.Fetched-len(w.Events), 0), "requests", w.Requests, "took", time.Since(started).Round(time.Millisecond))
	span.End(nil)
	return nil
}

// windowAttrs describes w on its span. Bytes are those of the events as
// the source read them.
func windowAttrs(source string, w Window) []Attr {
	bytes := 0
	for i := range w.Events {
		bytes += len(w.Events[i].Raw)
	}
	attrs := []Attr{
		{"auditrelay.source", source},
		{"auditrelay.window.events", len(w.Events)},
		{"auditrelay.window.bytes", bytes},
		{"auditrelay.window.requests", w.Requests},
	}
	if len(w.Events) > 0 {
		attrs = append(attrs, Attr{"auditrelay.vendor", w.Events[0].Vendor()})
	}
	if !w.Start.IsZero() || !w.End.IsZero() {
		attrs = append(attrs, Attr{"auditrelay.window.start", w.Start}, Attr{"auditrelay.window.end", w.End})
	}
	return attrs
}

func (e *engine) deliverWindow(ctx context.Context, source string, w Window, size int) error {
	events, dl, err := e.splitInvalid(ctx, source, w.Events)
	if err != nil {
		return err
	}
	tctx, tspan := e.tracer.Start(ctx, "transform")
	batches, err := e.transform(tctx, source, events, size)
	if tspan.Recording() {
		tspan.SetAttributes(Attr{"auditrelay.transforms", len(e.transforms)}, Attr{"auditrelay.batches", len(batches)})
	}
	tspan.End(err)
	if err != nil {
		return err
	}
	// Every sink takes the window on its own: a sink that fails is
	// retried alone while the others are done with it.
	sts := make([]*sinkWindow, len(e.sinks))
	errs := make([]error, len(e.sinks))
	var wg sync.WaitGroup
	for i, s := range e.sinks {
		sts[i] = &sinkWindow{s: s, source: source, batches: s.accept.route(batches), cursor: w.Cursor, dl: dl}
		wg.Go(func() { errs[i] = e.toSink(ctx, sts[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := e.sendDeadLetters(ctx, source, w.Cursor, dl); err != nil {
		return err
	}
	// Before the cursor: a crash in between replays the window, which a
	// WindowTransform recognises in its state (see WindowTransform).
	if err := e.commitTransforms(ctx, source); err != nil {
		return err
	}
	if w.Cursor == nil {
		return nil
	}
	return e.save(ctx, source, w.Cursor, sts, dl)
}

// splitInvalid takes the events the source could not index out of evs and
// makes them the first dead letters of the window; there must be a
// dead-letter sink to take them.
func (e *engine) splitInvalid(ctx context.Context, source string, evs []Event) ([]Event, *deadLetters, error) {
	dl := &deadLetters{}
	if !slices.ContainsFunc(evs, func(ev Event) bool { return ev.Invalid != "" }) {
		return evs, dl, nil
	}
	if e.deadLetter == nil {
		return nil, nil, Permanent(errors.New("an event the source could not index, and no dead-letter sink to take it"))
	}
	valid := make([]Event, 0, len(evs))
	for _, ev := range evs {
		if ev.Invalid == "" {
			valid = append(valid, ev)
			continue
		}
		if err := dl.add(deadLetterEntry{Source: source, Reason: ev.Invalid}, ev); err != nil {
			return nil, nil, err
		}
	}
	e.tel.InvalidEvents(source, len(evs)-len(valid))
	e.log.WarnContext(ctx, "events the source could not index go to the dead-letter sink", "source", source, "events", len(evs)-len(valid))
	return valid, dl, nil
}

// sendDeadLetters hands the events the sinks rejected since the last call
// to the dead-letter sink. No sink may be delivering the window meanwhile.
func (e *engine) sendDeadLetters(ctx context.Context, source string, cursor []byte, dl *deadLetters) error {
	evs, from := dl.events[dl.sent:], dl.from[dl.sent:]
	if len(evs) == 0 {
		return nil
	}
	st := &sinkWindow{s: e.deadLetter, source: source, batches: []Batch{{Source: source, Events: evs}}, cursor: cursor}
	if err := e.toSink(ctx, st); err != nil {
		return fmt.Errorf("dead_letter: %w", err)
	}
	dl.sent = len(dl.events)
	bySink := map[string]int{}
	for _, s := range from {
		if s != "" { // "": an event the source could not index, counted apart
			bySink[s]++
		}
	}
	for s, n := range bySink {
		e.tel.DeadLettered(s, n)
	}
	if len(bySink) > 0 {
		e.log.WarnContext(ctx, "events rejected by sinks went to the dead-letter sink", "source", source, "events", len(evs))
	}
	return nil
}

// save saves cursor. When the store's save lost the window's records, it
// sends the window again to the sink the store names (without the events
// that sink rejected before) and the events it now rejects to the dead
// letter.
func (e *engine) save(ctx context.Context, source string, cursor []byte, sts []*sinkWindow, dl *deadLetters) (err error) {
	ctx, span := e.tracer.Start(ctx, "cursor.save")
	defer func() { span.End(err) }()
	policy := DefaultRetryPolicy()
	for attempt := 0; ; attempt++ {
		err := e.store.Save(ctx, source, cursor)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || IsPermanent(err) {
			return fmt.Errorf("saving the cursor: %w", err)
		}
		wait := policy.Wait(err, attempt)
		e.tel.Retried("checkpoint", "save", wait)
		span.AddEvent("retry", Attr{"auditrelay.retry.wait", wait}, Attr{"error.message", err.Error()})
		e.log.WarnContext(ctx, "saving the cursor failed, retrying", "source", source, "wait", wait, "err", err)
		if err := Sleep(ctx, wait); err != nil {
			return fmt.Errorf("saving the cursor: %w", err)
		}
		var re *RedeliverError
		if errors.As(err, &re) {
			i := slices.IndexFunc(sts, func(st *sinkWindow) bool { return st.s.name == re.Sink })
			if i < 0 {
				return Permanent(fmt.Errorf("saving the cursor: the store asks to redeliver to an unknown sink %q: %w", re.Sink, err))
			}
			sts[i].next = 0
			if err := e.toSink(ctx, sts[i]); err != nil {
				return err
			}
			if err := e.sendDeadLetters(ctx, source, cursor, dl); err != nil {
				return err
			}
		}
	}
}

// abortAll tells every committer that the window was given up.
func (e *engine) abortAll(ctx context.Context, source string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, s := range append(slices.Clone(e.sinks), e.deadLetter) {
		if s != nil && s.commit != nil {
			if err := s.commit.AbortWindow(actx, source); err != nil {
				e.log.WarnContext(ctx, "aborting the window", "sink", s.name, "source", source, "err", err)
			}
		}
	}
}

// transform cuts events into batches and runs the transforms over each,
// several batches at once (transforms are safe for concurrent use with
// different batches). A transform that fails is retried with the default
// policy unless its error is permanent; a retry starts from the source's
// events, which the transforms never change.
func (e *engine) transform(ctx context.Context, source string, events []Event, size int) ([]Batch, error) {
	var batches []Batch
	for i := 0; i < len(events); i += size {
		batches = append(batches, Batch{Source: source, Events: events[i:min(i+size, len(events))]})
	}
	if len(e.transforms) == 0 {
		for _, b := range batches {
			if err := finalize(b.Events); err != nil {
				return nil, err
			}
		}
		return batches, nil
	}
	policy := DefaultRetryPolicy()
	for attempt := 0; ; attempt++ {
		out, err := e.transformStages(ctx, source, batches)
		if err == nil || IsPermanent(err) || ctx.Err() != nil {
			return out, err
		}
		wait := policy.Wait(err, attempt)
		e.tel.Retried("transforms", "transform", wait)
		e.log.WarnContext(ctx, "transform failed, retrying", "source", source, "wait", wait, "err", err)
		if err := Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (e *engine) transformOnce(ctx context.Context, ts []namedTransform, in []Batch) ([]Batch, error) {
	out := make([]Batch, len(in))
	errs := make([]error, len(in))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, b := range in {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			b.Events = slices.Clone(b.Events) // transforms change events in place
			out[i], errs[i] = e.runTransforms(ctx, ts, b)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (e *engine) runTransforms(ctx context.Context, ts []namedTransform, b Batch) (Batch, error) {
	for _, t := range ts {
		n := len(b.Events)
		var err error
		if b, err = t.t.Process(ctx, b); err != nil {
			return b, fmt.Errorf("transform %q: %w", t.name, err)
		}
		if d := n - len(b.Events); d > 0 {
			e.tel.EventsFiltered(t.name, d)
		}
	}
	return b, finalize(b.Events)
}

// finalize encodes the events a transform changed as objects.
func finalize(evs []Event) error {
	for i := range evs {
		if err := evs[i].Finalize(); err != nil {
			return Permanent(fmt.Errorf("encoding event %s: %w", evs[i].ID, err))
		}
	}
	return nil
}

// toSink delivers the window's batches from st.next on to one sink and
// commits them, retrying with the sink's policy until it took the window,
// the policy's max_elapsed ran out, the error is permanent, or ctx is done.
// Events the sink rejects go to st.dl (nil: there is no dead-letter sink,
// which makes a rejection permanent) and are left out of any retry.
func (e *engine) toSink(ctx context.Context, st *sinkWindow) (err error) {
	s, source := st.s, st.source
	ctx, span := e.tracer.Start(ctx, "sink.deliver")
	attempts := 0
	defer func() {
		if span.Recording() {
			span.SetAttributes(Attr{"auditrelay.sink", s.name}, Attr{"auditrelay.attempts", attempts})
		}
		span.End(err)
	}()
	start := time.Now()
	e.tel.InFlight(1)
	defer e.tel.InFlight(-1)
	for attempt := 0; ; attempt++ {
		attempts++
		err := e.take(ctx, st)
		if err == nil {
			return nil
		}
		if s.commit != nil {
			// What was consumed is not durable and may be lost: the retry
			// starts the window afresh.
			if aerr := s.commit.AbortWindow(ctx, source); aerr != nil {
				err = errors.Join(err, aerr)
			}
			st.next = 0
		}
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("sink %q: %w", s.name, err)
		case IsPermanent(err):
			return fmt.Errorf("sink %q: %w", s.name, err)
		case s.policy.MaxElapsed > 0 && time.Since(start) >= s.policy.MaxElapsed:
			return fmt.Errorf("sink %q: giving up after retrying for %v (retry.max_elapsed): %w", s.name, s.policy.MaxElapsed, err)
		}
		wait := s.policy.Wait(err, attempt)
		if s.policy.MaxElapsed > 0 {
			wait = min(wait, max(s.policy.MaxElapsed-time.Since(start), 0))
		}
		e.tel.Retried(s.name, "sink", wait)
		if span.Recording() {
			span.AddEvent("retry", Attr{"auditrelay.retry.wait", wait}, Attr{"auditrelay.retry.reason", "sink"},
				Attr{"error.message", err.Error()})
		}
		e.log.WarnContext(ctx, "sink failed, retrying it alone", "sink", s.name, "source", source, "attempt", attempt+1, "wait", wait, "err", err)
		if serr := Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("sink %q: %w", s.name, err)
		}
	}
}

// sinkWindow is where one sink is with one window.
type sinkWindow struct {
	s       *sinkSlot
	source  string
	batches []Batch
	cursor  []byte
	dl      *deadLetters
	next    int             // the first batch the sink has not taken
	skip    map[[2]int]bool // batch and event index of events the sink rejected
}

// take hands the batches from st.next on to the sink, then commits them.
func (e *engine) take(ctx context.Context, st *sinkWindow) error {
	for ; st.next < len(st.batches); st.next++ {
		b := st.batches[st.next]
		idx := make([]int, 0, len(b.Events)) // position in the window's batch of each event sent
		if len(st.skip) > 0 {
			evs := make([]Event, 0, len(b.Events))
			for i := range b.Events {
				if !st.skip[[2]int{st.next, i}] {
					evs = append(evs, b.Events[i])
					idx = append(idx, i)
				}
			}
			b.Events = evs
		} else {
			for i := range b.Events {
				idx = append(idx, i)
			}
		}
		if len(b.Events) == 0 {
			continue
		}
		t0 := time.Now()
		cctx, cspan := e.tracer.Start(ctx, "sink.consume")
		err := st.s.sink.Consume(cctx, b)
		d, n := time.Since(t0), b.Bytes()
		if cspan.Recording() {
			cspan.SetAttributes(Attr{"auditrelay.sink", st.s.name}, Attr{"auditrelay.events", len(b.Events)}, Attr{"auditrelay.bytes", n})
		}
		cspan.End(err)
		e.tel.SinkBatch(st.s.name, len(b.Events), n, d, err)
		if err == nil {
			continue
		}
		if err := e.setAside(st, err, func(id string) (int, int) {
			if i := slices.IndexFunc(b.Events, func(ev Event) bool { return ev.ID == id }); i >= 0 {
				return st.next, idx[i]
			}
			return -1, -1
		}); err != nil {
			return err
		}
	}
	if st.s.commit == nil {
		return nil
	}
	cctx, cspan := e.tracer.Start(ctx, "sink.commit")
	if cspan.Recording() {
		cspan.SetAttributes(Attr{"auditrelay.sink", st.s.name})
	}
	err := st.s.commit.CommitWindow(cctx, st.source, st.cursor)
	cspan.End(err)
	if err == nil {
		return nil
	}
	// The events of the whole window, by id, made once: a commit may
	// reject many.
	var at map[string][2]int
	return e.setAside(st, err, func(id string) (int, int) {
		if at == nil {
			at = map[string][2]int{}
			for bi, b := range st.batches {
				for i := range b.Events {
					if _, dup := at[b.Events[i].ID]; !dup && !st.skip[[2]int{bi, i}] {
						at[b.Events[i].ID] = [2]int{bi, i}
					}
				}
			}
		}
		if p, ok := at[id]; ok {
			return p[0], p[1]
		}
		return -1, -1
	})
}

// setAside deals with the events a sink rejected, in a *RejectedError in
// err's chain: each goes to st.dl, and is left out when the window is sent
// to the sink again. find places an event id in the window (batch and
// index, -1 when it is not there). It returns what err says besides the
// rejection, which decides whether the sink is retried: nil when the
// rejection is all.
func (e *engine) setAside(st *sinkWindow, err error, find func(id string) (int, int)) error {
	rej, alone := rejection(err)
	if rej == nil {
		return err
	}
	if st.dl == nil || e.deadLetter == nil {
		return Permanent(fmt.Errorf("no dead_letter sink configured: %w", err))
	}
	if st.skip == nil {
		st.skip = map[[2]int]bool{}
	}
	for _, r := range rej.Rejected {
		bi, i := find(r.Event.ID)
		if bi < 0 || st.skip[[2]int{bi, i}] {
			continue
		}
		st.skip[[2]int{bi, i}] = true
		if derr := st.dl.add(deadLetterEntry{Sink: st.s.name, Reason: r.Reason}, r.Event); derr != nil {
			return derr
		}
	}
	if alone {
		return nil
	}
	return besides(err)
}

// rejection returns the *RejectedError in err's chain, and whether it is
// all err says (the sink took the batch's other events).
func rejection(err error) (*RejectedError, bool) {
	var rej *RejectedError
	if !errors.As(err, &rej) {
		return nil, false
	}
	for u := err; u != nil; u = errors.Unwrap(u) {
		if u == error(rej) {
			return rej, true
		}
	}
	return rej, false
}

// besides returns what err reports besides a rejection.
func besides(err error) error {
	if _, alone := rejection(err); alone {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var rest []error
		for _, e := range j.Unwrap() {
			if r := besides(e); r != nil {
				rest = append(rest, r)
			}
		}
		return errors.Join(rest...)
	}
	return err
}

// deadLetters collects the events sinks rejected in one window; the engine
// hands them to the dead-letter sink once every sink is done.
type deadLetters struct {
	mu     sync.Mutex
	events []Event
	from   []string // the sink that rejected each event
	sent   int      // events[:sent] went to the dead-letter sink
}

// deadLetterEntry is the JSON object the dead-letter sink receives for each
// rejected event: the event untouched plus why and where it was refused.
type deadLetterEntry struct {
	// Sink is the sink that refused the event; Source, instead, the source
	// that could not index it.
	Sink   string          `json:"sink,omitempty"`
	Source string          `json:"source,omitempty"`
	Reason string          `json:"reason"`
	Time   time.Time       `json:"rejected_at"`
	Event  json.RawMessage `json:"event"`
}

// add makes ev a dead letter with entry's sink or source and reason.
func (d *deadLetters) add(entry deadLetterEntry, ev Event) error {
	entry.Time, entry.Event = time.Now().UTC(), json.RawMessage(ev.Raw)
	raw, err := json.Marshal(entry)
	if err != nil {
		return Permanent(fmt.Errorf("dead-letter entry for %s: %w", ev.ID, err))
	}
	ev.SetRaw(raw)
	ev.Schema, ev.Invalid = "auditrelay.dead_letter", ""
	d.mu.Lock()
	d.events = append(d.events, ev)
	d.from = append(d.from, entry.Sink)
	d.mu.Unlock()
	return nil
}

// spanOf names a window for logs: its time span, or its last event's id.
func spanOf(w Window) string {
	if !w.Start.IsZero() || !w.End.IsZero() {
		return w.Start.UTC().Format(time.RFC3339) + ".." + w.End.UTC().Format(time.RFC3339)
	}
	if n := len(w.Events); n > 0 {
		return "up to " + w.Events[n-1].ID
	}
	return "(empty)"
}
