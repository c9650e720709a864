package anthropic

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/timewindow"
)

// Source is the "anthropic_compliance_activities" source: the activity
// feed read in windows by a timewindow.Planner.
type Source struct {
	cfg     Config
	name    string
	log     *slog.Logger
	limiter *httpapi.Limiter
	clock   *httpapi.Clock
	lister  httpapi.Lister
	tracer  pipeline.Tracer

	now func() time.Time // the machine's clock
}

var (
	_ pipeline.Source     = (*Source)(nil)
	_ pipeline.BatchSizer = (*Source)(nil)
)

// NewSource returns a source for cfg (already validated). lims shares one
// request limiter among the sources of the process that read the same API
// (see Config); nil gives the source its own.
func NewSource(set pipeline.Settings, cfg Config, lims *httpapi.Limiters) *Source {
	return newSource(set, cfg, lims, nil)
}

// newSource is NewSource with the HTTP transport replaced (tests; nil:
// the default).
func newSource(set pipeline.Settings, cfg Config, lims *httpapi.Limiters, transport http.RoundTripper) *Source {
	s := &Source{cfg: cfg, name: set.Name, log: set.Log(), tracer: set.Trace(), now: time.Now}
	s.clock = httpapi.NewClock(func() time.Time { return s.now() })
	s.limiter = cfg.limiter(lims)
	client := cfg.newClient(set, s.limiter, s.clock, transport)
	keepInvalid := cfg.OnInvalidEvent == InvalidDeadLetter
	s.lister = httpapi.Lister{Client: client, Path: activitiesPath, CursorParam: "after_id", LimitParam: "limit",
		Limit: cfg.PageSize, Decode: func(body []byte) (httpapi.Page, error) {
			return decodePage(body, set.Name, s.now().UTC(), keepInvalid)
		}}
	return s
}

// Start implements pipeline.Component. The source needs nothing before Run.
func (s *Source) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component.
func (s *Source) Shutdown(context.Context) error { return nil }

// BatchSize implements pipeline.BatchSizer.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Run implements pipeline.Source.
func (s *Source) Run(ctx context.Context, host pipeline.SourceHost) error {
	p := &timewindow.Planner{
		Config: s.cfg.plannerConfig(),
		Walk:   s.walk,
		Now:    s.clock.Now,
		Limit:  s.limiter.Limit,
		Log:    s.log,
		Tracer: s.tracer,
	}
	return p.Run(ctx, host, s.cfg.StartAt.Resolve(s.now()))
}

// walk reads [lo, hi) (unix seconds) newest first: the API's own order,
// which the planner is built on (the first page of a range is its newest
// stretch; a walk that fills a window stops at a second below which
// nothing was read).
func (s *Source) walk(ctx context.Context, lo, hi int64, visit func([]pipeline.Event, bool) bool) (int, error) {
	check := timewindow.InWindow(lo, hi, s.cfg.OnInvalidEvent == InvalidDeadLetter, "activity", func(ev *pipeline.Event) string {
		return "created_at " + ev.Time.Format(time.RFC3339)
	})
	return s.lister.Walk(ctx, s.query(lo, hi), check, func(p httpapi.Page) bool { return visit(p.Events, p.HasMore) })
}

func fmtUnix(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

// query asks for [lo, hi), newest first, with the configured filters.
func (s *Source) query(lo, hi int64) url.Values {
	return listQuery(time.Unix(lo, 0), time.Unix(hi, 0), s.cfg.ActivityTypes, s.cfg.ExcludeActivityTypes, s.cfg.ActorIDs, s.cfg.OrganizationIDs)
}

// listQuery asks for the activities created in [since, until), whole
// seconds (a zero bound is left out), newest first, with the filters
// given: the query of the source's windows and of a Feed.
func listQuery(since, until time.Time, types, exclude, actors, orgs []string) url.Values {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("created_at.gte", fmtUnix(since.Unix()))
	}
	if !until.IsZero() {
		q.Set("created_at.lt", fmtUnix(ceilUnix(until)))
	}
	q.Set("order", "desc")
	for _, f := range []struct {
		param string
		list  []string
	}{{"activity_types[]", types}, {"exclude_activity_types[]", exclude},
		{"actor_ids[]", actors}, {"organization_ids[]", orgs}} {
		for _, v := range f.list {
			q.Add(f.param, v)
		}
	}
	return q
}

// ceilUnix is the first whole second at or after t: an exclusive end of
// any precision as the API's whole seconds take it.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
