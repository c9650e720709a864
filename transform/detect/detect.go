package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// AlertType is the type, and AlertSchema the schema, of the events the
// transform adds.
const (
	AlertType   = "auditrelay.alert"
	AlertSchema = "auditrelay.alert"
)

// Alert is the JSON object of an alert event.
type Alert struct {
	// ID is derived from the source, the rule and the evidence's ids: the
	// same evidence gives the same id, in a replayed window too.
	ID       string `json:"id"`
	Type     string `json:"type"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	// Time is the time of the event that completed the evidence.
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
	// Group is the value of the rule's group_by ("" without one), Value
	// the new value of a first_seen rule.
	Group    string   `json:"group,omitempty"`
	Value    string   `json:"value,omitempty"`
	Evidence Evidence `json:"evidence"`
	Link     string   `json:"link,omitempty"`
}

// Evidence is what raised an alert.
type Evidence struct {
	EventIDs   []string  `json:"event_ids"`
	Actor      string    `json:"actor,omitempty"`
	ActorEmail string    `json:"actor_email,omitempty"`
	IP         string    `json:"ip,omitempty"`
	Types      []string  `json:"types"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
}

// Detect is the detect transform.
type Detect struct {
	log   *slog.Logger
	rules []*rule
	max   int
	link  string
	store *stateDir // nil: state in memory only
	// name and observer report the alerts of each committed window;
	// observer is nil when the telemetry does not count alerts.
	name     string
	observer pipeline.AlertObserver

	typeMu sync.RWMutex
	byType map[[2]string][]*rule // schema and type -> the rules reading them

	mu      sync.Mutex
	sources map[string]*sourceEntry
}

// sourceEntry is one source's committed state and the overlay of its
// window in flight.
type sourceEntry struct {
	state   *sourceState
	pending *overlay
}

// maxTypeCache bounds the cache of rules per event type: types are a
// vendor's list, but nothing stops a stream from making up new ones.
const maxTypeCache = 4096

var _ pipeline.WindowTransform = (*Detect)(nil)

// New returns a detect transform for c; dir is the state directory already
// resolved ("" keeps the state in memory); a nil log discards.
func New(c *Config, dir string, log *slog.Logger) (*Detect, error) {
	rs, err := c.rules()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Detect{log: log, max: c.MaxEntries, link: c.LinkTemplate, byType: map[[2]string][]*rule{}, sources: map[string]*sourceEntry{}}
	for _, r := range rs {
		cr, err := compile(r)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		d.rules = append(d.rules, cr)
	}
	if dir != "" {
		d.store = &stateDir{dir: dir}
	}
	return d, nil
}

// Rules returns the names of the rules the transform runs.
func (d *Detect) Rules() []string {
	out := make([]string, len(d.rules))
	for i, r := range d.rules {
		out[i] = r.Name
	}
	return out
}

// Reads reports whether a rule reads events like ev (its schema and type):
// a caller that keeps events for the transform keeps only those.
func (d *Detect) Reads(ev *pipeline.Event) bool { return len(d.rulesFor(ev.Schema, ev.Type)) > 0 }

// Start implements pipeline.Component.
func (d *Detect) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component.
func (d *Detect) Shutdown(context.Context) error { return nil }

// Process implements pipeline.Transform for a caller without windows: the
// batch is one window, processed and committed at once. The engine calls
// ProcessWindow instead.
func (d *Detect) Process(ctx context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	out, err := d.ProcessWindow(ctx, b.Source, []pipeline.Batch{b})
	if err != nil {
		return b, err
	}
	if err := d.CommitWindow(ctx, b.Source); err != nil {
		return b, err
	}
	evs := []pipeline.Event{}
	for _, ob := range out {
		evs = append(evs, ob.Events...)
	}
	return pipeline.Batch{Source: b.Source, Events: evs}, nil
}

// rulesFor returns the rules reading events of schema and typ.
func (d *Detect) rulesFor(schema, typ string) []*rule {
	k := [2]string{schema, typ}
	d.typeMu.RLock()
	rs, ok := d.byType[k]
	d.typeMu.RUnlock()
	if ok {
		return rs
	}
	for _, r := range d.rules {
		if r.selects(schema, typ) {
			rs = append(rs, r)
		}
	}
	d.typeMu.Lock()
	if len(d.byType) < maxTypeCache {
		d.byType[k] = rs
	}
	d.typeMu.Unlock()
	return rs
}

// entry returns the committed state of source, loading it on first use.
func (d *Detect) entry(source string) (*sourceEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.sources[source]; e != nil {
		return e, nil
	}
	st := newSourceState()
	if d.store != nil {
		var err error
		if st, err = d.store.load(source, d.max); err != nil {
			return nil, pipeline.Permanent(fmt.Errorf("loading the detection state of %q: %w", source, err))
		}
	}
	e := &sourceEntry{state: st}
	d.sources[source] = e
	return e, nil
}

// ProcessWindow implements pipeline.WindowTransform: it runs the rules
// over the window's events in order and inserts each alert after the event
// that raised it.
func (d *Detect) ProcessWindow(_ context.Context, source string, batches []pipeline.Batch) ([]pipeline.Batch, error) {
	e, err := d.entry(source)
	if err != nil {
		return nil, err
	}
	ov := newOverlay(e.state)
	matches := d.prepare(batches)
	out := make([]pipeline.Batch, len(batches))
	for bi, b := range batches {
		var evs []pipeline.Event // nil until an alert is inserted
		for i := range b.Events {
			ev := &b.Events[i]
			alerts := d.event(ov, source, ev, matches[bi][i])
			if len(alerts) == 0 {
				if evs != nil {
					evs = append(evs, *ev)
				}
				continue
			}
			if evs == nil {
				evs = append(make([]pipeline.Event, 0, len(b.Events)+len(alerts)), b.Events[:i]...)
			}
			evs = append(evs, *ev)
			evs = append(evs, alerts...)
		}
		if evs == nil {
			evs = b.Events
		}
		out[bi] = pipeline.Batch{Source: b.Source, Events: evs}
	}
	d.mu.Lock()
	e.pending = ov
	d.mu.Unlock()
	return out, nil
}

// CommitWindow implements pipeline.WindowTransform: the state the last
// ProcessWindow of source derived becomes the committed one, written to
// the state directory first.
func (d *Detect) CommitWindow(_ context.Context, source string) error {
	d.mu.Lock()
	e := d.sources[source]
	d.mu.Unlock()
	if e == nil {
		return nil
	}
	d.mu.Lock()
	ov := e.pending
	e.pending = nil
	d.mu.Unlock()
	if ov == nil || !ov.changed() {
		return nil
	}
	if n := ov.alerts(); n > 0 {
		d.log.Info("alerts raised", "source", source, "alerts", n)
	}
	ov.commit(d.rules, d.max)
	var err error
	if d.store != nil {
		var data []byte
		if data, err = e.state.marshal(); err == nil {
			err = d.store.save(source, data)
		}
	}
	if err == nil && d.observer != nil {
		for k, n := range ov.fresh {
			d.observer.AlertsRaised(d.name, k[0], k[1], n)
		}
	}
	if err != nil {
		// The file holds the state of the last committed window, which
		// the window delivered again next starts from.
		d.mu.Lock()
		delete(d.sources, source)
		d.mu.Unlock()
		return fmt.Errorf("saving the detection state of %q: %w", source, err)
	}
	return nil
}

// event runs the rules over ev and returns the alerts it raises.
func (d *Detect) event(ov *overlay, source string, ev *pipeline.Event, ms []match) []pipeline.Event {
	if ev.Time.After(ov.last) {
		ov.last = ev.Time
	}
	if ov.base.folded[ev.ID] {
		// Replayed: the committed state holds this event already; its
		// alerts are raised again as they were, with the same ids.
		ov.folded[ev.ID] = true
		var out []pipeline.Event
		for _, raw := range ov.base.raised[ev.ID] {
			ov.raised[ev.ID] = append(ov.raised[ev.ID], raw)
			var a Alert
			_ = json.Unmarshal(raw, &a) // raw is ours
			out = append(out, a.event(raw, ev))
		}
		return out
	}
	var out []pipeline.Event
	for _, m := range ms {
		a := d.apply(ov, source, m)
		ov.folded[ev.ID] = true
		if a == nil {
			continue
		}
		raw, err := json.Marshal(a)
		if err != nil {
			continue // strings and times: cannot fail
		}
		ov.raised[ev.ID] = append(ov.raised[ev.ID], raw)
		ov.fresh[[2]string{a.Rule, a.Severity}]++
		out = append(out, a.event(raw, ev))
	}
	return out
}

// match is a rule whose conditions an event meets, with the values the
// rule groups and tracks by: what can be read of an event without state.
type match struct {
	r            *rule
	rd           *reading
	group, value string
}

// prepare finds the matches of every event of the window, in parallel:
// reading events is most of the work, and needs no state. A window is
// often a batch or two, so the events are shared out, not the batches.
func (d *Detect) prepare(batches []pipeline.Batch) [][][]match {
	type at struct{ b, i int }
	var all []at
	out := make([][][]match, len(batches))
	for bi, b := range batches {
		out[bi] = make([][]match, len(b.Events))
		for i := range b.Events {
			all = append(all, at{bi, i})
		}
	}
	workers := min(runtime.GOMAXPROCS(0), max(len(all)/64, 1))
	var wg sync.WaitGroup
	for w := range workers {
		part := all[w*len(all)/workers : (w+1)*len(all)/workers]
		wg.Go(func() {
			for _, p := range part {
				out[p.b][p.i] = d.matches(&batches[p.b].Events[p.i])
			}
		})
	}
	wg.Wait()
	return out
}

// matches returns the rules whose conditions ev meets and that have the
// values they need (a group, a first-seen value).
func (d *Detect) matches(ev *pipeline.Event) []match {
	rs := d.rulesFor(ev.Schema, ev.Type)
	if len(rs) == 0 {
		return nil
	}
	rd := &reading{ev: ev}
	var out []match
	for _, r := range rs {
		if !r.holds(rd) {
			continue
		}
		m := match{r: r, rd: rd}
		if r.GroupBy != "" {
			if m.group = rd.one(r.groupBy); m.group == "" {
				continue
			}
		}
		if r.FirstSeen != "" {
			if m.value = rd.one(r.firstSeen); m.value == "" {
				continue
			}
		}
		out = append(out, m)
	}
	if out != nil {
		rd.vendor() // what an alert names: read here, in parallel
	}
	return out
}

// apply counts a match of r and returns the alert it raises, if any.
func (d *Detect) apply(ov *overlay, source string, m match) *Alert {
	r, rd, group, value := m.r, m.rd, m.group, m.value
	ev := rd.ev
	cooling := ev.Time.Before(ov.coolUntil(r.Name, group))
	evidence := []hit{{ev.ID, ev.Time}}
	switch {
	case r.Threshold != nil:
		if cooling {
			return nil // one storm, one alert: its tail is not counted
		}
		from := ev.Time.Add(-r.Threshold.Within)
		var hs []hit
		for _, h := range ov.hits(r.Name, group) {
			if h.Time.After(from) {
				hs = append(hs, h)
			}
		}
		hs = append(hs, hit{ev.ID, ev.Time})
		if len(hs) < r.Threshold.Count {
			ov.setHits(r.Name, group, hs)
			return nil
		}
		ov.setHits(r.Name, group, nil)
		evidence = hs
	case r.FirstSeen != "":
		vals, known := ov.values(r.Name, group)
		ov.see(r.Name, group, value)
		if !known || containsStr(vals, value) || cooling {
			return nil
		}
	default:
		if cooling {
			return nil
		}
	}
	if r.Cooldown > 0 {
		ov.setCool(r.Name, group, ev.Time.Add(r.Cooldown))
	}
	return d.alert(source, r, rd, group, value, evidence)
}

func containsStr(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// alert builds the alert of r with its evidence, the last of which is
// rd's event.
func (d *Detect) alert(source string, r *rule, rd *reading, group, value string, evidence []hit) *Alert {
	ids := make([]string, len(evidence))
	for i, h := range evidence {
		ids[i] = h.ID
	}
	sum := sha256.New()
	for _, s := range append([]string{source, r.Name}, ids...) {
		sum.Write([]byte(s))
		sum.Write([]byte{0})
	}
	a := &Alert{
		ID: "alert_" + hex.EncodeToString(sum.Sum(nil)[:16]), Type: AlertType, Rule: r.Name, Severity: string(r.level),
		Summary: r.summary(rd, group, value, len(evidence)), Time: rd.ev.Time.UTC(), Source: source,
		Group: group, Value: value,
		Evidence: Evidence{
			EventIDs: ids, Actor: rd.one(field{kind: fActor}), IP: rd.one(field{kind: fIP}),
			Types: []string{rd.ev.Type}, First: evidence[0].Time.UTC(), Last: rd.ev.Time.UTC(),
		},
	}
	if a.Evidence.ActorEmail = rd.ev.ActorEmail; a.Evidence.ActorEmail == "" {
		rd.vendor()
		a.Evidence.ActorEmail = rd.email
	}
	if d.link != "" {
		a.Link = expand(d.link, func(name string) (string, bool) {
			switch name {
			case "source":
				return url.QueryEscape(source), true
			case "rule":
				return url.QueryEscape(r.Name), true
			case "id":
				return url.QueryEscape(rd.ev.ID), true
			case "ids":
				return url.QueryEscape(strings.Join(ids, ",")), true
			}
			return "", false
		})
	}
	return a
}

// event is the pipeline event of a, whose JSON is raw, raised by ev.
func (a *Alert) event(raw []byte, ev *pipeline.Event) pipeline.Event {
	return pipeline.Event{
		ID: a.ID, Type: AlertType, Time: a.Time, ObservedAt: ev.ObservedAt, Source: ev.Source,
		ActorID: a.Evidence.Actor, ActorEmail: a.Evidence.ActorEmail, Schema: AlertSchema, Raw: raw,
	}
}
