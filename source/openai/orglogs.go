package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// OrgLogsPage is one page of the request-log API.
type OrgLogsPage struct {
	// Events are in the order the API returned them.
	Events []pipeline.Event
	// HasMore reports whether a page follows; Next is its `after` cursor.
	HasMore bool
	Next    string
}

// OrganizationLogs fetches one page of GET /organization_logs with
// order "asc" or "desc", after (empty for the first page) and limit. It
// blocks until the page was read, retrying like Get; ctx bounds every
// attempt. The events' Raw bytes are owned by the caller.
func (c *Client) OrganizationLogs(ctx context.Context, order, after string, limit int, source string) (*OrgLogsPage, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("order", order)
	if after != "" {
		q.Set("after", after)
	}
	var page OrgLogsPage
	err := c.Get(ctx, "/organization_logs", q, func(body []byte) error {
		page = OrgLogsPage{}
		env, err := DecodeList(body)
		if err != nil {
			return err
		}
		observed := time.Now().UTC()
		for _, raw := range env.Data {
			ev, err := ParseOrganizationLog(raw, source, observed)
			if err != nil {
				return err
			}
			page.Events = append(page.Events, ev)
		}
		page.HasMore = *env.HasMore && len(page.Events) > 0
		if page.HasMore {
			page.Next = page.Events[len(page.Events)-1].ID
			if env.LastID != nil && *env.LastID != page.Next {
				return fmt.Errorf("last_id %q is not the id of the last event", *env.LastID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// OrganizationLog fetches GET /organization_logs/{id} and returns the
// object as sent. A missing id is a permanent *APIError with Status 404.
// It blocks until answered; ctx bounds every attempt.
func (c *Client) OrganizationLog(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Get(ctx, "/organization_logs/"+url.PathEscape(id), nil, func(body []byte) error {
		if !json.Valid(body) {
			return errors.New("body is not JSON")
		}
		out = append(json.RawMessage(nil), body...)
		return nil
	})
	return out, err
}

// orgCursor is the saved position of the request-log source. Both orders
// keep After (the newest delivered id) and Time (its created_at) so that a
// change of order resumes where the other left off.
type orgCursor struct {
	V     int    `json:"v"`
	After string `json:"after,omitempty"`
	Time  int64  `json:"time"`
	// Seen (order desc) maps ids delivered with created_at >= Time -
	// overlap to their created_at.
	Seen map[string]int64 `json:"seen,omitempty"`

	initial bool
}

// OrgLogsSource is the "openai_organization_logs" source.
type OrgLogsSource struct {
	name   string
	cfg    OrgLogsConfig
	log    *slog.Logger
	tel    pipeline.Telemetry
	client *Client
	now    func() time.Time
}

var _ pipeline.Source = (*OrgLogsSource)(nil)

// NewOrgLogsSource returns a source for cfg (already validated).
func NewOrgLogsSource(set pipeline.Settings, cfg OrgLogsConfig) *OrgLogsSource {
	return &OrgLogsSource{
		name: set.Name, cfg: cfg, log: set.Log(), tel: set.Tel(), now: time.Now,
		client: cfg.APIConfig.newClient(set),
	}
}

// Start implements pipeline.Component. The source needs nothing before Run.
func (s *OrgLogsSource) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component.
func (s *OrgLogsSource) Shutdown(context.Context) error { return nil }

func (s *OrgLogsSource) loadCursor(ctx context.Context, store pipeline.CheckpointStore) (orgCursor, error) {
	raw, err := store.Load(ctx, s.name)
	if err != nil {
		return orgCursor{}, err
	}
	if raw == nil {
		start := s.cfg.StartAt.Resolve(s.now())
		s.log.Info("no checkpoint, starting from start_at", "start_at", start.UTC().Format(time.RFC3339), "order", s.cfg.Order)
		return orgCursor{V: 1, Time: start.Unix(), Seen: map[string]int64{}, initial: true}, nil
	}
	var c orgCursor
	if err := json.Unmarshal(raw, &c); err != nil || c.V != 1 {
		return orgCursor{}, pipeline.Permanent(fmt.Errorf("checkpoint of %q is unreadable (%v); move it away to start from start_at", s.name, err))
	}
	if c.Seen == nil {
		c.Seen = map[string]int64{}
	}
	s.log.Info("resuming from checkpoint", "after", c.After, "time", fmtUnix(c.Time), "order", s.cfg.Order)
	return c, nil
}

// Run implements pipeline.Source.
func (s *OrgLogsSource) Run(ctx context.Context, host pipeline.SourceHost) error {
	cur, err := s.loadCursor(ctx, host.Store)
	if err != nil {
		return err
	}
	failures := 0
	for ctx.Err() == nil {
		var more bool
		var next orgCursor
		var events []pipeline.Event
		var pages int
		started := time.Now()
		if s.cfg.Order == "desc" {
			events, next, more, pages, err = s.fetchDesc(ctx, cur)
		} else {
			events, next, more, pages, err = s.fetchAsc(ctx, cur)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if pipeline.IsPermanent(err) {
				return fmt.Errorf("source %q: %w", s.name, err)
			}
			failures++
			if host.Once && failures >= 3 {
				return fmt.Errorf("source %q: %w", s.name, err)
			}
			wait := min(time.Duration(failures)*5*time.Second, 5*time.Minute)
			s.log.Error("fetching organization logs failed; cursor unchanged, will retry", "err", err, "retry_in", wait)
			if pipeline.Sleep(ctx, wait) != nil {
				return nil
			}
			continue
		}
		failures = 0
		if pages > 0 && (len(events) > 0 || next.After != cur.After) {
			committed, err := s.deliver(ctx, host, events, next, pages, started)
			if err != nil {
				return err
			}
			if !committed {
				return nil
			}
			cur = next
		}
		if more {
			continue
		}
		if host.Once {
			return nil
		}
		if pipeline.Sleep(ctx, s.cfg.PollInterval) != nil {
			return nil
		}
	}
	return nil
}

// fetchAsc reads pages after cur.After until it holds BatchSize events or
// reached the end. more reports that pages remain.
func (s *OrgLogsSource) fetchAsc(ctx context.Context, cur orgCursor) (events []pipeline.Event, next orgCursor, more bool, pages int, err error) {
	next = orgCursor{V: 1, After: cur.After, Time: cur.Time, initial: cur.initial}
	for {
		page, err := s.client.OrganizationLogs(ctx, "asc", next.After, s.cfg.PageSize, s.name)
		if err != nil {
			return nil, cur, false, pages, err
		}
		pages++
		for _, ev := range page.Events {
			next.After, next.Time = ev.ID, ev.Time.Unix()
			if cur.initial && ev.Time.Unix() < cur.Time {
				continue // before start_at
			}
			events = append(events, ev)
		}
		if !page.HasMore {
			return events, next, false, pages, nil
		}
		if len(events) >= s.cfg.BatchSize {
			return events, next, true, pages, nil
		}
	}
}

// fetchDesc walks newest first down to cur.Time - overlap, keeps the
// events not delivered yet (at most MaxWindowEvents, the oldest ones), and
// returns them oldest first. more reports that newer events were left out.
func (s *OrgLogsSource) fetchDesc(ctx context.Context, cur orgCursor) (events []pipeline.Event, next orgCursor, more bool, pages int, err error) {
	floor := cur.Time - int64(s.cfg.Overlap/time.Second)
	if cur.initial {
		floor = cur.Time
	}
	var held []pipeline.Event // newest first
	inHeld := map[string]struct{}{}
	trimmed := false
	after := ""
walk:
	for {
		page, err := s.client.OrganizationLogs(ctx, "desc", after, s.cfg.PageSize, s.name)
		if err != nil {
			return nil, cur, false, pages, err
		}
		pages++
		for _, ev := range page.Events {
			if ev.Time.Unix() < floor {
				break walk
			}
			if _, seen := cur.Seen[ev.ID]; seen {
				continue
			}
			if _, dup := inHeld[ev.ID]; dup {
				continue
			}
			held = append(held, ev)
			inHeld[ev.ID] = struct{}{}
			if len(held) > s.cfg.MaxWindowEvents {
				delete(inHeld, held[0].ID)
				held[0] = pipeline.Event{}
				held = held[1:]
				trimmed = true
			}
		}
		if !page.HasMore {
			break
		}
		after = page.Next
	}
	held = slices.Clone(held)
	slices.Reverse(held)
	slices.SortStableFunc(held, func(a, b pipeline.Event) int { return a.Time.Compare(b.Time) })

	next = orgCursor{V: 1, After: cur.After, Time: cur.Time, Seen: map[string]int64{}}
	if n := len(held); n > 0 {
		next.After, next.Time = held[n-1].ID, max(held[n-1].Time.Unix(), cur.Time)
	}
	keep := next.Time - int64(s.cfg.Overlap/time.Second)
	for id, t := range cur.Seen {
		if t >= keep {
			next.Seen[id] = t
		}
	}
	for _, ev := range held {
		if t := ev.Time.Unix(); t >= keep {
			next.Seen[ev.ID] = t
		}
	}
	return held, next, trimmed, pages, nil
}

// deliver hands events to the consumer in batches (the first marked
// WindowStart, the last WindowEnd) and saves next once all were
// acknowledged. A failed delivery is retried whole. When ctx is done it
// keeps going for up to host.DrainTimeout; committed is false when the
// shutdown interrupted it (the events are delivered again after restart).
func (s *OrgLogsSource) deliver(ctx context.Context, host pipeline.SourceHost, events []pipeline.Event, next orgCursor, pages int, started time.Time) (committed bool, err error) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(host.DrainTimeout, cancel)
		context.AfterFunc(dctx, func() { t.Stop() })
	})
	defer stop()

	cursorBytes, err := json.Marshal(next)
	if err != nil {
		return false, pipeline.Permanent(err)
	}
	for attempt := 0; ; attempt++ {
		err := s.deliverOnce(dctx, host.Next, events)
		if err == nil {
			if err = host.Store.Save(dctx, s.name, cursorBytes); err == nil {
				s.tel.EventsFetched(s.name, len(events))
				s.tel.WindowCommitted(s.name, len(events), time.Since(started), time.Unix(next.Time, 0))
				s.log.Info("organization logs committed", "events", len(events), "pages", pages, "after", next.After,
					"took", time.Since(started).Round(time.Millisecond))
				return true, nil
			}
			err = fmt.Errorf("saving checkpoint: %w", err)
		}
		if dctx.Err() != nil {
			s.log.Warn("shutdown interrupted a delivery; it will be delivered again after restart", "events", len(events))
			return false, nil
		}
		if pipeline.IsPermanent(err) {
			return false, fmt.Errorf("source %q: %w", s.name, err)
		}
		wait := min(time.Duration(attempt+1)*time.Second, 30*time.Second)
		s.log.Warn("delivering organization logs failed; retrying them whole", "err", err, "retry_in", wait)
		if pipeline.Sleep(dctx, wait) != nil {
			return false, nil
		}
	}
}

func (s *OrgLogsSource) deliverOnce(ctx context.Context, next pipeline.Consumer, events []pipeline.Event) error {
	n := len(events)
	for i := 0; i == 0 || i < n; i += s.cfg.BatchSize {
		end := min(i+s.cfg.BatchSize, n)
		b := pipeline.Batch{Source: s.name, Events: events[i:end], WindowStart: i == 0, WindowEnd: end == n}
		if err := next.Consume(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
