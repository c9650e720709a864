package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/internal/eventcsv"
	"github.com/auditrelay/auditrelay/pipeline"
	aschema "github.com/auditrelay/auditrelay/schema/anthropic"
	cgschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	schema "github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/anthropic"
	"github.com/auditrelay/auditrelay/source/chatgpt"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/openai"
)

// The query commands (list, get, export, stats) share the flags and the
// paging below: both OpenAI APIs and Anthropic's activity feed (--api
// anthropic: see anthropic.go) are read newest first within [since,
// until). The ChatGPT compliance logs (--api chatgpt) are files: see
// chatgpt.go.

const (
	apiAudit     = "audit"
	apiRequests  = "requests"
	apiChatGPT   = "chatgpt"
	apiAnthropic = "anthropic"
)

type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(v string) error { *f = append(*f, v); return nil }

// queryFlags are the flags of every query command.
type queryFlags struct {
	config, baseURL, api, output string
	// workspace and keepContent are for --api chatgpt.
	workspace   string
	keepContent bool
	// outputs are the formats -o takes.
	outputs                 []string
	since, until            string
	types, actors, projects multiFlag
}

// whenForms is how --since and --until may be written, for their help and
// their errors.
const whenForms = "a duration back from now (90m, 24h, 3d, 2w, 1w2d) or a time (2026-01-02T15:04:05Z, 2026-01-02)"

// addQueryFlags adds the flags of a query command: -o takes outputs, the
// first of them by default; defSince "-" leaves out the filters.
func (m *Main) addQueryFlags(fs *flag.FlagSet, defSince string, outputs ...string) *queryFlags {
	q := &queryFlags{outputs: outputs}
	fs.StringVar(&q.config, "c", "", "config `file`: the API key, base URL and API of its first source, or with --api chatgpt (anthropic) of its first "+chatgpt.Type+" ("+anthropic.Type+") source (only its sources are read)")
	fs.StringVar(&q.baseURL, "base-url", "", "API root (default $OPENAI_BASE_URL or "+openai.DefaultBaseURL+"; --api chatgpt: "+chatgpt.DefaultBaseURL+"; --api anthropic: "+anthropic.DefaultBaseURL+")")
	fs.StringVar(&q.api, "api", "", "audit (organization audit logs, default), requests (organization_logs), chatgpt (ChatGPT Enterprise compliance logs, key in $CHATGPT_COMPLIANCE_KEY), "+
		"or anthropic (Anthropic's Compliance API activity feed, key in $"+anthropicKeyEnv+")")
	fs.StringVar(&q.workspace, "workspace", "", "--api chatgpt: the `id` of the workspace (a UUID) or organization (org-...) whose compliance logs are read (default: the -c source's)")
	fs.BoolVar(&q.keepContent, "keep-content", false, "--api chatgpt: show what people wrote (conversation messages and titles, app inputs and outputs, agent messages) as the API sent it. "+
		"Without it each such value is replaced by its SHA-256 and length, as the source does with keep_content: false, whatever the -c file says")
	fs.StringVar(&q.output, "o", outputs[0], "output `format`: "+orList(outputs))
	if defSince != "-" {
		fs.StringVar(&q.since, "since", defSince, "start: "+whenForms)
		fs.StringVar(&q.until, "until", "", "end (exclusive), written as --since (default now)")
		fs.Var(&q.types, "type", "event `type`, wildcards allowed (user.*, CODEX_*, claude_chat_*); repeatable")
		fs.Var(&q.actors, "actor", "actor id or e-mail; repeatable")
		fs.Var(&q.projects, "project", "project id (--api anthropic: organization id, org_... or UUID); repeatable")
	}
	return q
}

// checkOutput refuses an -o the command does not write.
func (q *queryFlags) checkOutput() error {
	if !slices.Contains(q.outputs, q.output) {
		return fmt.Errorf("-o must be %s, got %q", orList(q.outputs), q.output)
	}
	return nil
}

// orList writes a, b or c.
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// logAPI is one of the APIs, opened with a key: OpenAI's audit or
// request logs (client), ChatGPT's compliance logs (cg), or Anthropic's
// activity feed (an).
type logAPI struct {
	kind   string
	base   string
	client *openai.Client
	cg     *chatgptAPI
	an     *anthropicAPI
}

// firstSource returns the config of the first of sources whose config is
// a C, or the zero C.
func firstSource[C any](sources []pipeline.ComponentSpec) C {
	for _, s := range sources {
		if c, ok := s.Config.(C); ok {
			return c
		}
	}
	var none C
	return none
}

// open resolves the key, base URL and API from the environment, the
// flags and the config; it reports problems on stderr.
func (m *Main) open(q *queryFlags) (*logAPI, int, bool) {
	var key pipeline.Secret
	base, kind := "", ""
	var cg *chatgpt.Config   // the -c file's compliance-log source
	var an *anthropic.Config // the -c file's activity-feed source
	if q.config != "" {
		reg, err := components()
		if err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay: %v\n", err)
			return nil, exitFailure, false
		}
		// Only the sources: a query needs no sink, so an unset sink
		// secret must not stop it.
		sources, err := config.LoadSources(q.config, reg, m.Environ)
		if err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay: %s: %v\n", q.config, err)
			return nil, exitUsage, false
		}
		switch c := sources[0].Config.(type) {
		case *openai.Config:
			key, base, kind = c.APIKey, c.BaseURL, apiAudit
		case *openai.OrgLogsConfig:
			key, base, kind = c.APIKey, c.BaseURL, apiRequests
		case *chatgpt.Config:
			kind = apiChatGPT
		case *anthropic.Config:
			kind = apiAnthropic
		}
		// --api chatgpt reads the file's first compliance-log source,
		// whichever source comes first.
		cg = firstSource[*chatgpt.Config](sources)
		if q.api == apiChatGPT && cg == nil {
			fmt.Fprintf(m.Stderr, "auditrelay: --api chatgpt: %s has no %s source\n", q.config, chatgpt.Type)
			return nil, exitUsage, false
		}
		// So does --api anthropic its first activity-feed source.
		an = firstSource[*anthropic.Config](sources)
		if q.api == apiAnthropic && an == nil {
			fmt.Fprintf(m.Stderr, "auditrelay: --api anthropic: %s has no %s source\n", q.config, anthropic.Type)
			return nil, exitUsage, false
		}
	}
	if q.api == apiChatGPT || q.api == "" && kind == apiChatGPT {
		return m.openChatGPT(q, cg)
	}
	if q.api == apiAnthropic || q.api == "" && kind == apiAnthropic {
		return m.openAnthropic(q, an)
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
		fmt.Fprintf(m.Stderr, "auditrelay: --api must be audit, requests, chatgpt or anthropic, got %q\n", kind)
		return nil, exitUsage, false
	}
	return &logAPI{kind: kind, base: base, client: openai.NewClient(key, 0, httpapi.Config{
		BaseURL: base, Name: "cli",
		Retry: httpapi.Retry{Timeout: 60 * time.Second, MaxRetries: 10, RetryWaitMin: 200 * time.Millisecond,
			RetryWaitMax: 10 * time.Second, MaxServerWait: time.Minute}, UserAgent: "auditrelay/" + version,
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

// parseWhen parses the value of the flag name (--since, --until): a
// duration back from now, days and weeks included (see parseAgo), or an
// RFC 3339 time, or a date (midnight UTC).
func parseWhen(name, s string, now time.Time) (time.Time, error) {
	if d, err := parseAgo(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want %s", name, s, whenForms)
}

// parseAgo parses a duration as time.ParseDuration does, with days (d,
// 24h) and weeks (w, 7d) too: 3d, 2w, 1w2d, 1d12h, 1.5d. time.ParseDuration
// stops at hours, which makes a month 720h.
func parseAgo(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	bad := fmt.Errorf("invalid duration %q", s)
	if s == "" {
		return 0, bad
	}
	isNum := func(r rune) bool { return r >= '0' && r <= '9' || r == '.' }
	// Take out the days and weeks; time.ParseDuration reads the rest.
	var days float64
	var rest strings.Builder
	for in := s; in != ""; {
		n := strings.IndexFunc(in, func(r rune) bool { return !isNum(r) })
		if n <= 0 { // no number, or a number without a unit
			return 0, bad
		}
		u := strings.IndexFunc(in[n:], isNum)
		if u < 0 {
			u = len(in) - n
		}
		num, unit := in[:n], in[n:n+u]
		in = in[n+u:]
		if unit != "d" && unit != "w" {
			rest.WriteString(num + unit)
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, bad
		}
		if unit == "w" {
			v *= 7
		}
		days += v
	}
	var d time.Duration
	if rest.Len() > 0 {
		var err error
		if d, err = time.ParseDuration(rest.String()); err != nil {
			return 0, bad
		}
	}
	extra := days * float64(24*time.Hour)
	if extra >= float64(math.MaxInt64-d) {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return d + time.Duration(extra), nil
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
	if out.since, err = parseWhen("--since", q.since, now); err != nil {
		return out, err
	}
	if q.until != "" {
		if out.until, err = parseWhen("--until", q.until, now); err != nil {
			return out, err
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
		return nil, a.failed(err)
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

// failed adds the base URL to the error of a request, which names the
// path and the status: a wrong base URL then shows. User info and query
// are left out (the key travels in a header, never in the URL).
func (a *logAPI) failed(err error) error {
	base := a.base
	if u, perr := url.Parse(a.base); perr == nil {
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		base = u.String()
	}
	return fmt.Errorf("API %s: %w", base, err)
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func (a *logAPI) schema() string {
	switch a.kind {
	case apiRequests:
		return schema.SchemaRequestLog
	case apiChatGPT:
		return cgschema.Schema
	case apiAnthropic:
		return aschema.Schema
	}
	return schema.SchemaAuditLog
}

// walk calls each for every page of q until done, each returning false, or
// an error.
func (a *logAPI) walk(ctx context.Context, q query, after string, each func(*page, string) (bool, error)) error {
	if a.kind == apiAnthropic {
		return a.an.walk(ctx, a, q, after, each)
	}
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

// unit is what export and stats take at once: a page of an OpenAI API, a
// file of the compliance logs.
type unit struct {
	events []pipeline.Event // the matching ones
	read   int              // the records it held
	next   string           // the cursor after it
	// at is how far the walk has read: the oldest event (a newest-first
	// walk), or the end_time of the file (the compliance logs).
	at   time.Time
	done bool
	// none marks the end of a walk that found nothing to read: no page or
	// file to count.
	none bool
}

// units calls each for every unit of q from the cursor after until done,
// each returning false, or an error.
func (a *logAPI) units(ctx context.Context, q query, after string, each func(unit) (bool, error)) error {
	if a.kind == apiChatGPT {
		return a.cg.walkFiles(ctx, q, after, each)
	}
	return a.walk(ctx, q, after, func(p *page, _ string) (bool, error) {
		return each(unit{events: p.events, read: p.read, next: p.next, at: p.oldest, done: p.done})
	})
}

func (m *Main) cmdList(ctx context.Context, args []string) int {
	fs := m.flags("list", "[--api audit|requests|chatgpt|anthropic] [--since 24h] [--until T] [--type T] [--actor A] [--project P] [--limit N] [-o table|json|jsonl|csv]")
	q := m.addQueryFlags(fs, "24h", "table", "json", "jsonl", "csv")
	limit := fs.Int("limit", 50, "show at most this many events (0: all)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if err := q.checkOutput(); err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay list: %v\n", err)
		return exitUsage
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
	n, more := 0, false
	if api.kind == apiAnthropic && *limit > 0 {
		// Pages no larger than the limit needs (but not so small that a
		// filter the API cannot apply costs a request per row).
		api.an.pageSize = max(*limit, 100)
	}
	if api.kind == apiChatGPT {
		n, more, err = m.listChatGPT(ctx, api, qq, out, *limit)
	} else {
		err = api.walk(ctx, qq, "", func(p *page, _ string) (bool, error) {
			for i, ev := range p.events {
				if err := out.write(ev); err != nil {
					return false, err
				}
				n++
				if *limit > 0 && n == *limit {
					// Stop here rather than ask for a page only to learn
					// whether there is more: the API said so already.
					more = i < len(p.events)-1 || !p.done
					return false, nil
				}
			}
			return true, nil
		})
	}
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
	// On stderr, so that what stdout pipes on stays the events alone.
	if more {
		fmt.Fprintf(m.Stderr, "auditrelay list: showing the newest %d; more logs exist: raise --limit (0: all) or narrow --since/--until\n", n)
	}
	return exitOK
}

// eventWriter renders events in one of the output formats.
type eventWriter struct {
	format string
	schema string
	w      io.Writer
	tw     *tabwriter.Writer
	csv    *eventcsv.Writer
	n      int
}

func newEventWriter(w io.Writer, format, schema string) (*eventWriter, error) {
	ew := &eventWriter{format: format, schema: schema, w: w}
	switch format {
	case "table":
		ew.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if schema == cgschema.Schema {
			fmt.Fprintln(ew.tw, "TIME\tTYPE\tACTION\tACTOR\tID")
			break
		}
		if schema == aschema.Schema {
			fmt.Fprintln(ew.tw, "TIME\tTYPE\tACTOR\tORGANIZATION\tID")
			break
		}
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
		if e.schema == cgschema.Schema {
			action, actor := complianceRow(&ev)
			_, err := fmt.Fprintf(e.tw, "%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), ev.Type, dash(action), dash(actor), ev.ID)
			return err
		}
		if e.schema == aschema.Schema {
			_, err := fmt.Fprintf(e.tw, "%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), ev.Type, dash(activityRow(&ev)), dash(ev.ProjectID), ev.ID)
			return err
		}
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
