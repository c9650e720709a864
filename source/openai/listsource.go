package openai

import (
	"context"
	"log/slog"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// listSource is what the audit-log and the request-log sources share: each
// reads one list endpoint of the Admin API, page after page with the
// `after` cursor, and reads each page as its events.
type listSource struct {
	name   string
	log    *slog.Logger
	now    func() time.Time // the machine's clock
	lister httpapi.Lister
}

// init sets s up as the source of set, reading the list endpoint path
// through client, pageSize events a page; decode reads a page as the
// events of the source, observed at s.now().
func (s *listSource) init(set pipeline.Settings, client *Client, path string, pageSize int,
	decode func(body []byte, source string, observed time.Time) (httpapi.Page, error)) {
	s.name, s.log, s.now = set.Name, set.Log(), time.Now
	s.lister = httpapi.Lister{Client: client.Client, Path: path, CursorParam: "after", LimitParam: "limit",
		Limit: pageSize, Decode: func(body []byte) (httpapi.Page, error) { return decode(body, set.Name, s.now().UTC()) }}
}

// Start implements pipeline.Component. The source needs nothing before Run.
func (s *listSource) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component.
func (s *listSource) Shutdown(context.Context) error { return nil }
