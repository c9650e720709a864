package openai

import "github.com/auditrelay/auditrelay/schema/severity"

// Level is the severity of an event type: info, low, medium, high or
// critical (OCSF's scale; ID gives its severity_id). It is
// severity.Level, the one scale of every vendor.
type Level = severity.Level

// The levels, from routine to alarming.
const (
	Info     = severity.Info
	Low      = severity.Low
	Medium   = severity.Medium
	High     = severity.High
	Critical = severity.Critical
)

// Rule gives a level to the event types matching a pattern (pipeline.Match).
type Rule = severity.Rule

// Severities is the one severity table of OpenAI's event types (both logs:
// request-log events are organization.*), tried in order, the first match
// winning: who can get in and what they may do (access, keys, roles,
// allow-lists, certificates, SSO, SCIM) ranks above the directory (users,
// invites, groups, projects), which ranks above routine activity. Failed
// sign-ins rank above the sign-ins themselves; a deletion the table does not
// name is low. transform/README.md lists it.
var Severities = []Rule{
	{Match: "login.failed", Level: Medium},
	{Match: "logout.failed", Level: Low},
	{Match: "login.*", Level: Info},
	{Match: "logout.*", Level: Info},
	{Match: "organization.updated", Level: High},
	{Match: "scim.*", Level: High},
	{Match: "ip_allowlist.*", Level: High},
	{Match: "certificate.*", Level: High},
	{Match: "certificates.*", Level: High},
	{Match: "external_key.*", Level: High},
	{Match: "workload_identity_provider*", Level: High},
	{Match: "tenant.admin_api_key.*", Level: High},
	{Match: "tenant.sso_connection.*", Level: High},
	{Match: "tenant.session_revocation.*", Level: High},
	{Match: "role.*", Level: High},
	{Match: "user.deleted", Level: High},
	{Match: "organization.user.deleted", Level: High},
	{Match: "user.*", Level: Medium},
	{Match: "invite.*", Level: Medium},
	{Match: "group.*", Level: Medium},
	{Match: "api_key.created", Level: Medium},
	{Match: "api_key.updated", Level: Medium},
	{Match: "api_key.deleted", Level: Low},
	{Match: "service_account.*", Level: Medium},
	{Match: "checkpoint.permission.*", Level: Medium},
	{Match: "tunnel.*", Level: Medium},
	{Match: "project.archived", Level: Medium},
	{Match: "project.deleted", Level: Medium},
	{Match: "project.*", Level: Low},
	{Match: "rate_limit.*", Level: Low},
	{Match: "organization.api_key.*", Level: Medium},
	{Match: "organization.*", Level: Low},
	{Match: "tenant.*", Level: Medium},
	{Match: "*.deleted", Level: Low},
}

// Severity returns the level of an event of type typ: the first of rules
// (a user's overrides), then of Severities, that matches; info when none
// does. A request that failed is at least low.
func Severity(rules []Rule, typ string, failed bool) Level {
	return severity.Of(rules, Severities, typ, failed)
}

// AnnotatedSeverity is the level enrich wrote into the event (its
// auditrelay member), which honours the user's rules; "" when there is
// none or it is not a level.
func (f *Fields) AnnotatedSeverity() Level { return severity.Named(f.annotated.Str()) }

// Relayed reports whether the event holds an auditrelay member: enrich's,
// written by a relay before this one.
func (f *Fields) Relayed() bool { return f.relayed }
