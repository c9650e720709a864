package anthropic

import "github.com/auditrelay/auditrelay/pipeline"

// Level is the severity of an activity type: info, low, medium, high or
// critical (OCSF's scale, the same words as schema/openai's levels; ID
// gives its severity_id).
type Level string

// The levels, from routine to alarming.
const (
	Info     Level = "info"
	Low      Level = "low"
	Medium   Level = "medium"
	High     Level = "high"
	Critical Level = "critical"
)

// levelIDs are OCSF severity_id values.
var levelIDs = map[Level]int{Info: 1, Low: 2, Medium: 3, High: 4, Critical: 5}

// ID returns the OCSF severity_id of l (0 for an unknown level).
func (l Level) ID() int { return levelIDs[l] }

// Valid reports whether l is one of the levels.
func (l Level) Valid() bool { return levelIDs[l] > 0 }

// Rule gives a level to the activity types matching a pattern
// (pipeline.Match).
type Rule struct {
	Match string
	Level Level
}

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
	{"org_compliance_api_settings_updated", Critical},
	{"org_deletion_requested", Critical},
	{"org_bulk_delete_initiated", Critical},
	{"org_deleted_via_bulk", Critical},
	{"primary_owner_transferred", Critical},
	{"*_login_failed", Medium},
	{"anonymous_mobile_login_attempted", Low},
	{"sso_second_factor_*", Low},
	{"*_login_*", Info},
	{"user_logged_out", Info},
	{"phone_code_*", Info},
	{"admin_api_key_*", High},
	{"claude_user_role_updated", High},
	{"rbac_role_*", High},
	{"role_assignment_*", High},
	{"scim_*", High},
	{"org_sso_*", High},
	{"org_directory_sync_*", High},
	{"org_ip_restriction_*", High},
	{"org_domain_*", High},
	{"platform_federation_*", High},
	{"platform_signing_key_*", High},
	{"service_key_*", High},
	{"scoped_api_key_*", High},
	{"org_user_deleted", High},
	{"abuse_decision_received", High},
	{"org_data_export_*", High},
	{"session_revoked", Medium},
	{"api_key_created", Medium},
	{"platform_api_key_*", Medium},
	{"platform_service_account_*", Medium},
	{"org_user_*", Medium},
	{"group_*", Medium},
	{"mcp_*", Medium},
	{"audit_log_export_*", Medium},
	{"org_members_exported", Medium},
	{"*_access_failed", Low},
	{"compliance_api_accessed", Low},
	{"*_deleted", Medium},
	{"*_deletion_*", Medium},
	{"org_*", Low},
}

// Severity returns the level of an activity of type typ: the first of
// rules (a user's overrides), then of Severities, that matches; info when
// none does. A request that failed (Fields.Failed) is at least low.
func Severity(rules []Rule, typ string, failed bool) Level {
	l := Info
	for _, list := range [][]Rule{rules, Severities} {
		if r, ok := first(list, typ); ok {
			l = r.Level
			break
		}
	}
	if failed && l == Info {
		l = Low
	}
	return l
}

func first(rules []Rule, typ string) (Rule, bool) {
	for _, r := range rules {
		if pipeline.Match(r.Match, typ) {
			return r, true
		}
	}
	return Rule{}, false
}
