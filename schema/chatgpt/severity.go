package chatgpt

import "github.com/auditrelay/auditrelay/schema/severity"

// Level is the severity of a record: info, low, medium, high or critical
// (OCSF's scale; ID gives its severity_id). It is severity.Level, the one
// scale of every vendor.
type Level = severity.Level

// The levels, from routine to alarming.
const (
	Info     = severity.Info
	Low      = severity.Low
	Medium   = severity.Medium
	High     = severity.High
	Critical = severity.Critical
)

// Rule gives a level to the records matching a pattern (pipeline.Match).
// A ChatGPT record's type is coarse (every admin action is an AUDIT_LOG),
// so a rule matches a record by either of two names: its type
// (AUDIT_LOG), or its type and sub-type joined by a dot
// (AUDIT_LOG.USER_ROLE_UPDATED, AUTH_LOG.login_failed,
// CUSTOM_AGENTS_LOG.AGENT_PUBLISHED; Fields.SubType says what the sub-type
// of each type is). "AUDIT_LOG" thus ranks every audit record,
// "AUDIT_LOG.INVITE_*" the invitations.
type Rule = severity.Rule

// ResultSuccess and ResultBlocked are values of an AUDIT_LOG's
// action_result: the action was done, or the workspace refused it.
const (
	ResultSuccess = "SUCCESS"
	ResultBlocked = "BLOCKED"
)

// Severities is the one severity table of ChatGPT's compliance records,
// tried in order, the first match winning (Rule says what a pattern
// matches). Who can get in and what they may do (roles, API keys, SSO,
// SCIM, domains, the workspace's settings and features, data exports)
// ranks above the directory (users, invitations, groups, a deleted
// object), which ranks above the rest of the admin actions and reading
// the compliance logs. Failed sign-ins, Codex security findings and scan
// configurations, Codex access tokens, and custom agents published,
// deleted or handed a connector's credentials are medium; what people
// write (conversations, app calls, agent runs) is info. transform/README.md
// lists it.
//
// The actions the API's samples and the simulator show are named exactly;
// the patterns around them (*API_KEY*, *SSO*, *SCIM*, ...) are our reading
// of the names the API gives the actions of its admin console, which no
// published list names: an action none matches falls to the AUDIT_LOG
// rule, low. On top of the table, a record the workspace BLOCKED (its
// action_result) is at least medium: someone tried what they may not do.
// Any other result but SUCCESS counts as failed, and is at least low.
var Severities = []Rule{
	// AUTH_LOG: action_data.action.
	{Match: "AUTH_LOG.login_failed", Level: Medium},
	{Match: "AUTH_LOG.*_failed", Level: Low},
	{Match: "AUTH_LOG", Level: Info},
	// AUDIT_LOG: the admin console's actions.
	{Match: "AUDIT_LOG.*ROLE*", Level: High},
	{Match: "AUDIT_LOG.*API_KEY*", Level: High},
	{Match: "AUDIT_LOG.*SSO*", Level: High},
	{Match: "AUDIT_LOG.*SAML*", Level: High},
	{Match: "AUDIT_LOG.*SCIM*", Level: High},
	{Match: "AUDIT_LOG.*DOMAIN*", Level: High},
	{Match: "AUDIT_LOG.*IP_ALLOWLIST*", Level: High},
	{Match: "AUDIT_LOG.*OWNER*", Level: High},
	{Match: "AUDIT_LOG.*EXPORT*", Level: High},
	{Match: "AUDIT_LOG.*RETENTION*", Level: High},
	{Match: "AUDIT_LOG.WORKSPACE_*", Level: High},
	{Match: "AUDIT_LOG.*LOG_FILE*", Level: Low},
	{Match: "AUDIT_LOG.INVITE_*", Level: Medium},
	{Match: "AUDIT_LOG.USER_*", Level: Medium},
	{Match: "AUDIT_LOG.*GROUP*", Level: Medium},
	{Match: "AUDIT_LOG.*DELETE*", Level: Medium},
	{Match: "AUDIT_LOG", Level: Low},
	// CODEX_SECURITY_LOG: event_type.
	{Match: "CODEX_SECURITY_LOG.SCAN_FINDING_*", Level: Medium},
	{Match: "CODEX_SECURITY_LOG.SCAN_CONFIGURATION_*", Level: Medium},
	{Match: "CODEX_SECURITY_LOG", Level: Low},
	// CODEX_LOG: event_type.
	{Match: "CODEX_LOG.*TOKEN_CREATED", Level: Medium},
	{Match: "CODEX_LOG", Level: Info},
	// CUSTOM_AGENTS_LOG: event_type.
	{Match: "CUSTOM_AGENTS_LOG.AGENT_PUBLISHED", Level: Medium},
	{Match: "CUSTOM_AGENTS_LOG.AGENT_DELETED", Level: Medium},
	{Match: "CUSTOM_AGENTS_LOG.CONNECTOR_OAUTH_*", Level: Medium},
	{Match: "CUSTOM_AGENTS_LOG.AGENT_CREATED", Level: Low},
	{Match: "CUSTOM_AGENTS_LOG.AGENT_UPDATED", Level: Low},
	{Match: "CUSTOM_AGENTS_LOG.TRIGGER_*", Level: Low},
	{Match: "CUSTOM_AGENTS_LOG.*_FAILED", Level: Low},
	{Match: "CUSTOM_AGENTS_LOG", Level: Info},
	// APP_AUTH_LOG: action. Linking an app lets it read for the person.
	{Match: "APP_AUTH_LOG.link", Level: Low},
	{Match: "APP_AUTH_LOG", Level: Info},
	{Match: "APP_LOG", Level: Info},
	{Match: "CONVERSATION_MESSAGE", Level: Info},
}

// Severity returns the level of a record of type typ and sub-type sub
// whose action_result is result ("" when it has none): the first of rules
// (a user's overrides), then of Severities, that matches (Rule says how);
// info when none does. A BLOCKED record is at least medium, one with any
// other result but SUCCESS at least low.
func Severity(rules []Rule, typ, sub, result string) Level {
	names := [2]string{typ, typ + "." + sub}
	n := names[:1]
	if sub != "" {
		n = names[:]
	}
	l := severity.OfAny(rules, Severities, n, result != "" && result != ResultSuccess)
	if result == ResultBlocked {
		l = severity.AtLeast(l, Medium)
	}
	return l
}

// Severity is the level of the record f in Severities after rules (see
// the function Severity).
func (f *Fields) Severity(rules []Rule) Level {
	return Severity(rules, f.Type(), f.SubType(), f.ActionResult())
}

// ActionResult is an AUDIT_LOG's action_result (SUCCESS, BLOCKED); ""
// when the record has none.
func (f *Fields) ActionResult() string { return f.result.Str() }

// AnnotatedSeverity is the level enrich wrote into the record (its
// auditrelay member), which honours the user's rules; "" when there is
// none or it is not a level.
func (f *Fields) AnnotatedSeverity() Level { return severity.Named(f.annotated.Str()) }

// Relayed reports whether the event holds an auditrelay member: enrich's,
// written by a relay before this one.
func (f *Fields) Relayed() bool { return f.relayed }
