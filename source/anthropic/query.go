package anthropic

import (
	"context"
	"net/url"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// DefaultConfig returns the source's defaults, for a caller that builds a
// Config in code (NewFeed) rather than from a file.
func DefaultConfig() *Config { return defaultConfig() }

// Feed reads the activity feed on demand, for a caller that is not a
// pipeline (the CLI's list, get, export and stats): the source's own
// client (its headers, retries, error answers and bound of a page) and
// reading of pages, without its windows, checkpoint or polling. The key
// goes to base_url only and is never in an error. Safe for concurrent use.
type Feed struct {
	client   *httpapi.Client
	name     string
	pageSize int
}

// NewFeed returns a feed of cfg, which it validates (the keys of the
// source's section: base_url, api_key, page_size, timeouts, retries).
// Start from DefaultConfig. set names the feed in its logs and as each
// event's Source, and gives the logger. The filters of cfg
// (activity_types, actor_ids, ...) are not applied: each Query says its
// own.
func NewFeed(set pipeline.Settings, cfg Config) (*Feed, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lim := cfg.limiter(nil)
	return &Feed{client: cfg.newClient(set, lim, httpapi.NewClock(time.Now), nil), name: set.Name, pageSize: cfg.PageSize}, nil
}

// Query is what a Feed is asked for: the activities created in [Since,
// Until) (zero: unbounded) of the types, users and organizations listed
// (empty: all), newest first, the API's order.
type Query struct {
	Since, Until    time.Time
	ActivityTypes   []string
	ActorIDs        []string // user ids: the API filters on a user_actor's user_id
	OrganizationIDs []string // org_... ids or UUIDs
	// After starts the walk after this activity (after_id: the next
	// older); Before asks for the activities nearest it on the newer side
	// (before_id). One at most.
	After, Before string
	// Limit is the page size, at most the config's page_size (0: it).
	Limit int
}

// values are q's query parameters: the source's own for a window, plus
// the cursor.
func (q Query) values() url.Values {
	v := listQuery(q.Since, q.Until, q.ActivityTypes, nil, q.ActorIDs, q.OrganizationIDs)
	if q.After != "" {
		v.Set("after_id", q.After)
	}
	if q.Before != "" {
		v.Set("before_id", q.Before)
	}
	return v
}

// Walk reads the pages of q, newest first, and hands each to visit until
// visit returns false or the feed ends. Each page is checked as the
// source checks it (no more activities than asked for, a cursor that
// moves on, a body within bounds): a page that is not one is asked again
// and, if it keeps coming, is Walk's error. An activity the source could
// not index (no id, no RFC 3339 created_at) stays in its page, its Invalid
// saying why, for the caller to pass over. An activity the API repeats
// from the cursor that asked for the page (delivery is at least once) is
// dropped. A page's Next is the After that continues after it. With
// Before, the one page nearest it is read (the API takes no after_id
// with it).
func (f *Feed) Walk(ctx context.Context, q Query, visit func(httpapi.Page) bool) error {
	limit := f.pageSize
	if q.Limit > 0 && q.Limit < limit {
		limit = q.Limit
	}
	cursor := q.After + q.Before // one at most
	l := httpapi.Lister{Client: f.client, Path: activitiesPath, CursorParam: "after_id", LimitParam: "limit", Limit: limit,
		Decode: func(body []byte) (httpapi.Page, error) {
			return decodePage(body, f.name, time.Now().UTC(), true)
		}}
	_, err := l.Walk(ctx, q.values(), nil, func(p httpapi.Page) bool {
		if cursor != "" {
			kept := p.Events[:0:0]
			for _, ev := range p.Events {
				if ev.ID != cursor {
					kept = append(kept, ev)
				}
			}
			p.Events = kept
		}
		cursor = p.Next
		return visit(p) && q.Before == ""
	})
	return err
}
