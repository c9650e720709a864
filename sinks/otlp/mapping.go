package otlp

import (
	"maps"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/openai"
)

// ScopeName is the instrumentation scope of every record.
const ScopeName = "auditrelay"

// severityNumbers place the levels of the one severity table on OTLP's
// scale: routine activity is INFO, what a security team should see is in
// the WARN range, and only a level a user raised to critical reaches
// ERROR. The record's severity text is the level itself ("high"), as the
// OTLP data model asks for the source's own name.
var severityNumbers = map[openai.Level]plog.SeverityNumber{
	openai.Info:     plog.SeverityNumberInfo,
	openai.Low:      plog.SeverityNumberInfo2,
	openai.Medium:   plog.SeverityNumberWarn,
	openai.High:     plog.SeverityNumberWarn2,
	openai.Critical: plog.SeverityNumberError,
}

// mapper turns events into log records. It is immutable after newMapper and
// safe for concurrent use.
type mapper struct {
	structured bool
	service    string
	resAttrs   map[string]string
}

func newMapper(c *Config) *mapper {
	return &mapper{structured: c.Body != "string", service: c.ServiceName, resAttrs: c.ResourceAttributes}
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

// record fills lr from ev. It reads ev.Raw and never changes ev. The body
// is the event object (or, with body: string or for bytes that are not a
// JSON object, its text); the attributes come from the schema package of
// the event's vendor, which the event's schema names: schema/anthropic
// for an Anthropic activity, schema/chatgpt for a ChatGPT compliance
// record, schema/openai otherwise. Every record names its vendor
// (auditrelay.vendor) and its type (event.name) alike.
func (m *mapper) record(lr plog.LogRecord, ev *pipeline.Event) {
	switch ev.Schema {
	case anthropic.Schema:
		m.activity(lr, ev)
	case chatgpt.Schema:
		m.complianceRecord(lr, ev)
	default:
		m.openAIEvent(lr, ev)
	}
}

// body sets lr's body to the event object, or to its text with body:
// string or for bytes that are not a JSON object.
func (m *mapper) body(lr plog.LogRecord, ev *pipeline.Event) {
	if !m.structured || parseObject(ev.Raw, lr.Body().SetEmptyMap()) != nil {
		lr.Body().SetStr(string(ev.Raw))
	}
}

// head fills what every vendor's record has alike: its times, its level
// lvl, its type and vendor, and the event's id under idKey. It returns the
// attributes, with room for size.
func head(lr plog.LogRecord, ev *pipeline.Event, lvl openai.Level, idKey string, size int) pcommon.Map {
	if !ev.Time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.ObservedAt))
	lr.SetSeverityNumber(severityNumbers[lvl])
	lr.SetSeverityText(string(lvl))
	lr.SetEventName(ev.Type)
	a := lr.Attributes()
	a.EnsureCapacity(size)
	putStr(a, "event.name", ev.Type)
	putStr(a, "auditrelay.vendor", ev.Vendor())
	putStr(a, idKey, ev.ID)
	return a
}

// openAIEvent fills lr from an OpenAI audit log or request log, or an
// event a transform mapped to a schema no vendor owns.
func (m *mapper) openAIEvent(lr plog.LogRecord, ev *pipeline.Event) {
	var f openai.Fields
	var notObject error
	if m.structured && parseObject(ev.Raw, lr.Body().SetEmptyMap()) == nil {
		f = openai.Read(ev.Raw, ev.Type)
	} else {
		lr.Body().SetStr(string(ev.Raw))
		f, notObject = openai.ReadObject(ev.Raw, ev.Type)
	}
	a := head(lr, ev, severity(ev, &f), "openai.event.id", 21) // a session event with full geo details has 20
	if ev.Schema != "" && ev.Schema != openai.SchemaAuditLog {
		putStr(a, "openai.event.schema", ev.Schema)
	}
	if notObject != nil {
		putStr(a, "openai.project.id", ev.ProjectID)
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
		return
	}
	id, name := f.Project()
	putStr(a, "openai.project.id", id)
	putStr(a, "openai.project.name", name)
	putStr(a, "openai.resource.id", f.PayloadID())
	code, _ := f.PayloadError()
	putStr(a, "error.type", code)
	actor(a, &f, ev)
}

// severity is the level enrich annotated the event with (which honours the
// user's overrides), else the level of its type in the one table.
func severity(ev *pipeline.Event, f *openai.Fields) openai.Level {
	if l := f.AnnotatedSeverity(); l != "" {
		return l
	}
	return openai.Severity(nil, ev.Type, f.Failed())
}

// actor maps the actor onto semantic convention attributes where they
// exist and openai.* otherwise.
func actor(a pcommon.Map, f *openai.Fields, ev *pipeline.Event) {
	act := f.Actor()
	if act.Kind == "" {
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
		return
	}
	putStr(a, "openai.actor.type", act.Kind)
	switch act.Kind {
	case "session":
		c := f.Client()
		putClient(a, openAIClientKeys, client{ip: c.IP, userAgent: c.UserAgent, ja3: c.JA3, ja4: c.JA4, country: c.Country, city: c.City,
			regionCode: c.RegionCode, latitude: c.Latitude, longitude: c.Longitude, asn: c.ASN})
	case "api_key":
		putStr(a, "openai.api_key.id", act.KeyID)
		putStr(a, "openai.api_key.type", act.KeyKind)
		putStr(a, "openai.service_account.id", act.ServiceAccountID)
	}
	// Request logs: actor {type: user|organization|api_key, id, name}.
	putStr(a, "openai.actor.id", act.RequestID)
	putStr(a, "openai.actor.name", act.Name)
	if act.Kind != "session" && act.Kind != "api_key" {
		return
	}
	if act.UserID != "" || act.Email != "" {
		putStr(a, "user.id", act.UserID)
		putStr(a, "user.email", act.Email)
	} else {
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
	}
}

// activity fills lr from an Anthropic compliance activity: its id, its
// organization, and its actor by kind, onto semantic convention
// attributes where they exist (user.id, user.email, client.address,
// user_agent.original) and anthropic.* otherwise.
func (m *mapper) activity(lr plog.LogRecord, ev *pipeline.Event) {
	m.body(lr, ev)
	f, notObject := anthropic.ReadObject(ev.Raw)
	lvl := f.AnnotatedSeverity()
	if lvl == "" {
		lvl = anthropic.Severity(nil, ev.Type, f.Failed())
	}
	a := head(lr, ev, lvl, "anthropic.event.id", 10)
	if notObject != nil {
		putStr(a, "anthropic.organization.id", ev.ProjectID)
		putStr(a, "user.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
		return
	}
	putStr(a, "anthropic.organization.id", f.OrganizationID())
	act := f.Actor()
	putStr(a, "anthropic.actor.type", act.Kind)
	putStr(a, "anthropic.actor.id", act.ID())
	putStr(a, "user.id", act.UserID)
	putStr(a, "user.email", act.Email)
	putStr(a, "client.address", act.IP)
	putStr(a, "user_agent.original", act.UserAgent)
}

// complianceRecord fills lr from a ChatGPT compliance record, read with
// schema/chatgpt: its id, its sub-type (what the coarse type does not
// say: the audit action, the sign-in's action, the Codex or agent event),
// the action's result, the workspace, the actor by kind onto semantic
// convention attributes where they exist (user.* for the person, also
// the person an agent acted for; gen_ai.agent.* for the agent) and
// chatgpt.* otherwise, and where the request came from.
func (m *mapper) complianceRecord(lr plog.LogRecord, ev *pipeline.Event) {
	m.body(lr, ev)
	f, notObject := chatgpt.ReadObject(ev.Raw)
	lvl := f.AnnotatedSeverity()
	if lvl == "" {
		lvl = chatgpt.Severity(nil, ev.Type, f.SubType(), f.ActionResult())
	}
	a := head(lr, ev, lvl, "chatgpt.event.id", 24) // an agent's record, or a record with full client details
	if notObject != nil {
		putStr(a, "chatgpt.workspace.id", ev.ProjectID)
		putStr(a, "chatgpt.actor.id", ev.ActorID)
		putStr(a, "user.email", ev.ActorEmail)
		return
	}
	putStr(a, "chatgpt.event.sub_type", f.SubType())
	putStr(a, "chatgpt.action.result", f.ActionResult())
	putStr(a, "chatgpt.workspace.id", f.WorkspaceID())
	act := f.Actor()
	putStr(a, "chatgpt.actor.type", act.Kind)
	putStr(a, "chatgpt.actor.id", act.ID())
	switch act.Kind {
	case chatgpt.ActorUser:
		putStr(a, "user.id", act.UserID)
		putStr(a, "user.email", act.Email)
	case chatgpt.ActorAPIKey:
		putStr(a, "chatgpt.api_key.id", act.KeyID)
	case chatgpt.ActorAgent:
		putStr(a, "gen_ai.agent.id", act.AgentID)
		putStr(a, "gen_ai.agent.name", act.AgentName)
		putStr(a, "chatgpt.agent.runtime.id", act.RuntimeID)
		putStr(a, "user.id", act.DelegatorID)
		putStr(a, "user.email", act.DelegatorEmail)
	}
	c := f.Client()
	putClient(a, chatGPTClientKeys, client{ip: c.IP, userAgent: c.UserAgent, ja3: c.JA3, ja4: c.JA4, country: c.Country, city: c.City,
		regionCode: c.RegionCode, latitude: c.Latitude, longitude: c.Longitude, asn: c.ASN})
	putStr(a, "server.address", c.DestinationHost)
}

// client is where a request came from, as a vendor's reader gives it.
type client struct {
	ip, userAgent, ja3, ja4                        string
	country, city, regionCode, latitude, longitude string
	asn                                            string
}

// clientKeys are the attributes of what no semantic convention names,
// under the vendor's prefix.
type clientKeys struct{ ja4, asn string }

var (
	openAIClientKeys  = clientKeys{ja4: "openai.tls.client.ja4", asn: "openai.client.asn"}
	chatGPTClientKeys = clientKeys{ja4: "chatgpt.tls.client.ja4", asn: "chatgpt.client.asn"}
)

// putClient maps c onto semantic convention attributes, and onto keys
// where there is none (the JA4 fingerprint, the AS number).
func putClient(a pcommon.Map, keys clientKeys, c client) {
	putStr(a, "client.address", c.ip)
	putStr(a, "user_agent.original", c.userAgent)
	putStr(a, "tls.client.ja3", c.ja3)
	putStr(a, keys.ja4, c.ja4)
	putStr(a, "geo.country.iso_code", c.country)
	putStr(a, "geo.locality.name", c.city)
	if c.country != "" && c.regionCode != "" {
		putStr(a, "geo.region.iso_code", c.country+"-"+c.regionCode)
	}
	putFloat(a, "geo.location.lat", c.latitude)
	putFloat(a, "geo.location.lon", c.longitude)
	putStr(a, keys.asn, c.asn)
}

func putStr(a pcommon.Map, k, v string) {
	if v != "" {
		a.PutStr(k, v)
	}
}

// putFloat puts a number's text as a double.
func putFloat(a pcommon.Map, k, v string) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		a.PutDouble(k, f)
	}
}
