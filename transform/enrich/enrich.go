package enrich

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/internal/rawjson"
)

// minRefreshGap bounds refreshes triggered by unknown ids.
const minRefreshGap = time.Minute

// Enricher is the enrich transform. Process is safe for concurrent use;
// it reads an immutable directory snapshot swapped atomically by the
// background refresher.
type Enricher struct {
	cfg    Config
	rules  []SeverityRule
	labels map[string]any
	log    *slog.Logger
	now    func() time.Time
	loader *loader // nil without an api key

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
	e := &Enricher{cfg: *c, log: log, now: now, kick: make(chan struct{}, 1)}
	e.rules = append(append([]SeverityRule(nil), c.Severity...), defaultSeverity...)
	if len(c.Labels) > 0 {
		e.labels = make(map[string]any, len(c.Labels))
		for k, v := range c.Labels {
			e.labels[k] = v
		}
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
	if e.loader == nil || e.started {
		return nil
	}
	e.started = true
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
			"key", "base_url", "error", err)
		return
	}
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
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.RawCurrent() {
			if ok, done := e.enrichRaw(ev, d, now); done {
				missed = missed || !ok && d != nil
				continue
			}
		}
		obj, err := ev.Object()
		if err != nil {
			return b, pipeline.Permanent(fmt.Errorf("enrich: event %s: %w", ev.ID, err))
		}
		ar, ok := e.enrich(ev, objectFields(obj), d, now)
		missed = missed || !ok && d != nil
		obj["auditrelay"] = ar
		ev.SetObject(obj)
	}
	if missed && e.loader != nil {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
	return b, nil
}

// enrichRaw appends the auditrelay object to the event's bytes, keeping
// the rest as it is. done is false when the event needs the decoded object:
// malformed JSON (the object path reports it) or an auditrelay member
// already there (the object path replaces it).
func (e *Enricher) enrichRaw(ev *pipeline.Event, d *directory, now time.Time) (ok, done bool) {
	f, err := newRawFields(ev.Raw, ev.Type)
	if err != nil || f.has("auditrelay") {
		return false, false
	}
	ar, ok := e.enrich(ev, f, d, now)
	var buf [512]byte
	ev.SetRaw(rawjson.InsertMember(ev.Raw, "auditrelay", appendJSON(buf[:0], ar)))
	return ok, true
}

// enrich builds the auditrelay object of an event; it reports whether
// every id was resolved.
func (e *Enricher) enrich(ev *pipeline.Event, obj fields, d *directory, now time.Time) (map[string]any, bool) {
	ar := map[string]any{}
	sev := severityOf(e.rules, ev.Type)
	if s, isBool := obj.boolean("success"); isBool && !s && levels[sev] < levels["low"] {
		sev = "low"
	}
	ar["severity"], ar["severity_id"] = sev, levels[sev]
	if e.labels != nil {
		ar["labels"] = e.labels
	}
	ingested := ev.ObservedAt
	if ingested.IsZero() {
		ingested = now
	}
	ar["ingested_at"] = ingested.UTC().Format(time.RFC3339Nano)
	if e.cfg.Host != "" {
		ar["host"] = e.cfg.Host
	}
	if ev.Source != "" {
		ar["source"] = ev.Source
	}
	ok := d != nil
	if d != nil {
		r := resolver{d: d, ok: true}
		if ev.Schema == "openai.organization_log" || obj.has("event") && !obj.has("type") {
			r.requestLog(obj, ar)
		} else {
			r.auditLog(ev.Type, obj, ar)
		}
		ok = r.ok
	}
	ar["enriched"] = ok
	return ar, ok
}

type resolver struct {
	d  *directory
	ok bool
}

func (r *resolver) user(id string) map[string]any {
	u, found := r.d.users[id]
	if !found {
		r.ok = false
		return nil
	}
	m := map[string]any{"type": "user", "name": u.Name, "email": u.Email}
	if u.Role != "" {
		m["role"] = u.Role
	}
	return m
}

func (r *resolver) account(id string) map[string]any {
	a, found := r.d.accounts[id]
	if !found {
		r.ok = false
		return nil
	}
	return map[string]any{"type": "service_account", "name": a.Name, "role": a.Role}
}

func (r *resolver) key(id string) map[string]any {
	k, found := r.d.keys[id]
	if !found {
		r.ok = false
		return nil
	}
	m := map[string]any{"name": k.Name}
	if k.OwnerID != "" {
		m["owner"] = map[string]any{"type": k.OwnerType, "id": k.OwnerID, "name": k.OwnerName}
	}
	return m
}

func (r *resolver) project(id string) map[string]any {
	p, found := r.d.projects[id]
	if !found {
		r.ok = false
		return nil
	}
	return map[string]any{"name": p.Name, "status": p.Status}
}

func setIf(m map[string]any, k string, v map[string]any) {
	if v != nil {
		m[k] = v
	}
}

func (r *resolver) auditLog(typ string, obj fields, ar map[string]any) {
	switch obj.str("actor", "type") {
	case "session":
		setIf(ar, "actor", r.user(obj.str("actor", "session", "user", "id")))
	case "api_key":
		setIf(ar, "api_key", r.key(obj.str("actor", "api_key", "id")))
		if obj.isObject("actor", "api_key", "user") {
			setIf(ar, "actor", r.user(obj.str("actor", "api_key", "user", "id")))
		} else if obj.isObject("actor", "api_key", "service_account") {
			setIf(ar, "actor", r.account(obj.str("actor", "api_key", "service_account", "id")))
		}
	}
	if obj.isObject("project") {
		setIf(ar, "project", r.project(obj.str("project", "id")))
	}
	id := obj.str(typ, "id")
	if id == "" {
		return
	}
	var t map[string]any
	switch {
	case strings.HasPrefix(typ, "user."):
		t = r.user(id)
	case strings.HasPrefix(typ, "api_key."):
		t = r.key(id)
	case strings.HasPrefix(typ, "project."):
		t = r.project(id)
	case strings.HasPrefix(typ, "service_account."):
		t = r.account(id)
	default:
		return
	}
	if t == nil && strings.HasSuffix(typ, ".deleted") {
		r.ok = true // a deleted object is gone from the directory: not a miss
		return
	}
	setIf(ar, "target", t)
}

func (r *resolver) requestLog(obj fields, ar map[string]any) {
	switch id := obj.str("actor", "id"); obj.str("actor", "type") {
	case "user":
		setIf(ar, "actor", r.user(id))
	case "api_key":
		setIf(ar, "api_key", r.key(id))
	}
	if obj.str("target", "type") == "user" {
		if u := r.user(obj.str("target", "id")); u != nil {
			ar["target"] = u
		} else if strings.HasSuffix(obj.str("event"), ".deleted") {
			r.ok = true
		}
	}
}
