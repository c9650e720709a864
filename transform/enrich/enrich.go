package enrich

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/pipeline"
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
	// labelsJSON is labels encoded, for the raw path.
	labelsJSON []byte
	types      typeCache
	log        *slog.Logger
	now        func() time.Time
	loader     *loader // nil without an api key

	// fields are the readers of batches done, with the memory of their
	// memo: one per batch (or part) in flight.
	fields sync.Pool

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
	e.fields.New = func() any { return new(rawFields) }
	e.rules = append(append([]SeverityRule(nil), c.Severity...), defaultSeverity...)
	if len(c.Labels) > 0 {
		e.labels = make(map[string]any, len(c.Labels))
		for k, v := range c.Labels {
			e.labels[k] = v
		}
		e.labelsJSON = appendJSON(nil, e.labels)
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
			"base_url", e.loader.base, "error", err)
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
	// One reader and one annotation serve every event of the batch; the
	// new bytes of the events go to the batch's memory.
	var (
		a   annotation
		f   = e.fields.Get().(*rawFields)
		out = b.Memory()
	)
	defer e.putFields(f)
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.RawCurrent() {
			if ok, done := e.enrichRaw(ev, f, &a, out, d, now); done {
				missed = missed || !ok && d != nil
				continue
			}
		}
		obj, err := ev.Object()
		if err != nil {
			return b, pipeline.Permanent(fmt.Errorf("enrich: event %s: %w", ev.ID, err))
		}
		e.enrich(&a, ev, objectFields{obj, ev.Type}, e.types.get(ev.Type, e.rules), d, now)
		missed = missed || !a.enriched && d != nil
		obj["auditrelay"] = a.toMap()
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

// putFields keeps f for another batch, holding nothing of this one.
func (e *Enricher) putFields(f *rawFields) {
	f.memo.Reset()
	f.raw = nil
	e.fields.Put(f)
}

// enrichRaw appends the auditrelay object to the event's bytes, keeping
// the rest as it is. done is false when the event needs the decoded object:
// malformed JSON (the object path reports it) or an auditrelay member
// already there (the object path replaces it).
func (e *Enricher) enrichRaw(ev *pipeline.Event, f *rawFields, a *annotation, out *pipeline.Memory, d *directory, now time.Time) (ok, done bool) {
	t := e.types.get(ev.Type, e.rules)
	if err := f.reset(ev.Raw, t); err != nil || f.has(pAuditrelay) {
		return false, false
	}
	e.enrich(a, ev, f, t, d, now)
	var buf [512]byte
	val := a.appendJSON(buf[:0], e.labelsJSON)
	dst := out.Get(len(ev.Raw) + len(val) + 16)
	ev.SetRaw(out.Keep(rawjson.AppendInsertMember(dst, ev.Raw, "auditrelay", val)))
	return a.enriched, true
}

// annotation is the auditrelay object of one event, rendered as a map (the
// object path) or straight into bytes (the raw path).
type annotation struct {
	severity        string
	severityID      int
	labels          map[string]any
	ingestedAt      time.Time
	host, source    string
	actor, target   entity
	apiKey, project entity
	enriched        bool
}

// entity is a user or a service account (actor, target), or an API key or
// project (target). It holds a copy of the directory entry, so that
// resolving an id allocates nothing.
type entity struct {
	kind    entityKind
	user    user
	account account
	key     key
	project project
}

type entityKind uint8

const (
	noEntity entityKind = iota
	userEntity
	accountEntity
	keyEntity
	projectEntity
)

func (x *entity) ok() bool { return x.kind != noEntity }

func (x *entity) toMap() map[string]any {
	switch x.kind {
	case userEntity:
		m := map[string]any{"type": "user", "name": x.user.Name, "email": x.user.Email}
		if x.user.Role != "" {
			m["role"] = x.user.Role
		}
		return m
	case accountEntity:
		return map[string]any{"type": "service_account", "name": x.account.Name, "role": x.account.Role}
	case keyEntity:
		m := map[string]any{"name": x.key.Name}
		if x.key.OwnerID != "" {
			m["owner"] = map[string]any{"type": x.key.OwnerType, "id": x.key.OwnerID, "name": x.key.OwnerName}
		}
		return m
	default:
		return map[string]any{"name": x.project.Name, "status": x.project.Status}
	}
}

// appendJSON writes what toMap encodes to (keys sorted).
func (x *entity) appendJSON(dst []byte) []byte {
	switch x.kind {
	case userEntity:
		if x.user.json != "" {
			return append(dst, x.user.json...)
		}
		dst = appendMember(append(dst, '{'), "email", x.user.Email)
		dst = appendMember(append(dst, ','), "name", x.user.Name)
		if x.user.Role != "" {
			dst = appendMember(append(dst, ','), "role", x.user.Role)
		}
		return append(dst, `,"type":"user"}`...)
	case accountEntity:
		if x.account.json != "" {
			return append(dst, x.account.json...)
		}
		dst = appendMember(append(dst, '{'), "name", x.account.Name)
		dst = appendMember(append(dst, ','), "role", x.account.Role)
		return append(dst, `,"type":"service_account"}`...)
	case keyEntity:
		if x.key.json != "" {
			return append(dst, x.key.json...)
		}
		dst = appendMember(append(dst, '{'), "name", x.key.Name)
		if x.key.OwnerID != "" {
			dst = appendMember(append(dst, `,"owner":{`...), "id", x.key.OwnerID)
			dst = appendMember(append(dst, ','), "name", x.key.OwnerName)
			dst = appendMember(append(dst, ','), "type", x.key.OwnerType)
			dst = append(dst, '}')
		}
		return append(dst, '}')
	default:
		if x.project.json != "" {
			return append(dst, x.project.json...)
		}
		dst = appendMember(append(dst, '{'), "name", x.project.Name)
		dst = appendMember(append(dst, ','), "status", x.project.Status)
		return append(dst, '}')
	}
}

// appendMember appends "k":v; k is one of this file's constant names,
// which need no escaping.
func appendMember(dst []byte, k, v string) []byte {
	dst = append(append(append(dst, '"'), k...), '"', ':')
	return rawjson.AppendString(dst, v)
}

func (a *annotation) toMap() map[string]any {
	ar := map[string]any{"severity": a.severity, "severity_id": a.severityID,
		"ingested_at": a.ingestedAt.Format(time.RFC3339Nano), "enriched": a.enriched}
	if a.labels != nil {
		ar["labels"] = a.labels
	}
	if a.host != "" {
		ar["host"] = a.host
	}
	if a.source != "" {
		ar["source"] = a.source
	}
	if a.actor.ok() {
		ar["actor"] = a.actor.toMap()
	}
	if a.apiKey.ok() {
		ar["api_key"] = a.apiKey.toMap()
	}
	if a.project.ok() {
		ar["project"] = a.project.toMap()
	}
	if a.target.ok() {
		ar["target"] = a.target.toMap()
	}
	return ar
}

// appendJSON writes what toMap encodes to; labels is the encoded labels.
func (a *annotation) appendJSON(dst, labels []byte) []byte {
	dst = append(dst, '{')
	if a.actor.ok() {
		dst = a.actor.appendJSON(append(dst, `"actor":`...))
		dst = append(dst, ',')
	}
	if a.apiKey.ok() {
		dst = a.apiKey.appendJSON(append(dst, `"api_key":`...))
		dst = append(dst, ',')
	}
	dst = strconv.AppendBool(append(dst, `"enriched":`...), a.enriched)
	if a.host != "" {
		dst = appendMember(append(dst, ','), "host", a.host)
	}
	dst = append(dst, `,"ingested_at":"`...)
	dst = append(a.ingestedAt.AppendFormat(dst, time.RFC3339Nano), '"')
	if labels != nil {
		dst = append(append(dst, `,"labels":`...), labels...)
	}
	if a.project.ok() {
		dst = a.project.appendJSON(append(dst, `,"project":`...))
	}
	dst = appendMember(append(dst, ','), "severity", a.severity)
	dst = strconv.AppendInt(append(dst, `,"severity_id":`...), int64(a.severityID), 10)
	if a.source != "" {
		dst = appendMember(append(dst, ','), "source", a.source)
	}
	if a.target.ok() {
		dst = a.target.appendJSON(append(dst, `,"target":`...))
	}
	return append(dst, '}')
}

// enrich builds the auditrelay object of an event into a.
func (e *Enricher) enrich(a *annotation, ev *pipeline.Event, obj fields, t *typeInfo, d *directory, now time.Time) {
	*a = annotation{labels: e.labels, host: e.cfg.Host, source: ev.Source}
	sev := t.severity
	if s, isBool := obj.boolean(pSuccess); isBool && !s && levels[sev] < levels["low"] {
		sev = "low"
	}
	a.severity, a.severityID = sev, levels[sev]
	a.ingestedAt = ev.ObservedAt
	if a.ingestedAt.IsZero() {
		a.ingestedAt = now
	}
	a.ingestedAt = a.ingestedAt.UTC()
	ok := d != nil
	if d != nil {
		r := resolver{d: d, ok: true}
		if ev.Schema == "openai.organization_log" || obj.has(pEvent) && !obj.has(pType) {
			r.requestLog(obj, a)
		} else {
			r.auditLog(ev.Type, obj, a)
		}
		ok = r.ok
	}
	a.enriched = ok
}

type resolver struct {
	d  *directory
	ok bool
}

func (r *resolver) user(id []byte) entity {
	u, found := r.d.users[string(id)]
	if !found {
		r.ok = false
		return entity{}
	}
	return entity{kind: userEntity, user: u}
}

func (r *resolver) account(id []byte) entity {
	a, found := r.d.accounts[string(id)]
	if !found {
		r.ok = false
		return entity{}
	}
	return entity{kind: accountEntity, account: a}
}

func (r *resolver) key(id []byte) entity {
	k, found := r.d.keys[string(id)]
	if !found {
		r.ok = false
		return entity{}
	}
	return entity{kind: keyEntity, key: k}
}

func (r *resolver) project(id []byte) entity {
	p, found := r.d.projects[string(id)]
	if !found {
		r.ok = false
		return entity{}
	}
	return entity{kind: projectEntity, project: p}
}

func (r *resolver) auditLog(typ string, obj fields, a *annotation) {
	switch string(obj.str(pActorType)) {
	case "session":
		a.actor = r.user(obj.str(pActorSessionUserID))
	case "api_key":
		a.apiKey = r.key(obj.str(pActorKeyID))
		if obj.isObject(pActorKeyUser) {
			a.actor = r.user(obj.str(pActorKeyUserID))
		} else if obj.isObject(pActorKeyAccount) {
			a.actor = r.account(obj.str(pActorKeyAccountID))
		}
	}
	if obj.isObject(pProject) {
		a.project = r.project(obj.str(pProjectID))
	}
	id := obj.str(payloadID)
	if len(id) == 0 {
		return
	}
	var t entity
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
	if !t.ok() && strings.HasSuffix(typ, ".deleted") {
		r.ok = true // a deleted object is gone from the directory: not a miss
		return
	}
	a.target = t
}

func (r *resolver) requestLog(obj fields, a *annotation) {
	switch id := obj.str(pActorID); string(obj.str(pActorType)) {
	case "user":
		a.actor = r.user(id)
	case "api_key":
		a.apiKey = r.key(id)
	}
	if string(obj.str(pTargetType)) == "user" {
		if u := r.user(obj.str(pTargetID)); u.ok() {
			a.target = u
		} else if bytes.HasSuffix(obj.str(pEvent), []byte(".deleted")) {
			r.ok = true
		}
	}
}
