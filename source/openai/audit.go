package openai

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/timewindow"
)

// AuditSource is the "openai_audit_logs" source: the audit-log API read in
// windows by a timewindow.Planner.
type AuditSource struct {
	listSource
	cfg     Config
	limiter *httpapi.Limiter
	clock   *httpapi.Clock
	tracer  pipeline.Tracer
}

var (
	_ pipeline.Source     = (*AuditSource)(nil)
	_ pipeline.BatchSizer = (*AuditSource)(nil)
)

// NewAuditSource returns a source for cfg (already validated). lims shares
// one limiter per API key among sources; nil gives the source its own.
func NewAuditSource(set pipeline.Settings, cfg Config, lims *httpapi.Limiters) *AuditSource {
	s := &AuditSource{cfg: cfg, tracer: set.Trace()}
	s.clock = httpapi.NewClock(func() time.Time { return s.now() })
	s.limiter = cfg.limiter(lims, cfg.FetchConcurrency)
	decode := DecodeAuditLogs
	if cfg.OnInvalidEvent == InvalidDeadLetter {
		decode = decodeAuditLogsKeepingInvalid
	}
	s.init(set, cfg.APIConfig.newClient(set, s.limiter, s.clock, cfg.PageSize), "/organization/audit_logs", cfg.PageSize, decode)
	return s
}

// BatchSize implements pipeline.BatchSizer.
func (s *AuditSource) BatchSize() int { return s.cfg.BatchSize }

// Run implements pipeline.Source.
func (s *AuditSource) Run(ctx context.Context, host pipeline.SourceHost) error {
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

// walk reads [lo, hi) newest first.
func (s *AuditSource) walk(ctx context.Context, lo, hi int64, visit func([]pipeline.Event, bool) bool) (int, error) {
	check := timewindow.InWindow(lo, hi, s.cfg.OnInvalidEvent == InvalidDeadLetter, "event", func(ev *pipeline.Event) string {
		return "effective_at " + strconv.FormatInt(ev.Time.Unix(), 10)
	})
	return s.lister.Walk(ctx, s.query(lo, hi), check, func(p httpapi.Page) bool { return visit(p.Events, p.HasMore) })
}

func (s *AuditSource) query(lo, hi int64) url.Values {
	q := url.Values{}
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
