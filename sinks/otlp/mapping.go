package otlp

import (
	"bytes"
	"encoding/json"
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

func (m *mapper) severity(typ string, obj map[string]any) level {
	for _, r := range m.rules {
		if r.matches(typ) {
			return r.lvl
		}
	}
	if ok, isBool := obj["success"].(bool); isBool && !ok {
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
	obj, err := decodeObject(ev.Raw)
	if err != nil {
		// Not a JSON object: keep it intact as a string body.
		obj = nil
	}
	typ := ev.Type
	if typ == "" {
		typ, _ = obj["type"].(string)
		if typ == "" {
			typ, _ = obj["event"].(string) // request logs
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

	if m.structured && obj != nil {
		putMap(lr.Body().SetEmptyMap(), obj)
	} else {
		lr.Body().SetStr(string(ev.Raw))
	}

	a := lr.Attributes()
	a.EnsureCapacity(12)
	putStr(a, "event.name", typ)
	id := ev.ID
	if id == "" {
		id, _ = obj["id"].(string)
	}
	putStr(a, "openai.event.id", id)
	if ev.Schema != "" && ev.Schema != "openai.audit_log" {
		putStr(a, "openai.event.schema", ev.Schema)
	}
	if p, ok := obj["project"].(map[string]any); ok {
		putStr(a, "openai.project.id", str(p["id"]))
		putStr(a, "openai.project.name", str(p["name"]))
	} else {
		putStr(a, "openai.project.id", ev.ProjectID)
	}
	if payload, ok := obj[typ].(map[string]any); ok {
		putStr(a, "openai.resource.id", str(payload["id"]))
		putStr(a, "error.type", str(payload["error_code"]))
	}
	m.actor(a, obj, ev)
}

// actor maps the actor object onto semantic convention attributes where
// they exist and openai.* otherwise.
func (m *mapper) actor(a pcommon.Map, obj map[string]any, ev *pipeline.Event) {
	actor, _ := obj["actor"].(map[string]any)
	if actor == nil {
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
		return
	}
	atype := str(actor["type"])
	putStr(a, "openai.actor.type", atype)
	var user map[string]any
	switch atype {
	case "session":
		s, _ := actor["session"].(map[string]any)
		user, _ = s["user"].(map[string]any)
		putStr(a, "client.address", str(s["ip_address"]))
		putStr(a, "user_agent.original", str(s["user_agent"]))
		putStr(a, "tls.client.ja3", str(s["ja3"]))
		putStr(a, "openai.tls.client.ja4", str(s["ja4"]))
		if g, ok := s["ip_address_details"].(map[string]any); ok {
			putStr(a, "geo.country.iso_code", str(g["country"]))
			putStr(a, "geo.locality.name", str(g["city"]))
			if cc, rc := str(g["country"]), str(g["region_code"]); cc != "" && rc != "" {
				putStr(a, "geo.region.iso_code", cc+"-"+rc)
			}
			putFloat(a, "geo.location.lat", g["latitude"])
			putFloat(a, "geo.location.lon", g["longitude"])
			putStr(a, "openai.client.asn", str(g["asn"]))
		}
	case "api_key":
		k, _ := actor["api_key"].(map[string]any)
		putStr(a, "openai.api_key.id", str(k["id"]))
		putStr(a, "openai.api_key.type", str(k["type"]))
		user, _ = k["user"].(map[string]any)
		if sa, ok := k["service_account"].(map[string]any); ok {
			putStr(a, "openai.service_account.id", str(sa["id"]))
		}
	}
	// Request logs: actor {type: user|organization|api_key, id, name}.
	putStr(a, "openai.actor.id", str(actor["id"]))
	putStr(a, "openai.actor.name", str(actor["name"]))
	if user != nil {
		putStr(a, "user.id", str(user["id"]))
		putStr(a, "user.email", str(user["email"]))
	} else if atype == "session" || atype == "api_key" {
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
	}
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return obj, nil
}

func unixField(obj map[string]any, keys ...string) time.Time {
	for _, k := range keys {
		if n, ok := obj[k].(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				sec := int64(f)
				return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
			}
		}
	}
	return time.Time{}
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

func putStr(a pcommon.Map, k, v string) {
	if v != "" {
		a.PutStr(k, v)
	}
}

// putFloat puts a number that may arrive as a JSON number or a string.
func putFloat(a pcommon.Map, k string, v any) {
	var f float64
	var err error
	switch x := v.(type) {
	case json.Number:
		f, err = x.Float64()
	case string:
		f, err = strconv.ParseFloat(x, 64)
	default:
		return
	}
	if err == nil {
		a.PutDouble(k, f)
	}
}

// putMap copies src into dst with its keys sorted, so that a record's body
// is the same from one run to the next.
func putMap(dst pcommon.Map, src map[string]any) {
	dst.EnsureCapacity(len(src))
	for _, k := range slices.Sorted(maps.Keys(src)) {
		putValue(dst.PutEmpty(k), src[k])
	}
}

func putValue(dst pcommon.Value, v any) {
	switch x := v.(type) {
	case nil:
		// An empty value is OTLP's null.
	case string:
		dst.SetStr(x)
	case bool:
		dst.SetBool(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			dst.SetInt(i)
		} else if f, err := x.Float64(); err == nil {
			dst.SetDouble(f)
		} else {
			dst.SetStr(x.String())
		}
	case map[string]any:
		putMap(dst.SetEmptyMap(), x)
	case []any:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(x))
		for _, e := range x {
			putValue(s.AppendEmpty(), e)
		}
	default:
		dst.SetStr(fmt.Sprint(x))
	}
}
