package ecs

import (
	"time"

	"github.com/auditrelay/auditrelay/schema/chatgpt"
)

// chatgptRules classify ChatGPT's compliance records by their type and
// sub-type joined by a dot (AUTH_LOG.login_failed,
// AUDIT_LOG.USER_ROLE_UPDATED, CUSTOM_AGENTS_LOG.AGENT_PUBLISHED: the
// names schema/chatgpt's severity rules match), first match winning. A
// type's bare name (AUDIT_LOG) is its record without a sub-type. Sign-ins
// are authentication; the admin console's actions on people, groups and
// roles are iam, on keys and sign-in settings iam and configuration, on
// the rest of the workspace configuration; reading the compliance logs and
// exports are api access; what people and agents do with the models
// (messages, app calls, Codex, agent runs) is api activity; Codex's
// security findings are vulnerability information.
var chatgptRules = []rule{
	{match: []string{"AUTH_LOG.login_failed"}, class: class{categories: []string{"authentication"}, types: []string{"start"}}},
	{match: []string{"AUTH_LOG.login_*"}, class: class{categories: []string{"authentication", "session"}, types: []string{"start"}}},
	{match: []string{"AUTH_LOG.logout_*"}, class: class{categories: []string{"authentication", "session"}, types: []string{"end"}}},
	{match: []string{"AUTH_LOG", "AUTH_LOG.*"}, class: class{categories: []string{"authentication"}, types: []string{"info"}}},

	{match: []string{"AUDIT_LOG.*LOG_FILE*", "AUDIT_LOG.*EXPORT*"}, class: class{categories: []string{"api"}, types: []string{"access"}}},
	{match: []string{"AUDIT_LOG.INVITE_*", "AUDIT_LOG.USER_*"}, class: class{categories: []string{"iam"}, types: []string{"user"}}, verb: true},
	{match: []string{"AUDIT_LOG.*GROUP*"}, class: class{categories: []string{"iam"}, types: []string{"group"}}, verb: true},
	{match: []string{"AUDIT_LOG.*ROLE*", "AUDIT_LOG.*OWNER*"}, class: class{categories: []string{"iam"}, types: []string{"admin"}}, verb: true},
	{match: []string{"AUDIT_LOG.*API_KEY*", "AUDIT_LOG.*SSO*", "AUDIT_LOG.*SAML*", "AUDIT_LOG.*SCIM*", "AUDIT_LOG.*DOMAIN*",
		"AUDIT_LOG.*IP_ALLOWLIST*"}, class: class{categories: []string{"iam", "configuration"}}, verb: true},
	{match: []string{"AUDIT_LOG", "AUDIT_LOG.*"}, class: class{categories: []string{"configuration"}}, verb: true},

	// Linking an app lets it act for the person: an application added
	// to (or removed from) what may sign in for them.
	{match: []string{"APP_AUTH_LOG", "APP_AUTH_LOG.*"}, class: class{categories: []string{"iam"}, types: []string{"admin"}}, verb: true},
	{match: []string{"APP_LOG", "APP_LOG.*"}, class: class{categories: []string{"api"}, types: []string{"access"}}},
	{match: []string{"CONVERSATION_MESSAGE", "CONVERSATION_MESSAGE.*"}, class: class{categories: []string{"api"}, types: []string{"info"}}},

	{match: []string{"CODEX_LOG.*TOKEN_CREATED"}, class: class{categories: []string{"iam"}, types: []string{"creation"}}},
	{match: []string{"CODEX_LOG.APP_MCP_CALL"}, class: class{categories: []string{"api"}, types: []string{"access"}}},
	{match: []string{"CODEX_LOG", "CODEX_LOG.*"}, class: class{categories: []string{"api"}, types: []string{"info"}}},

	{match: []string{"CODEX_SECURITY_LOG.SCAN_CONFIGURATION_*"}, class: class{categories: []string{"configuration"}}, verb: true},
	{match: []string{"CODEX_SECURITY_LOG", "CODEX_SECURITY_LOG.*"}, class: class{categories: []string{"vulnerability"}, types: []string{"info"}}},

	{match: []string{"CUSTOM_AGENTS_LOG.AGENT_CREATED", "CUSTOM_AGENTS_LOG.AGENT_UPDATED", "CUSTOM_AGENTS_LOG.AGENT_PUBLISHED",
		"CUSTOM_AGENTS_LOG.AGENT_DELETED", "CUSTOM_AGENTS_LOG.TRIGGER_*"}, class: class{categories: []string{"configuration"}}, verb: true},
	{match: []string{"CUSTOM_AGENTS_LOG.AGENT_RUN_CREATED"}, class: class{categories: []string{"api"}, types: []string{"start"}}},
	{match: []string{"CUSTOM_AGENTS_LOG.AGENT_RUN_COMPLETED", "CUSTOM_AGENTS_LOG.AGENT_RUN_FAILED"}, class: class{categories: []string{"api"}, types: []string{"end"}}},
	{match: []string{"CUSTOM_AGENTS_LOG.MEMORY_READ", "CUSTOM_AGENTS_LOG.CONNECTOR_CALL_*", "CUSTOM_AGENTS_LOG.SKILL_USED"},
		class: class{categories: []string{"api"}, types: []string{"access"}}},
	{match: []string{"CUSTOM_AGENTS_LOG.MEMORY_*"}, class: class{categories: []string{"api"}}, verb: true},
	// The agent was handed a connector's credentials.
	{match: []string{"CUSTOM_AGENTS_LOG.CONNECTOR_OAUTH_*"}, class: class{categories: []string{"authentication"}, types: []string{"info"}}},
	{match: []string{"CUSTOM_AGENTS_LOG", "CUSTOM_AGENTS_LOG.*"}, class: class{categories: []string{"api"}, types: []string{"info"}}},
}

// chatgpt maps a ChatGPT compliance record.
func (m *Mapper) chatgpt(raw []byte, in map[string]any) map[string]any {
	f, _ := chatgpt.ReadObject(raw)
	name, sub := f.Type(), f.SubType()
	if sub != "" {
		name += "." + sub
	}
	c, known := classify(chatgptRules, name)
	t, err := f.Time()
	if err != nil {
		t = time.Unix(0, 0)
	}
	d := m.begin(in, head{vendor: "chatgpt", dataset: "chatgpt.compliance", id: f.ID(), action: name, time: t,
		class: c, known: known, failed: f.Failure(), level: f.Severity(nil),
		observer: map[string]any{"vendor": "OpenAI", "product": "ChatGPT Enterprise", "type": "audit"}})
	a := f.Actor()
	switch a.Kind {
	case chatgpt.ActorUser:
		d.addUser("id", a.UserID)
		d.addUser("email", a.Email)
	case chatgpt.ActorAPIKey:
		d.addUser("id", a.KeyID)
	case chatgpt.ActorAgent:
		// The agent acted with the rights of the person it ran for: ECS's
		// effective user.
		d.addUser("id", a.AgentID)
		if a.AgentName != "" {
			d.user["name"] = a.AgentName
		}
		if eff := d.person(a.DelegatorID, a.DelegatorEmail); eff != nil {
			d.user["effective"] = eff
		}
	}
	d.target(f.TargetUser())
	cl := f.Client()
	d.source(place{ip: cl.IP, country: cl.Country, regionCode: cl.RegionCode, region: cl.Region, city: cl.City,
		latitude: cl.Latitude, longitude: cl.Longitude, asn: cl.ASN})
	d.userAgent(cl.UserAgent)
	if cl.JA3 != "" {
		d.out["tls"] = map[string]any{"client": map[string]any{"ja3": cl.JA3}}
	}
	if cl.DestinationHost != "" {
		d.out["destination"] = map[string]any{"domain": cl.DestinationHost}
	}
	if ws := f.WorkspaceID(); ws != "" {
		d.out["organization"] = map[string]any{"id": ws}
	}
	return m.finish(d, in, "chatgpt")
}
