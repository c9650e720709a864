package anthropic

import "github.com/auditrelay/auditrelay/schema/severity"

// Level is the severity of an activity type: info, low, medium, high or
// critical (OCSF's scale; ID gives its severity_id). It is
// severity.Level, the same scale as schema/openai's.
type Level = severity.Level

// The levels, from routine to alarming.
const (
	Info     = severity.Info
	Low      = severity.Low
	Medium   = severity.Medium
	High     = severity.High
	Critical = severity.Critical
)

// Rule gives a level to the activity types matching a pattern
// (pipeline.Match).
type Rule = severity.Rule

// Severities is the one severity table of Anthropic's activity types,
// tried in order, the first match winning. What could hide or end the
// record itself, or hand the organization over (the Compliance API's own
// settings, deleting an organization, transferring its ownership) is
// critical; who can get in and what they may do (admin keys, roles, SSO,
// SCIM and directory sync, IP restrictions, domains, federation, signing
// keys) ranks above the directory (users, invitations, groups, exports),
// which ranks above routine activity (chats, projects, files). Failed
// sign-ins rank above the sign-ins themselves; a deletion the table does
// not name is medium; a type it does not know is info.
var Severities = []Rule{
	{Match: "org_compliance_api_settings_updated", Level: Critical},
	{Match: "org_deletion_requested", Level: Critical},
	{Match: "org_bulk_delete_initiated", Level: Critical},
	{Match: "org_deleted_via_bulk", Level: Critical},
	{Match: "primary_owner_transferred", Level: Critical},
	{Match: "*_login_failed", Level: Medium},
	{Match: "anonymous_mobile_login_attempted", Level: Low},
	{Match: "sso_second_factor_*", Level: Low},
	{Match: "*_login_*", Level: Info},
	{Match: "user_logged_out", Level: Info},
	{Match: "phone_code_*", Level: Info},
	{Match: "admin_api_key_*", Level: High},
	{Match: "claude_user_role_updated", Level: High},
	{Match: "rbac_role_*", Level: High},
	{Match: "role_assignment_*", Level: High},
	{Match: "scim_*", Level: High},
	{Match: "org_sso_*", Level: High},
	{Match: "org_directory_sync_*", Level: High},
	{Match: "org_ip_restriction_*", Level: High},
	{Match: "org_domain_*", Level: High},
	{Match: "platform_federation_*", Level: High},
	{Match: "platform_signing_key_*", Level: High},
	{Match: "service_key_*", Level: High},
	{Match: "scoped_api_key_*", Level: High},
	{Match: "org_user_deleted", Level: High},
	{Match: "abuse_decision_received", Level: High},
	{Match: "org_data_export_*", Level: High},
	{Match: "session_revoked", Level: Medium},
	{Match: "api_key_created", Level: Medium},
	{Match: "platform_api_key_*", Level: Medium},
	{Match: "platform_service_account_*", Level: Medium},
	{Match: "org_user_*", Level: Medium},
	{Match: "group_*", Level: Medium},
	{Match: "mcp_*", Level: Medium},
	{Match: "audit_log_export_*", Level: Medium},
	{Match: "org_members_exported", Level: Medium},
	{Match: "*_access_failed", Level: Low},
	{Match: "compliance_api_accessed", Level: Low},
	{Match: "*_deleted", Level: Medium},
	{Match: "*_deletion_*", Level: Medium},
	{Match: "org_*", Level: Low},
}

// Severity returns the level of an activity of type typ: the first of
// rules (a user's overrides), then of Severities, that matches; info when
// none does. A request that failed (Fields.Failed) is at least low.
func Severity(rules []Rule, typ string, failed bool) Level {
	return severity.Of(rules, Severities, typ, failed)
}

// AnnotatedSeverity is the level enrich wrote into the activity (its
// auditrelay member), which honours the user's rules; "" when there is
// none or it is not a level.
func (f *Fields) AnnotatedSeverity() Level { return severity.Named(f.annotated.Str()) }

// Relayed reports whether the event holds an auditrelay member: enrich's,
// written by a relay before this one.
func (f *Fields) Relayed() bool { return f.relayed }
