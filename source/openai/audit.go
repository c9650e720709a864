package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// cursor is what the source saves after each window: the window's end
// and the ids it delivered that a later window's overlap will read again.
type cursor struct {
	V int `json:"v"`
	// Time is the end of the last committed window (unix seconds,
	// exclusive): every event with an earlier effective_at that was
	// visible then has been delivered.
	Time int64 `json:"time"`
	// Seen maps ids delivered with effective_at >= Time - overlap to their
	// effective_at, so that re-reading the overlap delivers nothing twice.
	Seen map[string]int64 `json:"seen"`
	// FetchedAt is when the fetch of the last committed window began (unix
	// seconds, the source's clock). When it is later than Time + overlap +
	// settle, every event of the overlap that was going to become visible
	// within overlap + settle was already visible then, so the next window
	// need not re-read the overlap (a back-fill far in the past). Cursors
	// without it re-read the overlap.
	FetchedAt int64 `json:"fetched_at,omitempty"`

	initial bool // no saved cursor: the first window starts at Time, no overlap
}

// window is one fetched window, ready to deliver.
type window struct {
	lo, hi    int64            // [lo, hi) in unix seconds
	events    []pipeline.Event // not yet delivered, oldest first
	fetched   int              // events read, duplicates included
	pages     int
	next      cursor // the cursor once the window is delivered
	startedAt time.Time
}

var errTooMany = errors.New("window holds more than max_window_events")

// AuditSource is the "openai_audit_logs" source.
type AuditSource struct {
	name   string
	cfg    Config
	log    *slog.Logger
	tel    pipeline.Telemetry
	client *Client
	now    func() time.Time
}

var _ pipeline.Source = (*AuditSource)(nil)

// NewAuditSource returns a source for cfg (already validated).
func NewAuditSource(set pipeline.Settings, cfg Config) *AuditSource {
	return &AuditSource{
		name:   set.Name,
		cfg:    cfg,
		log:    set.Log(),
		tel:    set.Tel(),
		now:    time.Now,
		client: cfg.APIConfig.newClient(set),
	}
}

// Start implements pipeline.Component. The source needs nothing before Run.
func (s *AuditSource) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component.
func (s *AuditSource) Shutdown(context.Context) error { return nil }

func (s *AuditSource) loadCursor(ctx context.Context, store pipeline.CheckpointStore) (cursor, error) {
	raw, err := store.Load(ctx, s.name)
	if err != nil {
		return cursor{}, err
	}
	if raw == nil {
		start := s.cfg.StartAt.Resolve(s.now())
		s.log.Info("no checkpoint, starting from start_at", "start_at", start.UTC().Format(time.RFC3339))
		return cursor{V: 1, Time: start.Unix(), Seen: map[string]int64{}, initial: true}, nil
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil || c.V != 1 {
		return cursor{}, pipeline.Permanent(fmt.Errorf("checkpoint of %q is unreadable (%v); move it away to start from start_at", s.name, err))
	}
	if c.Seen == nil {
		c.Seen = map[string]int64{}
	}
	s.log.Info("resuming from checkpoint", "cursor", time.Unix(c.Time, 0).UTC().Format(time.RFC3339), "seen", len(c.Seen))
	return c, nil
}

// Run implements pipeline.Source.
func (s *AuditSource) Run(ctx context.Context, host pipeline.SourceHost) error {
	cur, err := s.loadCursor(ctx, host.Store)
	if err != nil {
		return err
	}
	target := s.now().Add(-s.cfg.Settle).Unix()

	if s.cfg.Prefetch == 0 {
		return s.fetchLoop(ctx, cur, host.Once, target, func(w *window) error {
			return s.deliver(ctx, host, w)
		})
	}

	// The fetcher runs ahead of the deliverer by up to Prefetch windows.
	windows := make(chan *window, s.cfg.Prefetch-1)
	fctx, cancelFetch := context.WithCancel(ctx)
	defer cancelFetch()
	fetchErr := make(chan error, 1)
	go func() {
		defer close(windows)
		fetchErr <- s.fetchLoop(fctx, cur, host.Once, target, func(w *window) error {
			select {
			case windows <- w:
				return nil
			case <-fctx.Done():
				return fctx.Err()
			}
		})
	}()
	for w := range windows {
		if ctx.Err() != nil {
			break // a window not started is fetched again after restart
		}
		if err := s.deliver(ctx, host, w); err != nil {
			cancelFetch()
			for range windows {
			}
			<-fetchErr
			return err
		}
	}
	cancelFetch()
	for range windows {
	}
	err = <-fetchErr
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// fetchLoop walks windows forward from cur and hands each to emit, in
// order. Up to FetchConcurrency consecutive windows are fetched at once;
// de-duplication and the cursors are then computed window by window, so
// the result is the same as fetching them one after the other.
func (s *AuditSource) fetchLoop(ctx context.Context, cur cursor, once bool, target int64, emit func(*window) error) error {
	maxSpan := int64(s.cfg.MaxWindow / time.Second)
	span := maxSpan
	overlap := int64(s.cfg.Overlap / time.Second)
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		end := s.now().Add(-s.cfg.Settle).Unix()
		if once && end > target {
			end = target
		}
		if cur.Time >= end {
			if once {
				return nil
			}
			if err := pipeline.Sleep(ctx, s.cfg.PollInterval); err != nil {
				return nil
			}
			continue
		}
		plans := planWindows(cur, end, span, overlap, int64(s.cfg.Settle/time.Second), s.cfg.FetchConcurrency, s.now().Unix())
		s.fetchAll(ctx, plans)
		caughtUp := false
		for i := range plans {
			p := &plans[i]
			if errors.Is(p.err, errTooMany) {
				span = max((p.hi-p.from)/2, 1)
				s.log.Debug("window too large, splitting", "from", fmtUnix(p.lo), "to", fmtUnix(p.hi), "new_span_s", span)
				break
			}
			if err := p.err; err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if pipeline.IsPermanent(err) {
					return err
				}
				failures++
				if once && failures >= 3 {
					return fmt.Errorf("fetching window %s..%s: %w", fmtUnix(p.lo), fmtUnix(p.hi), err)
				}
				wait := min(time.Duration(failures)*5*time.Second, 5*time.Minute)
				s.log.Error("fetching window failed; cursor unchanged, will retry", "from", fmtUnix(p.lo), "to", fmtUnix(p.hi), "err", err, "retry_in", wait)
				if pipeline.Sleep(ctx, wait) != nil {
					return nil
				}
				break
			}
			failures = 0
			if len(p.events) < s.cfg.MaxWindowEvents/4 {
				span = min(span*2, maxSpan)
			}
			w := s.finishWindow(p, cur)
			if err := emit(w); err != nil {
				return err
			}
			cur = w.next
			caughtUp = p.hi == end
		}
		if caughtUp && !once {
			// Caught up: wait for new events instead of polling tiny windows.
			if err := pipeline.Sleep(ctx, s.cfg.PollInterval); err != nil {
				return nil
			}
		}
	}
}

// rawWindow is a window as fetched: every event of [lo, hi), newest first.
// planWindows plans up to n consecutive windows of at most span seconds
// from the cursor cur to end (unix seconds; now is the source's clock). A
// window starts overlap seconds early, for the events the window before it
// may have missed, unless that window's fetch began overlap + settle
// seconds or more after the new window's start: an event it did not see
// then became visible later than that after its effective_at, which no
// overlap covers (the documented limit). A cursor written before FetchedAt
// existed has it 0, so its next window overlaps. A source without a cursor
// reads nothing before start_at.
func planWindows(cur cursor, end, span, overlap, settle int64, n int, now int64) []rawWindow {
	floor := int64(math.MinInt64)
	if cur.initial {
		floor = cur.Time
	}
	var plans []rawWindow
	prevFetched := cur.FetchedAt
	for t := cur.Time; len(plans) < n && t < end; {
		hi := min(end, t+span)
		lo := t
		if prevFetched < t+overlap+settle {
			lo = t - overlap
		}
		plans = append(plans, rawWindow{lo: max(lo, floor), hi: hi, from: t})
		t = hi
		prevFetched = now // the window just planned is fetched no earlier than now
	}
	return plans
}

type rawWindow struct {
	lo, hi    int64
	from      int64 // the window's own start (lo minus the overlap)
	events    []pipeline.Event
	pages     int
	startedAt time.Time
	fetchedAt int64 // the source's clock when the fetch began
	err       error
}

func (s *AuditSource) fetchAll(ctx context.Context, plans []rawWindow) {
	if len(plans) == 1 {
		s.fetchRaw(ctx, &plans[0])
		return
	}
	var wg sync.WaitGroup
	for i := range plans {
		wg.Go(func() { s.fetchRaw(ctx, &plans[i]) })
	}
	wg.Wait()
}

func fmtUnix(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

func (s *AuditSource) query(lo, hi int64) url.Values {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(s.cfg.PageSize))
	q.Set("effective_at[gte]", strconv.FormatInt(lo, 10))
	q.Set("effective_at[lt]", strconv.FormatInt(hi, 10))
	for key, list := range map[string][]string{"event_types[]": s.cfg.EventTypes, "project_ids[]": s.cfg.ProjectIDs,
		"actor_ids[]": s.cfg.ActorIDs, "actor_emails[]": s.cfg.ActorEmails, "resource_ids[]": s.cfg.ResourceIDs} {
		for _, v := range list {
			q.Add(key, v)
		}
	}
	if s.cfg.TenantOnly {
		q.Set("tenant_only", "true")
	}
	return q
}

// fetchRaw reads every page of [w.lo, w.hi).
func (s *AuditSource) fetchRaw(ctx context.Context, w *rawWindow) {
	w.startedAt = time.Now()
	w.fetchedAt = s.now().Unix()
	lo, hi := w.lo, w.hi
	q := s.query(lo, hi)
	w.events = make([]pipeline.Event, 0, min(s.cfg.MaxWindowEvents, 4*s.cfg.PageSize))
	page := make([]pipeline.Event, 0, s.cfg.PageSize)
	for {
		var env *ListEnvelope
		observed := s.now().UTC()
		err := s.client.Get(ctx, "/organization/audit_logs", q, func(body []byte) error {
			page = page[:0]
			var err error
			if env, err = DecodeList(body); err != nil {
				return err
			}
			for _, raw := range env.Data {
				ev, err := ParseAuditLog(raw, s.name, observed)
				if err != nil {
					return err
				}
				if t := ev.Time.Unix(); t < lo || t >= hi {
					return fmt.Errorf("event %s effective_at %d outside the requested window [%d, %d)", ev.ID, t, lo, hi)
				}
				page = append(page, ev)
			}
			if *env.HasMore && len(page) > 0 && env.LastID != nil && *env.LastID != page[len(page)-1].ID {
				return fmt.Errorf("last_id %q is not the id of the last event", *env.LastID)
			}
			return nil
		})
		if err != nil {
			w.err = err
			return
		}
		w.pages++
		w.events = append(w.events, page...)
		if len(w.events) > s.cfg.MaxWindowEvents && hi-w.from > 1 {
			w.events, w.err = nil, errTooMany
			return
		}
		if !*env.HasMore || len(page) == 0 {
			return
		}
		q.Set("after", page[len(page)-1].ID)
	}
}

// finishWindow orders a fetched window oldest first, drops what cur has
// seen, and computes the cursor to save once it is delivered.
func (s *AuditSource) finishWindow(r *rawWindow, cur cursor) *window {
	all := r.events
	w := &window{lo: r.lo, hi: r.hi, fetched: len(all), pages: r.pages, startedAt: r.startedAt}
	// Oldest first: the API pages newest first; a stable sort by time
	// keeps the API's order among events of one second.
	slices.Reverse(all)
	slices.SortStableFunc(all, func(a, b pipeline.Event) int { return a.Time.Compare(b.Time) })

	overlapStart := r.hi - int64(s.cfg.Overlap/time.Second)
	next := cursor{V: 1, Time: r.hi, FetchedAt: r.fetchedAt, Seen: make(map[string]int64)}
	for id, t := range cur.Seen {
		if t >= overlapStart {
			next.Seen[id] = t
		}
	}
	inWindow := make(map[string]struct{}, len(all))
	w.events = all[:0]
	for _, ev := range all {
		if _, dup := inWindow[ev.ID]; dup {
			continue
		}
		inWindow[ev.ID] = struct{}{}
		if t := ev.Time.Unix(); t >= overlapStart {
			next.Seen[ev.ID] = t
		}
		if _, seen := cur.Seen[ev.ID]; seen {
			continue
		}
		w.events = append(w.events, ev)
	}
	w.next = next
	return w
}

// deliver hands a window to the consumer in batches and saves the cursor
// once all of them were acknowledged. When ctx is done meanwhile it keeps
// going for up to host.DrainTimeout so that a shutdown commits the window
// instead of replaying it.
func (s *AuditSource) deliver(ctx context.Context, host pipeline.SourceHost, w *window) error {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(host.DrainTimeout, cancel)
		context.AfterFunc(dctx, func() { t.Stop() })
	})
	defer stop()

	cursorBytes, err := json.Marshal(w.next)
	if err != nil {
		return pipeline.Permanent(err)
	}
	for attempt := 0; ; attempt++ {
		err := s.deliverOnce(dctx, host.Next, w)
		if err == nil {
			err = host.Store.Save(dctx, s.name, cursorBytes)
			if err == nil {
				s.tel.EventsFetched(s.name, len(w.events))
				s.tel.WindowCommitted(s.name, len(w.events), time.Since(w.startedAt), time.Unix(w.hi, 0))
				s.log.Info("window committed", "from", fmtUnix(w.lo), "to", fmtUnix(w.hi),
					"events", len(w.events), "duplicates", w.fetched-len(w.events), "pages", w.pages,
					"took", time.Since(w.startedAt).Round(time.Millisecond))
				return nil
			}
			err = fmt.Errorf("saving checkpoint: %w", err)
		}
		if dctx.Err() != nil {
			s.log.Warn("shutdown interrupted a window; it will be delivered again after restart", "from", fmtUnix(w.lo), "to", fmtUnix(w.hi))
			return nil
		}
		if pipeline.IsPermanent(err) {
			return err
		}
		wait := min(time.Duration(attempt+1)*time.Second, 30*time.Second)
		s.log.Warn("delivering window failed; retrying it whole", "err", err, "retry_in", wait)
		if pipeline.Sleep(dctx, wait) != nil {
			return nil
		}
	}
}

func (s *AuditSource) deliverOnce(ctx context.Context, next pipeline.Consumer, w *window) error {
	n := len(w.events)
	for i := 0; i == 0 || i < n; i += s.cfg.BatchSize {
		end := min(i+s.cfg.BatchSize, n)
		b := pipeline.Batch{Source: s.name, Events: w.events[i:end], WindowStart: i == 0, WindowEnd: end == n}
		if err := next.Consume(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
