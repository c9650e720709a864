package ecs

import (
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// openaiRules classify OpenAI's audit-log types and the request log's
// events (whose organization.* events name the same families, read without
// that prefix), first match winning. A sign-in is authentication, not an
// IAM change: one that succeeded starts a session, one that failed starts
// none. Who can do what (users, invitations, groups, roles) is iam; keys,
// service accounts, certificates, allow-lists, SSO and SCIM are both iam
// and configuration; the organization's and its projects' settings are
// configuration; a call to the API is api access.
var openaiRules = []rule{
	{match: []string{"login.failed"}, class: class{categories: []string{"authentication"}, types: []string{"start"}}},
	{match: []string{"login.*"}, class: class{categories: []string{"authentication", "session"}, types: []string{"start"}}},
	{match: []string{"logout.*"}, class: class{categories: []string{"authentication", "session"}, types: []string{"end"}}},
	{match: []string{"tenant.session_revocation.*"}, class: class{categories: []string{"session"}, types: []string{"end"}}},
	{match: []string{"user.*", "invite.*", "tenant.user.*"}, class: class{categories: []string{"iam"}, types: []string{"user"}}, verb: true},
	{match: []string{"group.*", "tenant.group.*"}, class: class{categories: []string{"iam"}, types: []string{"group"}}, verb: true},
	{match: []string{"role.*"}, class: class{categories: []string{"iam"}, types: []string{"admin"}}, verb: true},
	{match: []string{"api_key.*", "service_account.*", "project.api_key.*", "project.service_account.*", "certificate.*",
		"certificates.*", "ip_allowlist.*", "scim.*", "external_key.*", "workload_identity_provider*", "tenant.admin_api_key.*",
		"tenant.sso_connection.*", "tenant.policy.*", "checkpoint.permission.*"},
		class: class{categories: []string{"iam", "configuration"}}, verb: true},
	{match: []string{"organization.updated", "project.*", "rate_limit.*", "tunnel.*", "tenant.*"},
		class: class{categories: []string{"configuration"}}, verb: true},
}

// apiCall is the class of a request log's call to the API.
var apiCall = class{categories: []string{"api"}, types: []string{"access"}}

// openai maps an event of OpenAI's audit log or request log (schema says
// which, or the event's keys when it was not recorded).
func (m *Mapper) openai(raw []byte, in map[string]any, schema string) map[string]any {
	h := mapping.Read(raw, in, schema)
	f := h.Fields
	// A request log's organization.* events name the audit log's families;
	// organization.updated stays itself.
	name := h.Type
	if rest, ok := strings.CutPrefix(name, "organization."); ok && strings.Contains(rest, ".") {
		name = rest
	}
	c, known := classify(openaiRules, name)
	if !known && h.RequestLog && !strings.HasPrefix(h.Type, "organization.") {
		c, known = apiCall, true
	}
	hd := head{vendor: "openai", dataset: "openai.audit", id: decoded.Str(in, "id"), action: h.Type,
		time: time.Unix(h.Time, 0), class: c, known: known, failed: h.Failed, level: openai.Severity(nil, h.Type, h.Failed),
		observer: map[string]any{"vendor": "OpenAI", "product": "API Platform", "type": "audit"}}
	var code, msg string
	if h.Failed && !h.RequestLog {
		code, msg = f.PayloadError()
		hd.message = msg
	}
	d := m.begin(in, hd)
	if code != "" {
		d.out["error"] = map[string]any{"code": code, "message": msg}
	}
	a := f.Actor()
	switch {
	case h.RequestLog && a.Kind == "organization":
		// The organization acted (its own automation): it is no user.
		org := map[string]any{"id": a.RequestID}
		if a.Name != "" {
			org["name"] = a.Name
		}
		d.out["organization"] = org
	case h.RequestLog:
		d.addUser("id", a.RequestID)
		if a.Name != "" {
			d.user["name"] = a.Name
		}
	default:
		// A service account's key stands for the account, not a person.
		id, email := a.UserID, a.Email
		if a.IsServiceAccount() {
			id, email = a.ServiceAccountID, ""
		}
		d.addUser("id", id)
		d.addUser("email", email)
		cl := f.Client()
		d.source(place{ip: cl.IP, country: cl.Country, regionCode: cl.RegionCode, region: cl.Region, city: cl.City,
			latitude: cl.Latitude, longitude: cl.Longitude, asn: cl.ASN})
		d.userAgent(cl.UserAgent)
		if cl.JA3 != "" {
			d.out["tls"] = map[string]any{"client": map[string]any{"ja3": cl.JA3}}
		}
	}
	d.target(f.TargetUser(h.RequestLog), "")
	if id, name := f.Project(); id != "" || name != "" {
		d.out["cloud"] = map[string]any{"provider": "openai", "project": map[string]any{"id": id, "name": name}}
	}
	return m.finish(d, in, "openai")
}
