package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/auditrelay/auditrelay/internal/eventcsv"
	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/openai"
)

// The query commands (list, get, export, stats) share the flags and the
// paging below: both APIs are read newest first within [since, until).

const (
	apiAudit    = "audit"
	apiRequests = "requests"
)

type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(v string) error { *f = append(*f, v); return nil }

// queryFlags are the flags of every query command.
type queryFlags struct {
	config, baseURL, api, output string
	since, until                 string
	types, actors, projects      multiFlag
}

func (m *Main) addQueryFlags(fs *flag.FlagSet, defSince string, outputs string) *queryFlags {
	q := &queryFlags{}
	fs.StringVar(&q.config, "c", "", "config `file`: the API key, base URL and API of its first source")
	fs.StringVar(&q.baseURL, "base-url", "", "API root (default $OPENAI_BASE_URL or "+openai.DefaultBaseURL+")")
	fs.StringVar(&q.api, "api", "", "audit (organization audit logs, default) or requests (organization_logs)")
	fs.StringVar(&q.output, "o", "table", "output: "+outputs)
	if defSince != "-" {
		fs.StringVar(&q.since, "since", defSince, "start: a duration back from now (24h) or an RFC 3339 time")
		fs.StringVar(&q.until, "until", "", "end (exclusive): a duration back from now or an RFC 3339 time (default now)")
		fs.Var(&q.types, "type", "event `type`, wildcards allowed (user.*); repeatable")
		fs.Var(&q.actors, "actor", "actor id or e-mail; repeatable")
		fs.Var(&q.projects, "project", "project id; repeatable")
	}
	return q
}

// logAPI is one of the two APIs, opened with a key.
type logAPI struct {
	kind   string
	client *openai.Client
}

// open resolves the key, base URL and API from the environment, the
// flags and the config; it reports problems on stderr.
func (m *Main) open(q *queryFlags) (*logAPI, int, bool) {
	var key pipeline.Secret
	base, kind := "", ""
	if q.config != "" {
		cfg, _, code, ok := m.loadConfig(q.config)
		if !ok {
			return nil, code, false
		}
		if len(cfg.Spec.Sources) > 0 {
			switch c := cfg.Spec.Sources[0].Config.(type) {
			case *openai.Config:
				key, base, kind = c.APIKey, c.BaseURL, apiAudit
			case *openai.OrgLogsConfig:
				key, base, kind = c.APIKey, c.BaseURL, apiRequests
			}
		}
	}
	if v, ok := lookupEnviron(m.Environ, "OPENAI_ADMIN_KEY"); ok && v != "" {
		key = pipeline.Secret(v)
	}
	if key == "" {
		fmt.Fprintln(m.Stderr, "auditrelay: no API key: set OPENAI_ADMIN_KEY or pass -c FILE whose first source has api_key")
		return nil, exitUsage, false
	}
	if base == "" {
		base = openai.DefaultBaseURL
		if v, ok := lookupEnviron(m.Environ, "OPENAI_BASE_URL"); ok && v != "" {
			base = v
		}
	}
	if q.baseURL != "" {
		base = q.baseURL
	}
	if q.api != "" {
		kind = q.api
	}
	if kind == "" {
		kind = apiAudit
	}
	if kind != apiAudit && kind != apiRequests {
		fmt.Fprintf(m.Stderr, "auditrelay: --api must be audit or requests, got %q\n", kind)
		return nil, exitUsage, false
	}
	return &logAPI{kind: kind, client: openai.NewClient(openai.ClientConfig{
		BaseURL: base, APIKey: key, Timeout: 60 * time.Second, MaxRetries: 10,
		RetryWaitMin: 200 * time.Millisecond, RetryWaitMax: 10 * time.Second, MaxServerWait: time.Minute,
		Name: "cli", UserAgent: "auditrelay/" + version,
	})}, 0, true
}

func lookupEnviron(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// parseWhen parses a duration back from now or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration such as 24h nor an RFC 3339 time", s)
	}
	return t, nil
}

// query is a resolved search: [since, until) plus filters.
type query struct {
	since, until time.Time
	types        []string
	actors       []string
	projects     []string
}

func (q *queryFlags) resolve(now time.Time) (query, error) {
	out := query{types: q.types, actors: q.actors, projects: q.projects, until: now}
	var err error
	if out.since, err = parseWhen(q.since, now); err != nil {
		return out, fmt.Errorf("--since: %w", err)
	}
	if q.until != "" {
		if out.until, err = parseWhen(q.until, now); err != nil {
			return out, fmt.Errorf("--until: %w", err)
		}
	}
	if !out.since.Before(out.until) {
		return out, fmt.Errorf("--since %s is not before --until %s", out.since.Format(time.RFC3339), out.until.Format(time.RFC3339))
	}
	for _, t := range q.types {
		if err := pipeline.ValidPattern(t); err != nil {
			return out, fmt.Errorf("--type %q: %w", t, err)
		}
	}
	return out, nil
}

func (q query) match(ev *pipeline.Event) bool {
	if t := ev.Time; t.Before(q.since.Truncate(time.Second)) || !t.Before(q.until) {
		return false
	}
	if len(q.types) > 0 && !matchAny(q.types, ev.Type) {
		return false
	}
	if len(q.actors) > 0 && !contains(q.actors, ev.ActorID) && !contains(q.actors, ev.ActorEmail) {
		return false
	}
	if len(q.projects) > 0 && !contains(q.projects, ev.ProjectID) {
		return false
	}
	return true
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if pipeline.Match(p, s) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if s != "" && v == s {
			return true
		}
	}
	return false
}

// page is one page of matching events, newest first.
type page struct {
	events []pipeline.Event
	// next is the cursor of the following page; done reports the end.
	next string
	done bool
	// oldest is the time of the oldest event read (for progress).
	oldest time.Time
	read   int
}

// fetch reads the page after cursor (empty: the first) of q.
func (a *logAPI) fetch(ctx context.Context, q query, after string, limit int) (*page, error) {
	v := url.Values{}
	v.Set("limit", strconv.Itoa(limit))
	if after != "" {
		v.Set("after", after)
	}
	path, decode := "/organization_logs", openai.DecodeRequestLogs
	if a.kind == apiRequests {
		v.Set("order", "desc")
	} else {
		path, decode = "/organization/audit_logs", openai.DecodeAuditLogs
		v.Set("effective_at[gte]", strconv.FormatInt(q.since.Unix(), 10))
		v.Set("effective_at[lt]", strconv.FormatInt(ceilUnix(q.until), 10))
		wild := false
		for _, t := range q.types {
			wild = wild || strings.ContainsAny(t, "*?[")
		}
		if !wild {
			for _, t := range q.types {
				v.Add("event_types[]", t)
			}
		}
		for _, p := range q.projects {
			v.Add("project_ids[]", p)
		}
	}
	var res httpapi.Page
	err := a.client.Get(ctx, path, v, func(body []byte) (err error) {
		res, err = decode(body, "cli", time.Now().UTC())
		return err
	})
	if err != nil {
		return nil, err
	}
	p := &page{read: len(res.Events), next: res.Next, done: !res.HasMore || len(res.Events) == 0}
	for i := range res.Events {
		ev := &res.Events[i]
		p.oldest = ev.Time
		// The request-log API has no time filter: its newest-first walk
		// ends at the first event older than the query.
		if a.kind == apiRequests && ev.Time.Before(q.since.Truncate(time.Second)) {
			p.done = true
			break
		}
		if q.match(ev) {
			p.events = append(p.events, *ev)
		}
	}
	return p, nil
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func (a *logAPI) schema() string {
	if a.kind == apiRequests {
		return schema.SchemaRequestLog
	}
	return schema.SchemaAuditLog
}

// walk calls each for every page of q until done, each returning false, or
// an error.
func (a *logAPI) walk(ctx context.Context, q query, after string, each func(*page, string) (bool, error)) error {
	for {
		p, err := a.fetch(ctx, q, after, 100)
		if err != nil {
			return err
		}
		more, err := each(p, after)
		if err != nil || !more || p.done {
			return err
		}
		after = p.next
	}
}

func (m *Main) cmdList(ctx context.Context, args []string) int {
	fs := m.flags("list", "[--since 24h] [--until T] [--type T] [--actor A] [--project P] [--limit N] [-o table|json|jsonl|csv]")
	q := m.addQueryFlags(fs, "24h", "table, json, jsonl or csv")
	limit := fs.Int("limit", 50, "show at most this many events (0: all)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	api, code, ok := m.open(q)
	if !ok {
		return code
	}
	qq, err := q.resolve(time.Now())
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay list: %v\n", err)
		return exitUsage
	}
	out, err := newEventWriter(m.Stdout, q.output, api.schema())
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay list: %v\n", err)
		return exitUsage
	}
	n := 0
	err = api.walk(ctx, qq, "", func(p *page, _ string) (bool, error) {
		for _, ev := range p.events {
			if *limit > 0 && n == *limit {
				return false, nil
			}
			if err := out.write(ev); err != nil {
				return false, err
			}
			n++
		}
		return true, nil
	})
	if ferr := out.close(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay list: %v\n", err)
		return exitFailure
	}
	if q.output == "table" && n == 0 {
		fmt.Fprintln(m.Stderr, "no events match")
	}
	return exitOK
}

// eventWriter renders events in one of the output formats.
type eventWriter struct {
	format string
	w      io.Writer
	tw     *tabwriter.Writer
	csv    *eventcsv.Writer
	n      int
}

func newEventWriter(w io.Writer, format, schema string) (*eventWriter, error) {
	ew := &eventWriter{format: format, w: w}
	switch format {
	case "table":
		ew.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(ew.tw, "TIME\tTYPE\tACTOR\tPROJECT\tRESULT\tID")
	case "csv":
		ew.csv = eventcsv.NewWriter(w, schema)
		if err := ew.csv.WriteHeader(); err != nil {
			return nil, err
		}
	case "json":
		if _, err := io.WriteString(w, "["); err != nil {
			return nil, err
		}
	case "jsonl":
	default:
		return nil, fmt.Errorf("-o must be table, json, jsonl or csv, got %q", format)
	}
	return ew, nil
}

func (e *eventWriter) write(ev pipeline.Event) error {
	defer func() { e.n++ }()
	switch e.format {
	case "table":
		actor := firstNonEmpty(ev.ActorEmail, ev.ActorID)
		var ix struct {
			Success *bool `json:"success"`
		}
		_ = json.Unmarshal(ev.Raw, &ix)
		result := ""
		if ix.Success != nil {
			result = map[bool]string{true: "ok", false: "FAILED"}[*ix.Success]
		}
		_, err := fmt.Fprintf(e.tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), ev.Type, dash(actor), dash(ev.ProjectID), dash(result), ev.ID)
		return err
	case "csv":
		return e.csv.Write(ev)
	case "json":
		sep := ",\n"
		if e.n == 0 {
			sep = "\n"
		}
		_, err := fmt.Fprintf(e.w, "%s%s", sep, ev.Raw)
		return err
	default:
		_, err := fmt.Fprintf(e.w, "%s\n", ev.Raw)
		return err
	}
}

func (e *eventWriter) close() error {
	switch e.format {
	case "table":
		return e.tw.Flush()
	case "csv":
		return e.csv.Flush()
	case "json":
		_, err := io.WriteString(e.w, "\n]\n")
		return err
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
