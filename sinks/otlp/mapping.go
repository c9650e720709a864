package otlp

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditrelay/auditrelay/pipeline"
)

// ScopeName is the instrumentation scope of every record.
const ScopeName = "auditrelay"

// level is an OTLP severity: its number and text.
type level struct {
	num  plog.SeverityNumber
	text string
}

var levelBase = map[string]plog.SeverityNumber{
	"TRACE": plog.SeverityNumberTrace, "DEBUG": plog.SeverityNumberDebug, "INFO": plog.SeverityNumberInfo,
	"WARN": plog.SeverityNumberWarn, "ERROR": plog.SeverityNumberError, "FATAL": plog.SeverityNumberFatal,
}

// parseLevel parses TRACE..FATAL, optionally followed by 2, 3 or 4
// (INFO2 = severity number 10), case-insensitively.
func parseLevel(s string) (level, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	name, step := u, 0
	if n := len(u); n > 1 && u[n-1] >= '2' && u[n-1] <= '4' {
		name, step = u[:n-1], int(u[n-1]-'1')
	}
	base, ok := levelBase[name]
	if !ok {
		return level{}, fmt.Errorf("unknown severity %q (want TRACE, DEBUG, INFO, WARN, ERROR or FATAL, optionally suffixed 2-4)", s)
	}
	return level{num: base + plog.SeverityNumber(step), text: u}, nil
}

// DefaultSeverityRules is the built-in severity table, tried after the
// configured rules: failures and destructive changes rank above changes to
// access control, which rank above routine activity (default_severity).
var DefaultSeverityRules = []SeverityRule{
	{Match: "*.failed", Level: "WARN"},
	{Match: "*.deleted", Level: "WARN"},
	{Match: "*.removed", Level: "WARN"},
	{Match: "*.archived", Level: "WARN"},
	{Match: "*.disabled", Level: "WARN"},
	{Match: "*.deactivated", Level: "WARN"},
	{Match: "*.unbound_from_resource", Level: "WARN"},
	{Match: "tenant.session_revocation.*", Level: "WARN"},
	{Match: "api_key.*", Level: "INFO2"},
	{Match: "tenant.admin_api_key.*", Level: "INFO2"},
	{Match: "certificate.*", Level: "INFO2"},
	{Match: "certificates.*", Level: "INFO2"},
	{Match: "external_key.*", Level: "INFO2"},
	{Match: "ip_allowlist.*", Level: "INFO2"},
	{Match: "role.*", Level: "INFO2"},
	{Match: "scim.*", Level: "INFO2"},
	{Match: "service_account.*", Level: "INFO2"},
	{Match: "user.*", Level: "INFO2"},
	{Match: "invite.*", Level: "INFO2"},
	{Match: "organization.updated", Level: "INFO2"},
	{Match: "workload_identity_provider.*", Level: "INFO2"},
	{Match: "workload_identity_provider_mapping.*", Level: "INFO2"},
	{Match: "tenant.sso_connection.*", Level: "INFO2"},
	{Match: "tenant.policy.*", Level: "INFO2"},
}

type rule struct {
	match string
	lvl   level
}

func (r rule) matches(typ string) bool {
	switch {
	case r.match == "*":
		return true
	case strings.HasPrefix(r.match, "*."):
		return strings.HasSuffix(typ, r.match[1:])
	case strings.HasSuffix(r.match, ".*"):
		return strings.HasPrefix(typ, r.match[:len(r.match)-1])
	}
	return typ == r.match
}

// mapper turns events into log records. It is immutable after newMapper and
// safe for concurrent use.
type mapper struct {
	rules      []rule
	def        level
	fail       level // request logs with "success": false
	structured bool
	service    string
	resAttrs   map[string]string
	now        func() time.Time
}

func newMapper(c *Config) (*mapper, error) {
	m := &mapper{structured: c.Body != "string", service: c.ServiceName, resAttrs: c.ResourceAttributes, now: time.Now}
	var err error
	if m.def, err = parseLevel(c.DefaultSeverity); err != nil {
		return nil, fmt.Errorf("default_severity: %w", err)
	}
	m.fail, _ = parseLevel("WARN")
	for _, list := range [][]SeverityRule{c.Severity, DefaultSeverityRules} {
		for _, r := range list {
			l, err := parseLevel(r.Level)
			if err != nil {
				return nil, fmt.Errorf("severity %q: %w", r.Match, err)
			}
			m.rules = append(m.rules, rule{r.Match, l})
		}
	}
	return m, nil
}

func (m *mapper) severity(typ string, obj pcommon.Map) level {
	for _, r := range m.rules {
		if r.matches(typ) {
			return r.lvl
		}
	}
	if v, ok := obj.Get("success"); ok && v.Type() == pcommon.ValueTypeBool && !v.Bool() {
		return m.fail
	}
	return m.def
}

// logs builds one plog.Logs holding evs, all from source.
func (m *mapper) logs(source string, evs []pipeline.Event) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.EnsureCapacity(2 + len(m.resAttrs))
	ra.PutStr("service.name", m.service)
	for _, k := range slices.Sorted(maps.Keys(m.resAttrs)) {
		ra.PutStr(k, m.resAttrs[k])
	}
	ra.PutStr("auditrelay.source.name", source)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(ScopeName)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(evs))
	for i := range evs {
		m.record(lrs.AppendEmpty(), &evs[i])
	}
	return ld
}

// record fills lr from ev. It reads ev.Raw and never changes ev.
func (m *mapper) record(lr plog.LogRecord, ev *pipeline.Event) {
	// The event object, decoded once: it is the body, or (body: string) a
	// scratch map the attributes are read from.
	var obj pcommon.Map
	if m.structured {
		obj = lr.Body().SetEmptyMap()
	} else {
		obj = pcommon.NewMap()
	}
	// One copy of the event's text: the body's strings are slices of it.
	raw := string(ev.Raw)
	if err := parseObject(raw, obj); err != nil {
		// Not a JSON object: keep it intact as a string body.
		obj = pcommon.NewMap()
		lr.Body().SetStr(raw)
	} else if !m.structured {
		lr.Body().SetStr(raw)
	}
	typ := ev.Type
	if typ == "" {
		typ = getStr(obj, "type")
		if typ == "" {
			typ = getStr(obj, "event") // request logs
		}
	}
	t := ev.Time
	if t.IsZero() {
		t = unixField(obj, "effective_at", "created_at")
	}
	if !t.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
	}
	observed := ev.ObservedAt
	if observed.IsZero() {
		observed = m.now()
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	lvl := m.severity(typ, obj)
	lr.SetSeverityNumber(lvl.num)
	lr.SetSeverityText(lvl.text)
	lr.SetEventName(typ)

	a := lr.Attributes()
	a.EnsureCapacity(20) // a session event with full geo details has 19
	putStr(a, "event.name", typ)
	id := ev.ID
	if id == "" {
		id = getStr(obj, "id")
	}
	putStr(a, "openai.event.id", id)
	if ev.Schema != "" && ev.Schema != "openai.audit_log" {
		putStr(a, "openai.event.schema", ev.Schema)
	}
	if p, ok := getMap(obj, "project"); ok {
		putStr(a, "openai.project.id", getStr(p, "id"))
		putStr(a, "openai.project.name", getStr(p, "name"))
	} else {
		putStr(a, "openai.project.id", ev.ProjectID)
	}
	if payload, ok := getMap(obj, typ); ok {
		putStr(a, "openai.resource.id", getStr(payload, "id"))
		putStr(a, "error.type", getStr(payload, "error_code"))
	}
	m.actor(a, obj, ev)
}

// actor maps the actor object onto semantic convention attributes where
// they exist and openai.* otherwise.
func (m *mapper) actor(a, obj pcommon.Map, ev *pipeline.Event) {
	actor, ok := getMap(obj, "actor")
	if !ok {
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
		return
	}
	atype := getStr(actor, "type")
	putStr(a, "openai.actor.type", atype)
	var user pcommon.Map
	hasUser := false
	switch atype {
	case "session":
		s, _ := getMap(actor, "session")
		user, hasUser = getMap(s, "user")
		putStr(a, "client.address", getStr(s, "ip_address"))
		putStr(a, "user_agent.original", getStr(s, "user_agent"))
		putStr(a, "tls.client.ja3", getStr(s, "ja3"))
		putStr(a, "openai.tls.client.ja4", getStr(s, "ja4"))
		if g, ok := getMap(s, "ip_address_details"); ok {
			cc := getStr(g, "country")
			putStr(a, "geo.country.iso_code", cc)
			putStr(a, "geo.locality.name", getStr(g, "city"))
			if rc := getStr(g, "region_code"); cc != "" && rc != "" {
				putStr(a, "geo.region.iso_code", cc+"-"+rc)
			}
			putFloat(a, "geo.location.lat", g, "latitude")
			putFloat(a, "geo.location.lon", g, "longitude")
			putStr(a, "openai.client.asn", getStr(g, "asn"))
		}
	case "api_key":
		k, _ := getMap(actor, "api_key")
		putStr(a, "openai.api_key.id", getStr(k, "id"))
		putStr(a, "openai.api_key.type", getStr(k, "type"))
		user, hasUser = getMap(k, "user")
		if sa, ok := getMap(k, "service_account"); ok {
			putStr(a, "openai.service_account.id", getStr(sa, "id"))
		}
	}
	// Request logs: actor {type: user|organization|api_key, id, name}.
	putStr(a, "openai.actor.id", getStr(actor, "id"))
	putStr(a, "openai.actor.name", getStr(actor, "name"))
	if hasUser {
		putStr(a, "user.id", getStr(user, "id"))
		putStr(a, "user.email", getStr(user, "email"))
	} else if atype == "session" || atype == "api_key" {
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
	}
}

// getMap returns m[k] when it is a map. A zero m (absent parent) is empty.
func getMap(m pcommon.Map, k string) (pcommon.Map, bool) {
	if m == (pcommon.Map{}) {
		return m, false
	}
	v, ok := m.Get(k)
	if !ok || v.Type() != pcommon.ValueTypeMap {
		return pcommon.Map{}, false
	}
	return v.Map(), true
}

// getStr returns m[k] as a string when it is a string or a number.
func getStr(m pcommon.Map, k string) string {
	if m == (pcommon.Map{}) {
		return ""
	}
	v, ok := m.Get(k)
	if !ok {
		return ""
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble:
		return v.AsString()
	}
	return ""
}

func unixField(obj pcommon.Map, keys ...string) time.Time {
	for _, k := range keys {
		v, ok := obj.Get(k)
		if !ok {
			continue
		}
		switch v.Type() {
		case pcommon.ValueTypeInt:
			return time.Unix(v.Int(), 0).UTC()
		case pcommon.ValueTypeDouble:
			f := v.Double()
			sec := int64(f)
			return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
		}
	}
	return time.Time{}
}

func putStr(a pcommon.Map, k, v string) {
	if v != "" {
		a.PutStr(k, v)
	}
}

// putFloat puts m[key], a number that may arrive as a JSON number or a
// string, as a double.
func putFloat(a pcommon.Map, k string, m pcommon.Map, key string) {
	v, ok := m.Get(key)
	if !ok {
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		a.PutDouble(k, v.Double())
	case pcommon.ValueTypeInt:
		a.PutDouble(k, float64(v.Int()))
	case pcommon.ValueTypeStr:
		if f, err := strconv.ParseFloat(v.Str(), 64); err == nil {
			a.PutDouble(k, f)
		}
	}
}
