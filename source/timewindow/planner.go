package timewindow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// WalkFunc reads every event of [lo, hi) (unix seconds, inclusive lo) newest
// first, handing each page to visit (more: a page follows) until visit
// returns false or the range ends. It returns the requests it made. It
// blocks until then; ctx cancels it.
type WalkFunc func(ctx context.Context, lo, hi int64, visit func(page []pipeline.Event, more bool) bool) (requests int, err error)

// Config is how a Planner cuts time.
type Config struct {
	// Overlap is how far back a window near the present re-reads for
	// events that became visible late; Settle keeps a window's end this far
	// behind the API's present.
	Overlap, Settle time.Duration
	// PollInterval is the wait between windows once caught up.
	PollInterval time.Duration
	// MaxWindowEvents bounds the events of one window (a single second
	// that holds more is read whole, up to hardCapFactor times that).
	MaxWindowEvents int
	// MaxWindow is the longest stretch of time one request walks.
	MaxWindow time.Duration
	// PageSize is the most events a page holds.
	PageSize int
	// MaxBuffered bounds the events held in memory across the stretches
	// read ahead of delivery.
	MaxBuffered int
	// Earliest is the time before which the API holds no event: a
	// checkpoint before it is refused (zero: no such bound).
	Earliest time.Time
	// Prefetch, when >= 0, caps the windows waiting for delivery: no new
	// stretch is read while more wait (0: read and deliver in turn).
	// Negative leaves it to MaxBuffered.
	Prefetch int
}

// hardCapFactor bounds the events of a window that cannot be split (one
// second of the API's time), in multiples of MaxWindowEvents.
const hardCapFactor = 10

// errTooDense is wrapped by the error of a second holding more events than
// a window may take.
var errTooDense = errors.New("one second holds more events than a window may take")

// Planner turns a newest-first, time-filtered, cursor-paged API (OpenAI
// audit logs, Anthropic activities) into windows committed oldest first.
//
// A window is [cursor - overlap, API now - settle). The first request of a
// catch-up is the first page of the whole range: when the range fits one
// page, that page is the window (the steady state of a live tail: one
// request per poll). Otherwise the page's events are the range's newest
// stretch and give the density of events; the rest is cut into stretches
// planned to hold about half a window each and read concurrently, as many
// at once as the limiter lets run, and their windows are committed in time
// order; those that wait for a delivery behind them go as one window (see
// gatherer). A stretch that fills up anyway is split at the second it reached:
// the pages read cover [reached + 1, end) completely and become a window,
// and the rest is planned again with the density just measured. The events
// read ahead of delivery stay below about two and a half times MaxBuffered:
// no stretch starts while MaxBuffered are held, except the oldest unread,
// and those running then read on to their end (planned at about
// MaxBuffered together, one that shows more than 1.5 times its plan is cut
// by resize). Once two whole windows wait for the engine, delivery is what
// holds the back-fill back: no reader makes a request until the engine
// takes a window.
type Planner struct {
	Config
	Walk WalkFunc
	// Now is the API's clock (false while unknown: the local clock stands
	// in, and the first answer corrects it).
	Now func() (time.Time, bool)
	// Limit is how many requests may run at once now (the limiter).
	Limit func() int
	Log   *slog.Logger
	// Tracer starts the span of each window before its first request, so
	// that the requests (see httpapi.Client) are its children; nil traces
	// nothing.
	Tracer pipeline.Tracer
}

// tracer returns p.Tracer or a NopTracer.
func (p *Planner) tracer() pipeline.Tracer {
	if p.Tracer == nil {
		return pipeline.NopTracer{}
	}
	return p.Tracer
}

// maxCursorAhead is how far past the API's present a checkpoint's time
// may be: clocks differ, but not by a day.
const maxCursorAhead = 24 * time.Hour

// checkCursor refuses a checkpoint no run of this planner can have written
// (see CheckCursorTime).
func (p *Planner) checkCursor(raw []byte, cur Cursor) error {
	if raw == nil {
		return nil
	}
	now, _ := p.Now()
	return CheckCursorTime(cur.Time, now, p.Earliest)
}

// CheckCursorTime refuses the time t (unix seconds) of a checkpoint no run
// of a source can have written: one more than a day past the API's present
// now (the source would wait for it in silence, and a --once run deliver
// nothing) or before earliest, the API's first possible event (zero: no
// bound), or negative (the source would walk empty windows back to it).
func CheckCursorTime(t int64, now, earliest time.Time) error {
	switch {
	case t > now.Add(maxCursorAhead).Unix():
		return fmt.Errorf("the checkpoint's time %s is past the API's present %s: it was not written by this source against this API; move it away to start from start_at",
			fmtUnix(t), now.UTC().Format(time.RFC3339))
	case t < 0 || (!earliest.IsZero() && time.Unix(t, 0).Before(earliest)):
		return fmt.Errorf("the checkpoint's time %d is before the API's first possible event (%s); move it away to start from start_at",
			t, earliest.UTC().Format(time.RFC3339))
	}
	return nil
}

// Run reads from host.Cursor (or, without one, from start) and emits
// windows until ctx is done or, with host.Once, until it caught up to the
// API's present minus settle as it was when Run began. It returns an error
// when a stretch cannot be read (after the client's retries).
func (p *Planner) Run(ctx context.Context, host pipeline.SourceHost, start time.Time) error {
	cur, err := decodeCursor(host.Cursor, start)
	if err != nil {
		return pipeline.Permanent(err)
	}
	if err := p.checkCursor(host.Cursor, cur); err != nil {
		return pipeline.Permanent(err)
	}
	if host.Cursor == nil {
		p.Log.Info("no checkpoint, starting from start_at", "start_at", start.UTC().Format(time.RFC3339))
	} else {
		p.Log.Info("resuming from checkpoint", "cursor", fmtUnix(cur.Time), "seen", len(cur.Seen))
	}
	target := int64(math.MaxInt64)
	for {
		if ctx.Err() != nil {
			return nil
		}
		now, _ := p.Now()
		end := now.Unix() - int64(p.Settle/time.Second)
		if host.Once {
			if target == math.MaxInt64 {
				target = end
			}
			end = min(end, target)
		}
		if cur.Time >= end {
			if host.Once {
				return nil
			}
			if pipeline.Sleep(ctx, p.PollInterval) != nil {
				return nil
			}
			continue
		}
		next, reached, err := p.catchUp(ctx, host, cur, end)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		cur = next
		if reached && !host.Once {
			// Caught up: wait for new events instead of polling tiny windows.
			if pipeline.Sleep(ctx, p.PollInterval) != nil {
				return nil
			}
		}
	}
}

func fmtUnix(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

// apiNow returns the API's time in unix seconds.
func (p *Planner) apiNow() int64 {
	t, _ := p.Now()
	return t.Unix()
}

// overlapStart returns where a window starting at t begins: overlap seconds
// early, for the events the window before it may have missed, unless that
// window's fetch began overlap + settle seconds or more after t: an event it
// did not see then became visible later than that after its time, which no
// overlap covers (the documented limit). A cursor written before FetchedAt
// existed has it 0, so its next window overlaps. A source without a cursor
// reads nothing before start_at.
func (p *Planner) overlapStart(t, prevFetched int64, cur Cursor) int64 {
	overlap, settle := int64(p.Overlap/time.Second), int64(p.Settle/time.Second)
	lo := t
	if prevFetched < t+overlap+settle {
		lo = t - overlap
	}
	if cur.initial {
		lo = max(lo, cur.Time)
	}
	return lo
}

// catchUp reads [cur, end) and emits its windows. reached reports that it
// got to end (the API's clock may pull end in once it is known).
func (p *Planner) catchUp(ctx context.Context, host pipeline.SourceHost, cur Cursor, end int64) (Cursor, bool, error) {
	lo := p.overlapStart(cur.Time, cur.FetchedAt, cur)
	fetchedAt := p.apiNow()
	var first []pipeline.Event
	var more bool
	// The first page is the window when the range fits it, the last
	// window of a back-fill when it covers a stretch whole, or else only
	// the plan's measure of density: its span is then renamed.
	wctx, span := p.tracer().StartWindow(ctx)
	reqs, err := p.Walk(wctx, lo, end, func(page []pipeline.Event, m bool) bool {
		first, more = page, m
		return false
	})
	if err != nil {
		err = fmt.Errorf("reading %s..%s: %w", fmtUnix(lo), fmtUnix(end), err)
		span.End(err)
		return cur, false, err
	}
	// The answer told the API's clock: a window must not end past what
	// it shows yet.
	end2 := min(end, p.apiNow()-int64(p.Settle/time.Second))
	if end2 <= cur.Time {
		span.SetName("plan")
		span.End(nil)
		return cur, false, nil
	}
	if end2 < end {
		first = dropFrom(first, end2)
	}
	if !more {
		next, err := p.emit(ctx, host, cur, end2, []part{{lo: lo, hi: end2, pages: [][]pipeline.Event{first}, fetchedAt: fetchedAt, requests: reqs, span: span}})
		return next, end2 == end, err
	}
	var tail *part
	to, density := end2, 0.0
	if len(first) > 0 {
		oldest := first[0].Time.Unix()
		for _, ev := range first {
			oldest = min(oldest, ev.Time.Unix())
		}
		if oldest+1 < end2 {
			// The page covers [oldest + 1, end2) whole: it is the last
			// window.
			tail = &part{lo: oldest + 1, hi: end2, pages: [][]pipeline.Event{dropBelow(first, oldest+1)}, fetchedAt: fetchedAt, requests: reqs, span: span}
			to = oldest + 1
		}
		density = float64(len(first)) / float64(max(end2-oldest, 1))
	}
	if tail == nil {
		span.SetName("plan")
		span.End(nil)
	}
	b := &backfill{p: p, host: host, cur: cur, from: lo, to: to, goal: end2, density: density, tail: tail}
	next, err := b.run(ctx)
	return next, err == nil && end2 == end, err
}

// dropFrom removes the events at or after t from a newest-first page.
func dropFrom(evs []pipeline.Event, t int64) []pipeline.Event {
	if !slices.ContainsFunc(evs, func(ev pipeline.Event) bool { return ev.Time.Unix() >= t }) {
		return evs
	}
	out := evs[:0:0]
	for _, ev := range evs {
		if ev.Time.Unix() < t {
			out = append(out, ev)
		}
	}
	return out
}

// dropBelow keeps the events at or after t.
func dropBelow(evs []pipeline.Event, t int64) []pipeline.Event {
	if !slices.ContainsFunc(evs, func(ev pipeline.Event) bool { return ev.Time.Unix() < t }) {
		return evs
	}
	out := evs[:0:0]
	for _, ev := range evs {
		if ev.Time.Unix() >= t {
			out = append(out, ev)
		}
	}
	return out
}

// emit hands the window of parts to the engine and returns the cursor that
// holds after it.
func (p *Planner) emit(ctx context.Context, host pipeline.SourceHost, cur Cursor, goal int64, parts []part) (Cursor, error) {
	w, next := finish(parts, cur, int64(p.Overlap/time.Second))
	w.Goal = time.Unix(goal, 0).UTC()
	raw, err := json.Marshal(next)
	if err != nil {
		return cur, pipeline.Permanent(err)
	}
	w.Cursor = raw
	if err := host.Emit(ctx, w); err != nil {
		if w.Span != nil {
			w.Span.End(err) // not the engine's: it did not take the window
		}
		return cur, err
	}
	return next, nil
}

// stretch is a planned range of time and what reading it produced.
type stretch struct {
	lo, hi int64 // [lo, hi): lo includes the overlap when there is one
	state  int   // pending, running, read

	// Shared by the reader and the scheduler while running.
	mu        sync.Mutex
	pages     [][]pipeline.Event // as read, newest first
	n         int                // events in pages
	reached   int64              // the oldest second read so far (hi before the first page)
	stopAt    int64              // > 0: the reader stops below this second (its stretch was cut)
	exhausted bool               // the last page is read
	resized   bool               // resize cut it already
	split     int64              // > 0: the reader stopped at a full window, at this second

	fetchedAt int64
	requests  int
	err       error
	span      pipeline.Span // the window span of its requests
}

const (
	pending = iota
	running
	read
)

// backfill reads [from, to) as concurrent stretches and emits their
// windows in order, then the tail (the catch-up's first page).
type backfill struct {
	p        *Planner
	host     pipeline.SourceHost
	cur      Cursor // the cursor of the last window emitted (the emitter's)
	from, to int64  // from includes the overlap of the first window
	goal     int64
	density  float64 // events per second, smoothed
	tail     *part

	plan     []*stretch // in time order; the unplanned rest begins at frontier
	frontier int64
	running  int
	held     atomic.Int64 // events read and not yet taken by the engine
	waiting  atomic.Int64 // windows read and not yet taken by the engine
	ready    atomic.Int64 // events of those windows (sent, in order, to the emitter)
	roomMu   sync.Mutex
	room     chan struct{} // closed, and replaced, when the engine takes a window
	wake     chan struct{}
	done     chan *stretch
}

func (b *backfill) run(ctx context.Context) (Cursor, error) {
	p := b.p
	b.frontier = b.from
	b.wake = make(chan struct{}, 1)
	b.done = make(chan *stretch)
	b.room = make(chan struct{})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The emitter hands windows to the engine while stretches are read.
	windows := make(chan part, 64)
	emitted := make(chan error, 1)
	var cur Cursor
	go func() {
		cur = b.cur
		g := gatherer{in: windows, max: p.MaxWindowEvents}
		for {
			parts := g.next()
			if parts == nil {
				break
			}
			next, err := p.emit(rctx, b.host, cur, b.goal, parts)
			if err != nil {
				emitted <- err
				cancel()
				g.drain(err)
				return
			}
			cur = next
			n := 0
			for _, pt := range parts {
				n += count(pt.pages)
			}
			b.held.Add(-int64(n))
			b.ready.Add(-int64(n))
			b.waiting.Add(-int64(len(parts)))
			b.wakePaused()
			b.signal()
		}
		emitted <- nil
	}()

	var err error
	var wg sync.WaitGroup
	for err == nil {
		b.flush(windows)
		if len(b.plan) == 0 && b.frontier >= b.to {
			break
		}
		b.startReaders(rctx, &wg)
		select {
		case s := <-b.done:
			b.running--
			err = b.settle(s)
		case <-b.wake:
		case <-rctx.Done():
			err = rctx.Err()
		}
	}
	if err == nil && b.tail != nil {
		b.waiting.Add(1)
		b.ready.Add(int64(count(b.tail.pages)))
		windows <- *b.tail
	} else if b.tail != nil && b.tail.span != nil {
		b.tail.span.End(err)
	}
	if err != nil {
		cancel()
	}
	go func() { wg.Wait(); close(b.done) }()
	for range b.done { // readers still running after a failure
	}
	close(windows)
	if eerr := <-emitted; err == nil {
		err = eerr
	}
	return cur, err
}

// gatherer takes the parts read, in order, and makes windows of them.
// When the engine is behind, the parts that wait for it go as one window,
// up to max events: a window's fixed cost (the sinks' commit, the cursor's
// save) is paid once for them, and its batches fill the cores. A window
// the engine keeps up with stays one part, delivered as soon as it is
// read. A part traced as a window of its own stays one (its page spans
// are that window's).
type gatherer struct {
	in   <-chan part
	max  int
	held *part // taken from in, not yet in a window
}

// next returns the parts of the next window, nil once in is closed and
// drained.
func (g *gatherer) next() []part {
	var parts []part
	if g.held != nil {
		parts, g.held = []part{*g.held}, nil
	} else if pt, ok := <-g.in; ok {
		parts = []part{pt}
	} else {
		return nil
	}
	if traced(parts[0]) {
		return parts
	}
	for n := count(parts[0].pages); ; {
		select {
		case pt, ok := <-g.in:
			if !ok {
				return parts
			}
			if traced(pt) || n+count(pt.pages) > g.max {
				g.held = &pt
				return parts
			}
			parts = append(parts, pt)
			n += count(pt.pages)
			if pt.span != nil {
				pt.span.End(nil) // records nothing: see traced
			}
		default:
			return parts
		}
	}
}

// drain takes every part left until in is closed: they become no window,
// and their spans end with err.
func (g *gatherer) drain(err error) {
	for parts := g.next(); parts != nil; parts = g.next() {
		for _, pt := range parts {
			if pt.span != nil {
				pt.span.End(err)
			}
		}
	}
}

// traced reports whether pt's window span records.
func traced(pt part) bool { return pt.span != nil && pt.span.Recording() }

// signal wakes the scheduler without blocking.
func (b *backfill) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// flush sends the windows at the head of the plan that are read, one per
// stretch.
func (b *backfill) flush(windows chan<- part) {
	for len(b.plan) > 0 && b.plan[0].state == read {
		s := b.plan[0]
		b.plan[0] = nil // the plan's array must not keep the events alive
		b.plan = b.plan[1:]
		b.waiting.Add(1)
		b.ready.Add(int64(count(s.pages)))
		windows <- part{lo: s.lo, hi: s.hi, pages: s.pages, fetchedAt: s.fetchedAt, requests: s.requests, span: s.span}
		s.pages = nil
	}
}

// target is how many events a planned stretch should hold: half a window,
// less when many run at once so that they fit the memory bound.
func (b *backfill) target() float64 {
	p := b.p
	t := float64(p.MaxWindowEvents) / 2
	if lim := p.Limit(); lim > 1 {
		t = min(t, float64(p.MaxBuffered)/float64(lim+1))
	}
	return max(t, 1)
}

// spanFor returns the length of a stretch expected to hold n events where
// they come at density per second (0: unknown).
func (b *backfill) spanFor(n, density float64) int64 {
	span := int64(b.p.MaxWindow / time.Second)
	if density > 0 {
		span = min(span, int64(math.Ceil(n/density)))
	}
	return max(span, 1)
}

// startReaders starts stretches while the limiter, the memory bound and the
// prefetch cap allow: the oldest pending one, a new one at the frontier, or,
// when everything is planned, half of the unread rest of a running one. The
// oldest unread stretch may always start when nothing runs, so that the
// plan moves on whatever the bounds.
func (b *backfill) startReaders(ctx context.Context, wg *sync.WaitGroup) {
	p := b.p
	b.resize()
	for {
		limit := max(p.Limit(), 1)
		if b.running >= limit || b.behind() {
			return
		}
		// Memory is spent on stretches read ahead of older ones still
		// unread: while it is spent, only the oldest unread one starts
		// (it is what lets windows go). The running ones read on to their
		// end, about a target each (target() keeps their sum near
		// MaxBuffered).
		prefetched := p.Prefetch >= 0 && b.waiting.Load() > int64(p.Prefetch)
		full := prefetched || b.held.Load() >= int64(p.MaxBuffered)
		s := b.nextPending(!full || b.running == 0)
		if s == nil {
			// Cutting a running stretch reads sooner what is read anyway:
			// it adds nothing to the memory held.
			if prefetched || b.running == 0 {
				return
			}
			if s = b.steal(); s == nil {
				return
			}
		}
		if s.lo == -1 {
			b.planAt(s)
		}
		s.state = running
		s.reached = s.hi
		b.running++
		p.Log.Debug("reading a stretch", "from", fmtUnix(s.lo), "to", fmtUnix(s.hi), "running", b.running,
			"limit", limit, "held", b.held.Load(), "waiting", b.waiting.Load(), "ready", b.ready.Load())
		wg.Go(func() { b.read(ctx, s) })
	}
}

// resize cuts every running stretch that turns out to hold much more than
// planned (the density it shows is higher than the one it was planned
// with) down to about the target: the rest becomes a pending stretch of
// its own, read when the limiter and the memory bound allow. Stretches of
// about the same size keep the readers busy until the end and the memory
// bounded.
func (b *backfill) resize() {
	target := b.target()
	for i := 0; i < len(b.plan); i++ {
		s := b.plan[i]
		if s.state != running {
			continue
		}
		s.mu.Lock()
		n := s.n
		if s.resized || s.exhausted || s.split > 0 || n == 0 || s.reached-s.lo < 2 || s.hi <= s.reached {
			s.mu.Unlock()
			continue
		}
		density := float64(n) / float64(s.hi-s.reached)
		if float64(n)+float64(s.reached-s.lo)*density <= 1.5*target {
			s.mu.Unlock()
			continue
		}
		// Read on to about the target, then stop: the rest is planned.
		cut := s.reached - int64(math.Ceil(max(target-float64(n), 0)/density))
		cut = min(max(cut, s.lo+1), s.reached)
		// The rest is planned with the density this stretch shows: in
		// pieces read oldest first, so that each is delivered once read
		// rather than held until the whole rest is.
		rest := b.replan(s.lo, cut, density)
		s.lo, s.stopAt, s.resized = cut, cut, true
		s.mu.Unlock()
		b.plan = slices.Insert(b.plan, i, rest...)
		i += len(rest)
	}
}

// nextPending returns the first pending stretch of the plan, or, with
// ahead, a new one at the frontier (lo == -1: its bounds are set when it
// starts), or nil. Without ahead (the memory bound is spent) only the
// oldest stretch not yet read may start: every event read after it waits
// in memory until it is read.
func (b *backfill) nextPending(ahead bool) *stretch {
	for _, s := range b.plan {
		switch {
		case s.state == pending:
			return s
		case s.state == running && !ahead:
			return nil
		}
	}
	if !ahead || b.frontier >= b.to {
		return nil
	}
	s := &stretch{lo: -1}
	b.plan = append(b.plan, s)
	return s
}

// steal cuts the running stretch with the most left to read (the oldest
// among equals: it is the next to be delivered) in two at the middle of
// what it has not read, and returns the older half as a new stretch: a
// reader that would sit idle at the end of a back-fill shares the work
// instead. The running reader stops below the cut; the one page it reads
// across the cut is read again by the new stretch. It returns nil when no
// stretch has two pages or more left.
func (b *backfill) steal() *stretch {
	var best *stretch
	var bestLeft float64
	for _, s := range b.plan {
		if s.state != running {
			continue
		}
		s.mu.Lock()
		density := b.density
		if n := s.n; n > 0 && s.hi > s.reached {
			density = float64(n) / float64(s.hi-s.reached) // its own, once it read a page
		}
		left := float64(s.reached-s.lo) * density
		if s.exhausted || s.split > 0 || s.reached-s.lo < 2 || (density > 0 && left < 2*float64(b.p.PageSize)) {
			left = 0
		}
		s.mu.Unlock()
		if left > bestLeft {
			best, bestLeft = s, left
		}
	}
	if best == nil {
		return nil
	}
	return b.cut(best)
}

// cut cuts the running stretch s at the middle of what it has not read and
// returns the older half as a new stretch before it, or nil when s is not
// running or has less than two seconds or two pages left.
func (b *backfill) cut(s *stretch) *stretch {
	if s == nil || s.state != running {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only a stretch that has read two pages shows its density, and so
	// what it has left; a stretch just cut is not cut again before that.
	n := s.n
	if s.exhausted || s.split > 0 || s.reached-s.lo < 2 || n < 2*b.p.PageSize || s.hi <= s.reached ||
		float64(n)/float64(s.hi-s.reached)*float64(s.reached-s.lo) < float64(2*b.p.PageSize) {
		return nil
	}
	at := s.lo + (s.reached-s.lo)/2
	older := &stretch{lo: s.lo, hi: at}
	b.p.Log.Debug("cutting a stretch for a free reader", "from", fmtUnix(s.lo), "to", fmtUnix(s.hi), "at", fmtUnix(at))
	s.lo, s.stopAt = at, at
	b.plan = slices.Insert(b.plan, slices.Index(b.plan, s), older)
	return older
}

// planAt gives a new stretch its bounds at the frontier. Near the end of
// the range, the rest is shared out among the readers that are free, so
// that they finish together instead of one long stretch finishing last.
func (b *backfill) planAt(s *stretch) {
	target := b.target()
	span := b.spanFor(target, b.density)
	rest := b.to - b.frontier
	if free := max(b.p.Limit()-b.running, 1); b.density > 0 && float64(rest)*b.density <= target*float64(free) {
		span = max((rest+int64(free)-1)/int64(free), 1)
	}
	t := b.frontier
	hi := min(t+span, b.to)
	s.lo, s.hi = t, hi
	if t > b.from {
		// The range's start has its overlap already. A later stretch near
		// the present re-reads the one before it (read no earlier than
		// now), but never before the range's start: the seen ids of the
		// cursor reach no further back, so older events would come twice.
		s.lo = max(b.p.overlapStart(t, b.p.apiNow(), b.cur), b.from)
	}
	b.frontier = hi
}

// read walks one stretch, stopping at a full window or at a cut.
func (b *backfill) read(ctx context.Context, s *stretch) {
	p := b.p
	s.fetchedAt = p.apiNow()
	ctx, s.span = p.tracer().StartWindow(ctx)
	hardCap := hardCapFactor * p.MaxWindowEvents
	s.mu.Lock()
	lo, hi := s.lo, s.hi
	s.mu.Unlock()
	// take records a page and says whether to read on.
	take := func(page []pipeline.Event, more bool) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		cut := false
		if s.stopAt > 0 {
			kept := dropBelow(page, s.stopAt)
			cut, page = len(kept) < len(page), kept
		}
		if len(page) > 0 {
			s.pages = append(s.pages, page)
			s.n += len(page)
		}
		b.held.Add(int64(len(page)))
		for _, ev := range page {
			// An event the source could not index carries the time of
			// the walk's start (see pipeline.Event.Invalid): it says
			// nothing of how far the walk read.
			if ev.Invalid == "" {
				s.reached = min(s.reached, ev.Time.Unix())
			}
		}
		if !more {
			s.exhausted = true
			return false
		}
		if cut {
			return false // past the cut: the rest is another stretch's
		}
		if s.n < p.MaxWindowEvents {
			return true
		}
		if s.reached+1 < s.hi {
			s.split = s.reached + 1
			return false
		}
		if s.n > hardCap {
			s.err = fmt.Errorf("%w (more than %d in %s; raise max_window_events)", errTooDense, hardCap, fmtUnix(s.reached))
			return false
		}
		return true
	}
	var paused error
	requests, err := p.Walk(ctx, lo, hi, func(page []pipeline.Event, more bool) bool {
		on := take(page, more)
		b.signal()
		if on {
			paused = b.waitForDelivery(ctx)
		}
		return on && paused == nil
	})
	s.mu.Lock()
	s.requests = requests
	if err == nil {
		err = paused
	}
	if err != nil && s.err == nil {
		s.err = err
	}
	if s.err != nil {
		s.span.End(s.err)
	}
	s.mu.Unlock()
	b.done <- s // the scheduler collects every reader, after a failure too
}

// behind reports whether two whole windows wait for the engine (one to
// hand over when it has delivered the one it has, one gathering behind
// it): delivery, not the API, is what holds the back-fill back, and
// reading further ahead would only hold more in memory. One window would
// leave the engine short: the next would gather only what is read while it
// delivers, and go smaller.
func (b *backfill) behind() bool {
	return b.ready.Load() >= 2*int64(b.p.MaxWindowEvents)
}

// waitForDelivery blocks a reader before its next request while the
// back-fill is behind, until the engine takes a window or ctx is done.
func (b *backfill) waitForDelivery(ctx context.Context) error {
	for {
		b.roomMu.Lock()
		room := b.room
		b.roomMu.Unlock()
		if !b.behind() {
			return nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wakePaused has the paused readers look again.
func (b *backfill) wakePaused() {
	b.roomMu.Lock()
	close(b.room)
	b.room = make(chan struct{})
	b.roomMu.Unlock()
}

// settle takes a stretch whose reader returned.
func (b *backfill) settle(s *stretch) error {
	if s.err != nil {
		return fmt.Errorf("reading %s..%s: %w", fmtUnix(s.lo), fmtUnix(s.hi), s.err)
	}
	if s.split == 0 {
		b.p.Log.Debug("stretch read", "from", fmtUnix(s.lo), "to", fmtUnix(s.hi), "events", s.n, "requests", s.requests, "density", b.density)
		b.learn(s.n, s.hi-s.lo)
		s.state = read
		return nil
	}
	// Keep what was read whole, [split, hi), as a window; plan the rest
	// again with the density just seen. The events of the second the
	// reader stopped in are read again with the rest.
	var kept [][]pipeline.Event
	for _, pg := range s.pages {
		if k := dropBelow(pg, s.split); len(k) > 0 {
			kept = append(kept, k)
		}
	}
	n := count(kept)
	b.held.Add(-int64(s.n - n))
	b.learn(n, s.hi-s.split)
	done := &stretch{lo: s.split, hi: s.hi, state: read, pages: kept, n: n, fetchedAt: s.fetchedAt, requests: s.requests, span: s.span}
	rest := b.replan(s.lo, s.split, b.density)
	i := slices.Index(b.plan, s)
	b.plan = slices.Replace(b.plan, i, i+1, append(rest, done)...)
	b.p.Log.Debug("window full, split at the second it reached", "from", fmtUnix(s.lo), "to", fmtUnix(s.hi),
		"at", fmtUnix(s.split), "kept", n, "rest_in", len(rest))
	return nil
}

// replan cuts [lo, hi), where events come at density per second, into
// stretches of about target events each. The first keeps lo (and so the
// overlap it may have).
func (b *backfill) replan(lo, hi int64, density float64) []*stretch {
	span := b.spanFor(b.target(), density)
	n := max(min((hi-lo+span-1)/span, 64), 1)
	step := (hi - lo + n - 1) / n
	var out []*stretch
	for t := lo; t < hi; t += step {
		out = append(out, &stretch{lo: t, hi: min(t+step, hi)})
	}
	return out
}

// learn updates the density with a stretch of span seconds that held n
// events.
func (b *backfill) learn(n int, span int64) {
	d := float64(n) / float64(max(span, 1))
	if b.density == 0 {
		b.density = d
		return
	}
	b.density += 0.5 * (d - b.density)
}
