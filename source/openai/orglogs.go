package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/timewindow"
)

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
	listSource
	cfg OrgLogsConfig
	// span is the span of the window being read: a source runs one poll
	// at a time.
	span pipeline.WindowSpan
}

var (
	_ pipeline.Source     = (*OrgLogsSource)(nil)
	_ pipeline.BatchSizer = (*OrgLogsSource)(nil)
)

// NewOrgLogsSource returns a source for cfg (already validated). lims
// shares one limiter per API key among sources; nil gives the source its
// own.
func NewOrgLogsSource(set pipeline.Settings, cfg OrgLogsConfig, lims *httpapi.Limiters) *OrgLogsSource {
	s := &OrgLogsSource{cfg: cfg, span: pipeline.WindowSpan{Tracer: set.Trace()}}
	s.init(set, cfg.APIConfig.newClient(set, cfg.APIConfig.limiter(lims, nil), nil, cfg.PageSize), "/organization_logs", cfg.PageSize, DecodeRequestLogs)
	// One walk can fill several windows (a window every batch_size
	// events): each page runs in the span of the window it fills.
	s.lister.PageContext = s.span.Context
	return s
}

// BatchSize implements pipeline.BatchSizer.
func (s *OrgLogsSource) BatchSize() int { return s.cfg.BatchSize }

func (s *OrgLogsSource) loadCursor(raw []byte) (orgCursor, error) {
	if raw == nil {
		start := s.cfg.StartAt.Resolve(s.now())
		s.log.Info("no checkpoint, starting from start_at", "start_at", start.UTC().Format(time.RFC3339), "order", s.cfg.Order)
		return orgCursor{V: 1, Time: start.Unix(), Seen: map[string]int64{}, initial: true}, nil
	}
	var c orgCursor
	if err := json.Unmarshal(raw, &c); err != nil || c.V != 1 {
		return orgCursor{}, pipeline.Permanent(fmt.Errorf("checkpoint of %q is unreadable (%v); move it away to start from start_at", s.name, err))
	}
	if err := timewindow.CheckCursorTime(c.Time, s.now(), earliestEvent); err != nil {
		return orgCursor{}, pipeline.Permanent(fmt.Errorf("checkpoint of %q: %w", s.name, err))
	}
	if c.Seen == nil {
		c.Seen = map[string]int64{}
	}
	s.log.Info("resuming from checkpoint", "after", c.After, "time", fmtUnix(c.Time), "order", s.cfg.Order)
	return c, nil
}

func fmtUnix(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

// Run implements pipeline.Source.
func (s *OrgLogsSource) Run(ctx context.Context, host pipeline.SourceHost) error {
	cur, err := s.loadCursor(host.Cursor)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		if s.cfg.Order == "desc" {
			cur, err = s.pollDesc(ctx, host, cur)
		} else {
			cur, err = s.pollAsc(ctx, host, cur)
		}
		s.span.End("poll", err) // requests that became no window
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
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

// emit hands events (oldest first) to the engine with the cursor next.
func (s *OrgLogsSource) emit(ctx context.Context, host pipeline.SourceHost, events []pipeline.Event, next orgCursor, fetched, requests int) error {
	raw, err := json.Marshal(next)
	if err != nil {
		return pipeline.Permanent(err)
	}
	w := pipeline.Window{Events: events, Cursor: raw, End: time.Unix(next.Time, 0).UTC(),
		Goal: s.now().UTC(), Fetched: fetched, Requests: requests, Span: s.span.Take()}
	if err := host.Emit(ctx, w); err != nil {
		if w.Span != nil {
			w.Span.End(err) // not the engine's: it did not take the window
		}
		return err
	}
	return nil
}

// pollAsc reads the pages after cur.After to the end, a window every
// batch_size events.
func (s *OrgLogsSource) pollAsc(ctx context.Context, host pipeline.SourceHost, cur orgCursor) (orgCursor, error) {
	q := url.Values{"order": {"asc"}}
	if cur.After != "" {
		q.Set("after", cur.After)
	}
	next := cur
	next.Seen = nil
	var events []pipeline.Event
	fetched, requests := 0, 0
	var emitErr error
	n, err := s.lister.Walk(ctx, q, nil, func(p httpapi.Page) bool {
		for _, ev := range p.Events {
			fetched++
			next.After, next.Time = ev.ID, ev.Time.Unix()
			if cur.initial && ev.Time.Unix() < cur.Time {
				continue // before start_at
			}
			events = append(events, ev)
		}
		if len(events) >= s.cfg.BatchSize {
			if emitErr = s.emit(ctx, host, events, next, fetched, requests); emitErr != nil {
				return false
			}
			cur, events, fetched = next, nil, 0
		}
		return true
	})
	requests += n
	if err == nil {
		err = emitErr
	}
	if err != nil {
		return cur, err
	}
	if len(events) > 0 || next.After != cur.After {
		if err := s.emit(ctx, host, events, next, fetched, requests); err != nil {
			return cur, err
		}
		cur = next
	}
	return cur, nil
}

// chunk is a stretch of the newest-first walk of pollDesc: its first event
// is read with the cursor after, and it ends with the event last.
type chunk struct{ after, last string }

// pollDesc walks newest first down to cur.Time - overlap and delivers what
// it has not delivered, oldest first. Memory holds at most
// max_window_events events: a larger backlog is cut into chunks of that
// many new events; the walk keeps the oldest chunk and remembers where the
// others begin, delivers the oldest, then reads each newer chunk again from
// its beginning. A backlog costs about twice its pages, not a walk of the
// whole backlog per window.
func (s *OrgLogsSource) pollDesc(ctx context.Context, host pipeline.SourceHost, cur orgCursor) (orgCursor, error) {
	floor := cur.Time - int64(s.cfg.Overlap/time.Second)
	if cur.initial {
		floor = cur.Time
	}
	var chunks []chunk // newest first; the last is the one held
	held, fetched, requests, err := s.readChunk(ctx, "", "", floor, cur, &chunks)
	if err != nil {
		return cur, err
	}
	for {
		next := s.advance(cur, held)
		if len(held) > 0 || next.After != cur.After {
			if err := s.emit(ctx, host, held, next, fetched, requests); err != nil {
				return cur, err
			}
		}
		cur = next
		if len(chunks) <= 1 {
			return cur, nil
		}
		chunks = chunks[:len(chunks)-1]
		c := chunks[len(chunks)-1]
		held, fetched, requests, err = s.readChunk(ctx, c.after, c.last, floor, cur, nil)
		if err != nil {
			return cur, err
		}
	}
}

// readChunk walks newest first from the cursor after ("" for the newest)
// until the event last, or, when last is "", down to floor, and returns the
// events not delivered yet, oldest first. With chunks it records every
// chunk of max_window_events new events and returns the oldest.
func (s *OrgLogsSource) readChunk(ctx context.Context, after, last string, floor int64, cur orgCursor, chunks *[]chunk) ([]pipeline.Event, int, int, error) {
	q := url.Values{"order": {"desc"}}
	if after != "" {
		q.Set("after", after)
	}
	var held []pipeline.Event // newest first
	inHeld := map[string]struct{}{}
	prev, fetched := after, 0
	if chunks != nil {
		*chunks = append(*chunks, chunk{after: after})
	}
	n, err := s.lister.Walk(ctx, q, nil, func(p httpapi.Page) bool {
		for _, ev := range p.Events {
			if ev.Time.Unix() < floor {
				return false
			}
			fetched++
			id := ev.ID
			_, seen := cur.Seen[id]
			_, dup := inHeld[id]
			if !seen && !dup {
				if chunks != nil && len(held) == s.cfg.MaxWindowEvents {
					// A new chunk begins: the ones before are read again.
					(*chunks)[len(*chunks)-1].last = held[len(held)-1].ID
					*chunks = append(*chunks, chunk{after: prev})
					held, inHeld = held[:0:0], map[string]struct{}{}
				}
				held = append(held, ev)
				inHeld[id] = struct{}{}
			}
			prev = id
			if id == last {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, 0, n, err
	}
	slices.Reverse(held)
	slices.SortStableFunc(held, func(a, b pipeline.Event) int { return a.Time.Compare(b.Time) })
	return held, fetched, n, nil
}

// advance returns the cursor after delivering held (oldest first) from cur.
func (s *OrgLogsSource) advance(cur orgCursor, held []pipeline.Event) orgCursor {
	next := orgCursor{V: 1, After: cur.After, Time: cur.Time, Seen: map[string]int64{}}
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
	return next
}
