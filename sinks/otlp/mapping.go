package otlp

import (
	"maps"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
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
// the event's vendor: schema/anthropic for an Anthropic activity,
// schema/openai otherwise. Every record names its vendor
// (auditrelay.vendor) and its type (event.name) alike.
func (m *mapper) record(lr plog.LogRecord, ev *pipeline.Event) {
	if ev.Schema == anthropic.Schema {
		m.activity(lr, ev)
		return
	}
	var f openai.Fields
	var notObject error
	if m.structured && parseObject(ev.Raw, lr.Body().SetEmptyMap()) == nil {
		f = openai.Read(ev.Raw, ev.Type)
	} else {
		lr.Body().SetStr(string(ev.Raw))
		f, notObject = openai.ReadObject(ev.Raw, ev.Type)
	}
	if !ev.Time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.ObservedAt))
	lvl := severity(ev, &f)
	lr.SetSeverityNumber(severityNumbers[lvl])
	lr.SetSeverityText(string(lvl))
	lr.SetEventName(ev.Type)

	a := lr.Attributes()
	a.EnsureCapacity(21) // a session event with full geo details has 20
	putStr(a, "event.name", ev.Type)
	putStr(a, "auditrelay.vendor", ev.Vendor())
	putStr(a, "openai.event.id", ev.ID)
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
		putStr(a, "client.address", c.IP)
		putStr(a, "user_agent.original", c.UserAgent)
		putStr(a, "tls.client.ja3", c.JA3)
		putStr(a, "openai.tls.client.ja4", c.JA4)
		putStr(a, "geo.country.iso_code", c.Country)
		putStr(a, "geo.locality.name", c.City)
		if c.Country != "" && c.RegionCode != "" {
			putStr(a, "geo.region.iso_code", c.Country+"-"+c.RegionCode)
		}
		putFloat(a, "geo.location.lat", c.Latitude)
		putFloat(a, "geo.location.lon", c.Longitude)
		putStr(a, "openai.client.asn", c.ASN)
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
	if !m.structured || parseObject(ev.Raw, lr.Body().SetEmptyMap()) != nil {
		lr.Body().SetStr(string(ev.Raw))
	}
	f, notObject := anthropic.ReadObject(ev.Raw)
	if !ev.Time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.ObservedAt))
	lvl := f.AnnotatedSeverity()
	if lvl == "" {
		lvl = anthropic.Severity(nil, ev.Type, f.Failed())
	}
	lr.SetSeverityNumber(severityNumbers[lvl])
	lr.SetSeverityText(string(lvl))
	lr.SetEventName(ev.Type)

	a := lr.Attributes()
	a.EnsureCapacity(10)
	putStr(a, "event.name", ev.Type)
	putStr(a, "auditrelay.vendor", ev.Vendor())
	putStr(a, "anthropic.event.id", ev.ID)
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
