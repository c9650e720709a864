package ecs

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/severity"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
)

// class is how ECS categorizes an event: event.kind (event when empty),
// event.category and event.type, from ECS's controlled vocabularies. Every
// type must be one ECS expects with every category of the class
// (TestVocabulary holds the tables to it). The zero class is that of a
// type no table knows: no category and no type, as ECS asks of events its
// categories do not fit, so that a wrong guess does not land in the
// dashboards and detection rules of a category.
type class struct {
	kind       string
	categories []string
	types      []string
}

// rule gives a class to the event names matching one of its patterns
// (pipeline.Match); with verb set, the type the name's last word says
// (verbType) is added to the class's types.
type rule struct {
	match []string
	class
	verb bool
}

// classify returns the class of the first rule matching name, and whether
// one did.
func classify(rules []rule, name string) (class, bool) {
	for _, r := range rules {
		for _, p := range r.match {
			if !pipeline.Match(p, name) {
				continue
			}
			c := r.class
			if r.verb {
				c.types = append(append([]string(nil), c.types...), verbType(name))
			}
			return c, true
		}
	}
	return class{}, false
}

// verbType is the event.type of a change that the last word of name
// names: creation (created, added, ...), deletion (deleted, removed,
// revoked, ...) or change for any other word. Words are split at dots and
// underscores, case ignored.
func verbType(name string) string {
	name = strings.ToLower(name)
	w := name[strings.LastIndexAny(name, "._")+1:]
	switch w {
	case "created", "create", "added", "add", "sent", "send", "registered", "activated", "enabled", "uploaded",
		"generated", "granted", "assigned", "connected", "allowlisted", "linked", "link":
		return "creation"
	case "deleted", "delete", "removed", "remove", "archived", "deactivated", "disabled", "revoked", "revoke",
		"unassigned", "left", "unlinked", "unlink":
		return "deletion"
	}
	switch {
	case strings.HasSuffix(name, "bound_to_resource"):
		return "creation"
	case strings.HasSuffix(name, "unbound_from_resource"), strings.HasSuffix(name, "deleted_via_bulk"):
		return "deletion"
	}
	return "change"
}

// head is what a vendor's mapping says of an event before the part every
// vendor shares is built.
type head struct {
	// vendor names event.module and event.provider, and the member that
	// keeps the original event.
	vendor  string
	dataset string // event.dataset unless the config names one
	// observer is the product that recorded the event.
	observer map[string]any
	id       string
	action   string // event.action
	message  string // message; the action when empty
	time     time.Time
	class    class
	known    bool // a table knew the type: without a failure, the outcome is success
	failed   bool
	// level is the vendor table's severity of the event: event.severity
	// unless enrich annotated one (which honours the user's rules).
	level severity.Level
}

// doc is an ECS document being built.
type doc struct {
	out       map[string]any
	user      map[string]any
	relUser   []any
	relIP     []any
	annotated map[string]any // the auditrelay member enrich writes
}

// begin starts the document of an event decoded as in.
func (m *Mapper) begin(in map[string]any, h head) *doc {
	ar := decoded.Obj(in, "auditrelay")
	outcome := "unknown"
	switch {
	case h.failed:
		outcome = "failure"
	case h.known:
		outcome = "success"
	}
	kind := h.class.kind
	if kind == "" {
		kind = "event"
	}
	dataset := m.cfg.Dataset
	if dataset == "" {
		dataset = h.dataset
	}
	ev := map[string]any{"kind": kind, "outcome": outcome, "id": h.id, "dataset": dataset, "module": h.vendor, "provider": h.vendor}
	if h.action != "" {
		ev["action"] = h.action
	}
	if len(h.class.categories) > 0 {
		ev["category"] = strs(h.class.categories)
		ev["type"] = strs(h.class.types)
	}
	if s, ok := ar["severity_id"]; ok {
		ev["severity"] = s
	} else if h.level.Valid() {
		ev["severity"] = h.level.ID()
	}
	if t := decoded.Str(ar, "ingested_at"); t != "" {
		ev["ingested"] = t
	}
	msg := h.message
	if msg == "" {
		msg = h.action
	}
	out := map[string]any{
		"@timestamp": h.time.UTC().Format(time.RFC3339Nano),
		"ecs":        map[string]any{"version": Version},
		"event":      ev,
		"observer":   h.observer,
	}
	if msg != "" {
		out["message"] = msg
	}
	return &doc{annotated: ar, user: map[string]any{}, out: out}
}

// addUser sets user.<k> to v, and lists v in related.user; nothing when v
// is empty.
func (d *doc) addUser(k, v string) {
	if v != "" {
		d.user[k] = v
		d.relUser = append(d.relUser, v)
	}
}

// target sets user.target, the person the event is about.
func (d *doc) target(id, email string) {
	if t := d.person(id, email); t != nil {
		d.user["target"] = t
	}
}

// person is the user object of id and email, which it lists in
// related.user; nil when both are empty.
func (d *doc) person(id, email string) map[string]any {
	p := map[string]any{}
	for _, kv := range [2][2]string{{"id", id}, {"email", email}} {
		if kv[1] != "" {
			p[kv[0]] = kv[1]
			d.relUser = append(d.relUser, kv[1])
		}
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// place is where a request came from, as a vendor reports it: the address
// and what the vendor resolved it to. Numbers are text as the vendor
// wrote them; the ASN may carry an "AS" prefix.
type place struct {
	ip, country, regionCode, region, city string
	latitude, longitude, asn              string
}

// source sets source.* (with source.geo and source.as when the vendor
// resolved the address) and related.ip; nothing without an address.
func (d *doc) source(p place) {
	// source.ip is an ip field: a value that is no address would have
	// the whole document refused. The original keeps it.
	if a, err := netip.ParseAddr(p.ip); err != nil || a.Zone() != "" {
		return
	}
	src := map[string]any{"ip": p.ip}
	geo := map[string]any{}
	for k, v := range map[string]string{"country_iso_code": p.country, "city_name": p.city, "region_name": p.region} {
		if v != "" {
			geo[k] = v
		}
	}
	// ECS's region_iso_code is ISO 3166-2, the country's code first
	// (US-CA); vendors write the subdivision's part alone.
	if rc := p.regionCode; rc != "" {
		if p.country != "" && !strings.Contains(rc, "-") {
			rc = p.country + "-" + rc
		}
		geo["region_iso_code"] = rc
	}
	lat, okLat := coordinate(p.latitude, 90)
	lon, okLon := coordinate(p.longitude, 180)
	if okLat && okLon {
		geo["location"] = map[string]any{"lat": lat, "lon": lon}
	}
	if len(geo) > 0 {
		src["geo"] = geo
	}
	if n, ok := asNumber(p.asn); ok {
		src["as"] = map[string]any{"number": n}
	}
	d.out["source"] = src
	d.relIP = append(d.relIP, p.ip)
}

// coordinate is s as a JSON number when it is one within [-limit, limit]
// (a geo_point's range).
func coordinate(s string, limit float64) (json.Number, bool) {
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') || !json.Valid([]byte(s)) {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < -limit || f > limit {
		return "", false
	}
	return json.Number(s), true
}

// asNumber is an autonomous system's number written as digits, with or
// without an "AS" prefix.
func asNumber(s string) (json.Number, bool) {
	if len(s) > 2 && strings.EqualFold(s[:2], "as") {
		s = s[2:]
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return json.Number(strconv.FormatUint(n, 10)), true
	}
	return "", false
}

// userAgent sets user_agent.original.
func (d *doc) userAgent(ua string) {
	if ua != "" {
		d.out["user_agent"] = map[string]any{"original": ua}
	}
}

// finish completes the document: user (with the name enrich found),
// related, labels and the original event under the vendor's name (or
// enrich's annotations alone, without the original).
func (m *Mapper) finish(d *doc, in map[string]any, vendor string) map[string]any {
	if n := decoded.Str(decoded.Obj(d.annotated, "actor"), "name"); n != "" {
		d.user["name"] = n
	}
	if len(d.user) > 0 {
		d.out["user"] = d.user
	}
	related := map[string]any{}
	if len(d.relIP) > 0 {
		related["ip"] = d.relIP
	}
	if len(d.relUser) > 0 {
		related["user"] = unique(d.relUser)
	}
	if len(related) > 0 {
		d.out["related"] = related
	}
	if l := decoded.Obj(d.annotated, "labels"); l != nil {
		d.out["labels"] = l
	}
	if m.cfg.KeepOriginal {
		d.out[vendor] = in
	} else if d.annotated != nil {
		d.out["auditrelay"] = d.annotated
	}
	return d.out
}

// unique is vs without repeats, in their first order.
func unique(vs []any) []any {
	out := vs[:0:0]
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
