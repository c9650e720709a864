package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/schema/severity"
)

// minRefreshGap bounds refreshes triggered by unknown ids.
const minRefreshGap = time.Minute

// Enricher is the enrich transform. Process is safe for concurrent use;
// it reads an immutable directory snapshot swapped atomically by the
// background refresher.
type Enricher struct {
	cfg        Config
	rules      []openai.Rule // the configured overrides of the severity table
	labelsJSON json.RawMessage
	log        *slog.Logger
	tel        pipeline.Telemetry
	name       string // the transform's, for telemetry
	now        func() time.Time
	loader     *loader // nil without an api key

	dir     atomic.Pointer[directory]
	kick    chan struct{}
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
}

var _ pipeline.Transform = (*Enricher)(nil)

// New returns an enricher for a validated config; httpClient carries the
// TLS settings (nil: a default client).
func New(c *Config, log *slog.Logger, httpClient *http.Client, now func() time.Time) *Enricher {
	e := &Enricher{cfg: *c, log: log, tel: pipeline.NopTelemetry{}, name: "enrich", now: now, kick: make(chan struct{}, 1)}
	for _, r := range c.Severity {
		e.rules = append(e.rules, openai.Rule{Match: r.Match, Level: openai.Level(r.Level)})
	}
	if len(c.Labels) > 0 {
		e.labelsJSON, _ = json.Marshal(c.Labels) // a map of strings always encodes
	}
	if c.APIKey != "" {
		rc := retryablehttp.NewClient()
		rc.RetryMax = 3
		rc.RetryWaitMin = 500 * time.Millisecond
		rc.RetryWaitMax = 5 * time.Second
		rc.Logger = log
		if httpClient != nil {
			rc.HTTPClient = httpClient
		}
		rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
		e.loader = &loader{base: strings.TrimRight(c.BaseURL, "/"), apiKey: c.APIKey.Value(), max: c.MaxEntries, client: rc}
	}
	return e
}

// Start loads the directory once, bounded by ctx and the configured
// timeout, then starts the background refresher. A failed load is logged,
// not returned: events then pass unenriched until a refresh succeeds.
func (e *Enricher) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loader == nil {
		if !e.started {
			e.log.Warn("enrich: no api_key, and no OpenAI source to take one from: events get severity, labels and host, but no names (set api_key to an admin key)")
			e.started = true
		}
		return nil
	}
	if e.started {
		return nil
	}
	e.started = true
	if e.cfg.keyOf != "" {
		e.log.Info("enrich: reading the directory with the api_key of source "+e.cfg.keyOf, "base_url", e.loader.base)
	}
	e.refresh(ctx)
	// The refresher outlives Start's ctx; Shutdown cancels it.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel, e.done = cancel, make(chan struct{})
	go e.run(bg)
	return nil
}

// Shutdown stops the refresher and waits for it, bounded by ctx.
func (e *Enricher) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	e.cancel = nil
	e.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("enrich: waiting for the refresher: %w", ctx.Err())
	}
}

func (e *Enricher) run(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(e.cfg.RefreshInterval)
	defer t.Stop()
	last := e.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.kick:
			if e.now().Sub(last) < minRefreshGap {
				continue
			}
		}
		last = e.now()
		e.refresh(ctx)
	}
}

func (e *Enricher) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	start := e.now()
	d, err := e.loader.load(ctx, start)
	if err != nil {
		e.log.Warn("enrich: directory load failed; events pass unenriched until it succeeds",
			"base_url", e.loader.base, "error", err)
		e.tel.TransformDegraded(e.name, fmt.Errorf("directory load failed; events pass unenriched: %w", err))
		return
	}
	e.tel.TransformDegraded(e.name, nil)
	if !d.full {
		e.log.Warn("enrich: directory larger than max_entries; some ids stay unresolved", "max_entries", e.cfg.MaxEntries)
	}
	e.dir.Store(d)
	e.log.Debug("enrich: directory loaded", "entries", d.size(), "took", e.now().Sub(start))
}

// Refresh loads the directory now; it blocks until done or ctx ends. For
// tests and for callers that want a warm cache before the first batch.
func (e *Enricher) Refresh(ctx context.Context) {
	if e.loader != nil {
		e.refresh(ctx)
	}
}

// Process adds the auditrelay object to every event of b. It never blocks
// on the network and ignores ctx. An event that is not a JSON object fails
// the batch permanently.
func (e *Enricher) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	d := e.dir.Load()
	if d != nil && e.now().Sub(d.loadedAt) > e.cfg.TTL {
		d = nil
	}
	now := e.now()
	missed := false
	var buf bytes.Buffer // each event's auditrelay object, copied into the event
	for i := range b.Events {
		ev := &b.Events[i]
		enriched, err := e.event(ev, d, now, &buf)
		if err != nil {
			return b, pipeline.Permanent(fmt.Errorf("enrich: event %s: %w", ev.ID, err))
		}
		missed = missed || d != nil && !enriched
	}
	if missed && e.loader != nil {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
	return b, nil
}

// event adds the auditrelay object to one event, appended to its bytes,
// which keep everything else as it was, and reports whether the directory
// knew every id the event names. An auditrelay member the event holds
// already (relayed events read again) goes first, every copy of it,
// through the decoded object.
func (e *Enricher) event(ev *pipeline.Event, d *directory, now time.Time, buf *bytes.Buffer) (enriched bool, err error) {
	if err := ev.Finalize(); err != nil {
		return false, err
	}
	// The vendor's reading, picked by the event's schema. The directory is
	// OpenAI's: it names nothing of another vendor's event, and misses
	// nothing either.
	var a *annotation
	var relayed bool
	switch ev.Schema {
	case anthropic.Schema:
		f, err := anthropic.ReadObject(ev.Raw)
		if err != nil {
			return false, err
		}
		a, enriched, relayed = e.annotateActivity(ev, &f, now), true, f.Relayed()
	case chatgpt.Schema:
		f, err := chatgpt.ReadObject(ev.Raw)
		if err != nil {
			return false, err
		}
		a, enriched, relayed = e.annotateComplianceRecord(ev, &f, now), true, f.Relayed()
	default:
		f, err := openai.ReadObject(ev.Raw, ev.Type)
		if err != nil {
			return false, err
		}
		a, relayed = e.annotate(ev, &f, d, now), f.Relayed()
		enriched = a.Enriched
	}
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return false, err
	}
	if relayed {
		obj, err := ev.Object()
		if err != nil {
			return false, err
		}
		delete(obj, "auditrelay")
		ev.SetObject(obj)
		if err := ev.Finalize(); err != nil {
			return false, err
		}
	}
	// SetRaw also drops the decoded object, which no longer matches.
	ev.SetRaw(insertMember(ev.Raw, "auditrelay", bytes.TrimRight(buf.Bytes(), "\n")))
	return enriched, nil
}

// insertMember returns the object obj with the member "key":val added
// before its closing brace; every other byte stays as it was.
func insertMember(obj []byte, key string, val []byte) []byte {
	end := bytes.LastIndexByte(obj, '}')
	out := make([]byte, 0, len(obj)+len(key)+len(val)+4)
	out = append(out, obj[:end]...)
	if before := bytes.TrimRight(obj[:end], " \t\r\n"); before[len(before)-1] != '{' {
		out = append(out, ',')
	}
	out = append(append(append(out, '"'), key...), '"', ':')
	out = append(out, val...)
	return append(out, obj[end:]...)
}

// annotation is the auditrelay object of one event (its keys sorted).
type annotation struct {
	Actor      any             `json:"actor,omitempty"`
	APIKey     any             `json:"api_key,omitempty"`
	Enriched   bool            `json:"enriched"`
	Host       string          `json:"host,omitempty"`
	IngestedAt string          `json:"ingested_at"`
	Labels     json.RawMessage `json:"labels,omitempty"`
	Project    any             `json:"project,omitempty"`
	Severity   openai.Level    `json:"severity"`
	SeverityID int             `json:"severity_id"`
	Source     string          `json:"source,omitempty"`
	Target     any             `json:"target,omitempty"`
}

// annotate builds the auditrelay object of an OpenAI event whose fields
// are f.
func (e *Enricher) annotate(ev *pipeline.Event, f *openai.Fields, d *directory, now time.Time) *annotation {
	a := e.common(ev, openai.Severity(e.rules, ev.Type, f.Failed()), now)
	if d == nil {
		return a
	}
	r := resolver{d: d, ok: true}
	if openai.IsRequestLog(ev.Schema) || f.LooksLikeRequestLog() {
		r.requestLog(ev.Type, f, a)
	} else {
		r.auditLog(ev.Type, f, a)
	}
	a.Enriched = r.ok
	return a
}

// annotateActivity builds the auditrelay object of an Anthropic activity
// whose fields are f: its level from Anthropic's table, after the user's
// rules.
func (e *Enricher) annotateActivity(ev *pipeline.Event, f *anthropic.Fields, now time.Time) *annotation {
	return e.common(ev, anthropic.Severity(e.rules, ev.Type, f.Failed()), now)
}

// annotateComplianceRecord builds the auditrelay object of a ChatGPT
// compliance record whose fields are f: its level from ChatGPT's table,
// by type and sub-type, after the user's rules.
func (e *Enricher) annotateComplianceRecord(ev *pipeline.Event, f *chatgpt.Fields, now time.Time) *annotation {
	return e.common(ev, chatgpt.Severity(e.rules, ev.Type, f.SubType(), f.ActionResult()), now)
}

// common is the part of the auditrelay object every vendor's events get.
func (e *Enricher) common(ev *pipeline.Event, sev severity.Level, now time.Time) *annotation {
	ingested := ev.ObservedAt
	if ingested.IsZero() {
		ingested = now
	}
	return &annotation{Severity: sev, SeverityID: sev.ID(), Labels: e.labelsJSON, Host: e.cfg.Host, Source: ev.Source,
		IngestedAt: ingested.UTC().Format(time.RFC3339Nano)}
}

// resolver looks the ids of an event up in the directory; ok turns false
// at the first id it does not know.
type resolver struct {
	d  *directory
	ok bool
}

// lookup returns the entry of id in m, or nil (and a miss).
func lookup[V any](r *resolver, m map[string]V, id string) any {
	v, found := m[id]
	if !found {
		r.ok = false
		return nil
	}
	return v
}

// target returns the entry of id, the object an event of type typ is
// about, in m, or nil. A deleted object is gone from the directory: not a
// miss.
func target[V any](r *resolver, typ string, m map[string]V, id string) any {
	miss := resolver{d: r.d, ok: true}
	t := lookup(&miss, m, id)
	if !miss.ok && !strings.HasSuffix(typ, ".deleted") {
		r.ok = false
	}
	return t
}

func (r *resolver) auditLog(typ string, f *openai.Fields, a *annotation) {
	act := f.Actor()
	switch act.Kind {
	case "session":
		a.Actor = lookup(r, r.d.users, act.UserID)
	case "api_key":
		a.APIKey = lookup(r, r.d.keys, act.KeyID)
		if act.UserID != "" || act.KeyKind == "user" {
			a.Actor = lookup(r, r.d.users, act.UserID)
		} else if act.ServiceAccountID != "" || act.KeyKind == "service_account" {
			a.Actor = lookup(r, r.d.accounts, act.ServiceAccountID)
		}
	}
	if id := f.ProjectID(); id != "" {
		a.Project = lookup(r, r.d.projects, id)
	}
	id := f.PayloadID()
	if id == "" {
		return
	}
	switch {
	case strings.HasPrefix(typ, "user."):
		a.Target = target(r, typ, r.d.users, id)
	case strings.HasPrefix(typ, "api_key."):
		a.Target = target(r, typ, r.d.keys, id)
	case strings.HasPrefix(typ, "project."):
		a.Target = target(r, typ, r.d.projects, id)
	case strings.HasPrefix(typ, "service_account."):
		a.Target = target(r, typ, r.d.accounts, id)
	}
}

func (r *resolver) requestLog(typ string, f *openai.Fields, a *annotation) {
	act := f.Actor()
	switch act.Kind {
	case "user":
		a.Actor = lookup(r, r.d.users, act.RequestID)
	case "api_key":
		a.APIKey = lookup(r, r.d.keys, act.RequestID)
	}
	if kind, id := f.Target(); kind == "user" {
		a.Target = target(r, typ, r.d.users, id)
	}
}
