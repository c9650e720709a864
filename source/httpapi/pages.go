package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Page is one decoded page of a cursor-paged list.
type Page struct {
	// Events are in the order the API returned them.
	Events []pipeline.Event
	// HasMore reports that a page follows; Next is the cursor that asks for
	// it.
	HasMore bool
	Next    string
}

// Lister walks one list endpoint of an API page by page.
type Lister struct {
	Client *Client
	// Path is the endpoint, e.g. /organization/audit_logs.
	Path string
	// CursorParam is the query parameter that carries the cursor of the
	// next page (after, after_id) and LimitParam the page size (limit).
	CursorParam, LimitParam string
	// Limit is the page size asked for.
	Limit int
	// Decode reads one page: the vendor's envelope and events.
	Decode func(body []byte) (Page, error)
	// PageContext, when set, gives the context each page's request runs in,
	// derived from the walk's: a source that cuts several windows out of
	// one walk puts each page's request in the span of the window it fills.
	PageContext func(ctx context.Context) context.Context
}

// Walk reads the pages of query, first to last, and hands each to visit
// until visit returns false or the list ends. It returns the number of
// pages it read, a garbled page asked again counted each time (attempts
// the retry layer refused unread, such as a 429, are not).
//
// It refuses what cannot be a real page, as a garbled answer that is asked
// again and, when it keeps coming, reported: more events than the limit
// asked for, has_more with no events (or no cursor), a cursor it was
// already given in this walk (an API that loops), an event check refuses
// (an event outside the window asked for), a body over the client's bound.
// So a hostile or broken API costs a bounded number of requests and bounded
// memory, and never hands on a page that could move a cursor wrongly.
func (l *Lister) Walk(ctx context.Context, query url.Values, check func(*pipeline.Event) error, visit func(Page) bool) (requests int, err error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set(l.LimitParam, strconv.Itoa(l.Limit))
	used := map[string]bool{}
	for {
		var page Page
		pctx := ctx
		if l.PageContext != nil {
			pctx = l.PageContext(ctx)
		}
		err := l.Client.Get(pctx, l.Path, q, func(body []byte) error {
			requests++
			var err error
			if page, err = l.Decode(body); err != nil {
				return err
			}
			return l.vet(&page, used, check)
		})
		if err != nil {
			return requests, err
		}
		if !visit(page) || !page.HasMore {
			return requests, nil
		}
		used[page.Next] = true
		q.Set(l.CursorParam, page.Next)
	}
}

// errRepeated is wrapped by the error of a walk whose API repeats itself.
var errRepeated = errors.New("the API repeated a page")

func (l *Lister) vet(p *Page, used map[string]bool, check func(*pipeline.Event) error) error {
	if n := len(p.Events); n > l.Limit {
		return fmt.Errorf("the page holds %d events, %d were asked for", n, l.Limit)
	}
	if p.HasMore {
		switch {
		case len(p.Events) == 0:
			return errors.New("has_more is true but the page holds no events")
		case p.Next == "":
			return errors.New("has_more is true but the page gives no cursor")
		case used[p.Next]:
			return fmt.Errorf("%w: its cursor %q came before in this walk", errRepeated, p.Next)
		}
	}
	if check != nil {
		for i := range p.Events {
			if err := check(&p.Events[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
