package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	aschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// The query commands on Anthropic's Compliance API activity feed (--api
// anthropic). The feed pages newest first and filters on created_at
// (whole seconds), activity types, user ids and organizations, as OpenAI's
// audit log does on its own fields: so list, get, export and stats walk it
// page by page like the OpenAI APIs, through the source's own client and
// reading of pages (anthropic.Feed), and an export resumes at the after_id
// of the page it wrote last.

// anthropicKeyEnv is where the query commands take the compliance key
// from: the name the config reference and `simulate --anthropic` give it
// (${env:ANTHROPIC_COMPLIANCE_KEY}). Not ANTHROPIC_API_KEY: that is an
// ordinary Claude API key, which the Compliance API refuses, and which
// many a shell has set already.
const anthropicKeyEnv = "ANTHROPIC_COMPLIANCE_KEY"

// anthropicAPI is the activity feed opened for a query.
type anthropicAPI struct {
	feed *anthropic.Feed
	// keyFrom says where the key came from, for a refused key.
	keyFrom string
	// pageSize is the limit of each request (0: page_size); list lowers
	// it to what its --limit needs.
	pageSize int
	// warn reports an activity passed over.
	warn func(string)
}

// openAnthropic opens the activity feed from the -c file's source (src,
// nil without one), $ANTHROPIC_COMPLIANCE_KEY and the flags.
func (m *Main) openAnthropic(q *queryFlags, src *anthropic.Config) (*logAPI, int, bool) {
	var cfg anthropic.Config
	keyFrom := ""
	if src != nil {
		cfg = *src
		keyFrom = "the api_key of the " + anthropic.Type + " source of " + q.config
	} else {
		cfg = *anthropic.DefaultConfig()
		// A person waits at a terminal: shorter waits than a daemon's.
		cfg.RetryWaitMin, cfg.RetryWaitMax, cfg.MaxServerWait = 200*time.Millisecond, 10*time.Second, time.Minute
	}
	if v, ok := lookupEnviron(m.Environ, anthropicKeyEnv); ok && v != "" {
		cfg.APIKey, keyFrom = pipeline.Secret(v), "$"+anthropicKeyEnv
	}
	if cfg.APIKey == "" {
		fmt.Fprintf(m.Stderr, "auditrelay: no compliance key: set %s (a Compliance Access Key or an Admin API key with the scope %s) or pass -c FILE with an %s source that has api_key\n",
			anthropicKeyEnv, anthropic.ScopeActivities, anthropic.Type)
		return nil, exitUsage, false
	}
	if q.baseURL != "" {
		cfg.BaseURL = q.baseURL
	}
	// A query filters with its own flags: the source's filters say what a
	// deployment forwards, not what a person asks.
	cfg.ActivityTypes, cfg.ExcludeActivityTypes, cfg.ActorIDs, cfg.OrganizationIDs = nil, nil, nil, nil
	feed, err := anthropic.NewFeed(pipeline.Settings{Name: "cli"}, cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay: --api anthropic: %v\n", err)
		return nil, exitUsage, false
	}
	a := &anthropicAPI{feed: feed, keyFrom: keyFrom,
		warn: func(s string) { fmt.Fprintf(m.Stderr, "warning: %s\n", s) }}
	return &logAPI{kind: apiAnthropic, base: cfg.BaseURL, an: a}, 0, true
}

// failed adds the base URL to an error, as logAPI.failed does, and where
// the key came from to a refused key's.
func (a *anthropicAPI) failed(api *logAPI, err error) error {
	var apiErr *httpapi.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == 401 || apiErr.Status == 403) && a.keyFrom != "" {
		err = fmt.Errorf("%w (the key is %s)", err, a.keyFrom)
	}
	return api.failed(err)
}

// feedQuery is the request of q: the filters the API can apply. A --type
// with wildcards, and an --actor that is not a user id (an e-mail, a key),
// are applied here only, to what the API returns; --project names the
// organizations (org_... or UUID), which the API alone matches.
func feedQuery(q query, after string, limit int) anthropic.Query {
	aq := anthropic.Query{Since: q.since.Truncate(time.Second), Until: q.until, After: after, Limit: limit,
		OrganizationIDs: q.projects}
	wild := false
	for _, t := range q.types {
		wild = wild || strings.ContainsAny(t, "*?[")
	}
	if !wild {
		aq.ActivityTypes = q.types
	}
	users := len(q.actors) > 0
	for _, a := range q.actors {
		users = users && strings.HasPrefix(a, "user_")
	}
	if users {
		aq.ActorIDs = q.actors
	}
	return aq
}

// walk reads the pages of q newest first from the cursor after (an
// activity id; "" from the newest), calling each with the matching
// activities of every page until done, each returning false, or an error.
// An activity the API sent that is not one is passed over with a warning.
func (a *anthropicAPI) walk(ctx context.Context, api *logAPI, q query, after string, each func(*page, string) (bool, error)) error {
	match := q
	match.projects = nil // the API matched them (an id or a UUID)
	var stop error
	cursor := after
	err := a.feed.Walk(ctx, feedQuery(q, after, a.pageSize), func(p httpapi.Page) bool {
		pg := &page{read: len(p.Events), next: p.Next, done: !p.HasMore}
		for i := range p.Events {
			ev := &p.Events[i]
			if ev.Invalid != "" {
				a.warn(fmt.Sprintf("activity %s: %s; passed over", ev.ID, ev.Invalid))
				continue
			}
			pg.oldest = ev.Time
			if match.match(ev) {
				pg.events = append(pg.events, *ev)
			}
		}
		more, err := each(pg, cursor)
		cursor = p.Next
		if err != nil {
			stop = err
			return false
		}
		return more && !pg.done
	})
	if stop != nil {
		return stop
	}
	if err != nil {
		return a.failed(api, err)
	}
	return nil
}

// getAnthropic finds activity id. The feed has no get-by-id, but a cursor
// is any activity's id: the page after it starts with its older
// neighbour, and the page before that neighbour is the activity itself
// (for the oldest activity, the other way round). Two requests, whatever
// --since, checked by id; when the neighbours do not give it back (an
// activity alone in the feed), the feed is searched newest first within
// --since. It prints why on stderr and returns nil, nil when the id is
// not there.
func (m *Main) getAnthropic(ctx context.Context, api *logAPI, id, since string) ([]byte, error) {
	a := api.an
	one := func(q anthropic.Query) (*pipeline.Event, error) {
		q.Limit = 1
		var ev *pipeline.Event
		err := a.feed.Walk(ctx, q, func(p httpapi.Page) bool {
			if len(p.Events) > 0 {
				ev = &p.Events[0]
			}
			return false
		})
		return ev, err
	}
	found, err := func() (*pipeline.Event, error) {
		older, err := one(anthropic.Query{After: id})
		if err != nil {
			return nil, err
		}
		if older != nil {
			return one(anthropic.Query{Before: older.ID})
		}
		newer, err := one(anthropic.Query{Before: id})
		if err != nil || newer == nil {
			return nil, err
		}
		return one(anthropic.Query{After: newer.ID})
	}()
	var apiErr *httpapi.APIError
	if errors.As(err, &apiErr) && apiErr.Status == 400 {
		fmt.Fprintf(m.Stderr, "auditrelay get: no activity with id %q: the API takes no such cursor (%s)\n", id, apiErr.Message)
		return nil, nil
	}
	if err != nil {
		return nil, a.failed(api, err)
	}
	if found != nil && found.ID == id {
		return found.Raw, nil
	}
	now := time.Now()
	s, err := parseWhen("--since", since, now)
	if err != nil {
		return nil, err
	}
	q := query{since: s, until: now}
	fmt.Fprintf(m.Stderr, "note: the activity feed has no get-by-id and the activities next to %q do not lead to it; searching the last %s (--since)\n", id, since)
	var raw []byte
	pages, read := 0, 0
	err = a.walk(ctx, api, q, "", func(p *page, _ string) (bool, error) {
		pages++
		read += p.read
		for _, ev := range p.events {
			if ev.ID == id {
				raw = ev.Raw
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if raw == nil {
		fmt.Fprintf(m.Stderr, "auditrelay get: no activity with id %q between %s and %s (%d activities in %d pages searched)\n",
			id, q.since.UTC().Format(time.RFC3339), q.until.UTC().Format(time.RFC3339), read, pages)
	}
	return raw, nil
}

// activityActor names who did an activity as a person reads it: a user's
// e-mail (or the one an unauthenticated user typed), else the id of the
// key, account, directory, device or federated subject; a system
// service as system:NAME; Anthropic, and a kind without either, by its
// kind (anthropic, delegated_agent).
func activityActor(a aschema.Actor) string {
	if a.Kind == aschema.ActorSystem && a.Service != "" {
		return "system:" + a.Service
	}
	if s := firstNonEmpty(a.Email, a.ID()); s != "" {
		return s
	}
	return strings.TrimSuffix(a.Kind, "_actor")
}

// activityRow reads what the table shows of an activity: who did it.
func activityRow(ev *pipeline.Event) (actor string) {
	f, err := aschema.ReadObject(ev.Raw)
	if err != nil {
		return firstNonEmpty(ev.ActorEmail, ev.ActorID)
	}
	return activityActor(f.Actor())
}

// activityStat reads whether an activity says it succeeded:
// compliance_api_accessed has the status_code of the call it records;
// other types name a failure in their type (sso_login_failed).
func activityStat(ev *pipeline.Event) (success *bool) {
	if ev.Type != aschema.TypeComplianceAPIAccessed {
		return nil
	}
	var s struct {
		StatusCode *json.Number `json:"status_code"`
	}
	if json.Unmarshal(ev.Raw, &s) != nil || s.StatusCode == nil {
		return nil
	}
	n, err := s.StatusCode.Int64()
	if err != nil {
		return nil
	}
	ok := n < 400
	return &ok
}
