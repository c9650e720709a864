package anthropicsim

import (
	"strconv"
	"strings"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// An activity type's own members sit at the top level beside "type". Each
// type lists generators that write them; most draw from small pools, so
// the same chat, project or key id recurs across activities.

// ctx is what a generator writes with.
type ctx struct {
	w      *simkit.JSON
	r      *simkit.RNG
	s      *Server
	m      *meta
	secret func(string) // learns every secret written; nil when nobody asks
}

type gen func(c *ctx)

// ref writes name: an id of prefix, one of a pool of that many.
func ref(name, prefix string, pool int) gen {
	return func(c *ctx) { c.w.KStr(name, c.s.ref(prefix, c.r.Intn(pool))) }
}

func (s *Server) ref(prefix string, k int) string {
	r := simkit.NewRNG(simkit.Hash(s.key, hashString(prefix), uint64(k)))
	return prefix + "01" + string(r.AppendFrom(nil, base62, 22))
}

func oneOf(name string, vals ...string) gen {
	return func(c *ctx) { c.w.KStr(name, simkit.Pick(c.r, vals)) }
}

func num(name string, lo, hi int) gen {
	return func(c *ctx) { c.w.KInt(name, int64(c.r.Between(lo, hi))) }
}

func flag(name string) gen {
	return func(c *ctx) { c.w.KBool(name, c.r.Chance(0.5)) }
}

func maybe(p float64, g gen) gen {
	return func(c *ctx) {
		if c.r.Chance(p) {
			g(c)
		}
	}
}

// person writes a directory user's id and e-mail under the names given
// ("" leaves one out): the person an activity is about.
func person(idName, emailName string) gen {
	return func(c *ctx) {
		u := &c.s.dir.users[c.r.Intn(len(c.s.dir.users))]
		if idName != "" {
			c.w.KStr(idName, u.id)
		}
		if emailName != "" {
			c.w.KStr(emailName, u.email)
		}
	}
}

// outsider writes the address of someone not (yet) in the directory.
func outsider(name string) gen {
	return func(c *ctx) {
		first := simkit.Pick(c.r, []string{"maria", "chen", "olu", "pierre", "sara", "dmitri", "leila"})
		c.w.KStr(name, first+"."+string(c.r.AppendFrom(nil, base62[36:], 5))+"@"+simkit.Pick(c.r, []string{c.s.dir.domain, "gmail.com", "partner.example"}))
	}
}

// strs writes name: a list of 1 to 3 distinct values.
func strs(name string, vals ...string) gen {
	return func(c *ctx) {
		c.w.Key(name)
		c.w.OpenArray()
		n, start := c.r.Between(1, min(3, len(vals))), c.r.Intn(len(vals))
		for k := range n {
			c.w.Str(vals[(start+k)%len(vals)])
		}
		c.w.CloseArray()
	}
}

var scopeNames = []string{"read:compliance_activities", "read:compliance_org_data", "read:compliance_user_data", "write:compliance_deletions"}

// updates writes the list of changes an *_updated activity carries.
func updates(kinds ...string) gen {
	return func(c *ctx) {
		c.w.Key("updates")
		c.w.OpenArray()
		for k := range c.r.Between(1, len(kinds)) {
			c.w.Open()
			c.w.KStr("type", kinds[k])
			switch kinds[k] {
			case "status":
				c.w.KStr("previous_value", "active")
				c.w.KStr("current_value", simkit.Pick(c.r, []string{"inactive", "archived"}))
			case "name":
				c.w.KStr("previous_value", "key-"+string(c.r.AppendFrom(nil, base62[36:], 6)))
				c.w.KStr("current_value", "key-"+string(c.r.AppendFrom(nil, base62[36:], 6)))
			default:
				c.w.KStr("previous_value", "default")
				c.w.KStr("current_value", "custom")
			}
			c.w.Close()
		}
		c.w.CloseArray()
	}
}

// orgOf writes the activity's own organization under names (an
// org_id-like member some types repeat).
func orgOf(idName, nameName string) gen {
	return func(c *ctx) {
		o := c.s.dir.orgs[max(c.m.org, 0)]
		c.w.KStr(idName, o.ID)
		c.w.KStr(nameName, o.Name)
	}
}

// Actor sets: who may do an activity of a type, weighted by repetition.
var (
	people     = []actorKind{actorUser}
	signIns    = []actorKind{actorUser, actorUser, actorUser, actorUnauthenticated}
	visitors   = []actorKind{actorUnauthenticated}
	admins     = []actorKind{actorUser, actorUser, actorUser, actorAdminKey}
	syncs      = []actorKind{actorSCIM, actorSCIM, actorSCIM, actorUser}
	anthropics = []actorKind{actorAnthropic, actorAnthropic, actorSystem}
	platform   = []actorKind{actorUser, actorUser, actorAPI, actorServiceAccount, actorFederatedIdentity, actorFederated}
	compliance = []actorKind{actorAPI, actorAPI, actorAdminKey, actorServiceAccount, actorAttestedDevice}
	desktops   = []actorKind{actorUser, actorUser, actorAttestedDevice}
)

type activityType struct {
	name    string
	weight  int
	actors  []actorKind
	orgless bool // organization_id and organization_uuid are null
	known   bool // named by the API notes or by a published sample
	members []gen
}

// catalog is every activity type the simulator writes. All but the last
// two are named by Anthropic's list or a published sample; those two no
// list names yet, and a reader must pass them through untouched.
var catalog = withKnown(2, []activityType{
	// Signing in and out: no organization (the API says so).
	{name: "sso_login_succeeded", weight: 160, actors: people, orgless: true, members: []gen{oneOf("auth_method", "sso"), oneOf("mfa_method", "not_used", "not_used", "totp", "webauthn")}},
	{name: "sso_login_failed", weight: 14, actors: signIns, orgless: true, members: []gen{oneOf("failure_reason", "idp_error", "user_not_provisioned", "assertion_expired")}},
	{name: "sso_login_initiated", weight: 30, actors: people, orgless: true},
	{name: "sso_second_factor_magic_link", weight: 3, actors: visitors, orgless: true},
	{name: "magic_link_login_initiated", weight: 20, actors: signIns, orgless: true},
	{name: "magic_link_login_succeeded", weight: 30, actors: people, orgless: true, members: []gen{oneOf("auth_method", "magic_link"), oneOf("mfa_method", "not_used", "totp")}},
	{name: "magic_link_login_failed", weight: 6, actors: signIns, orgless: true},
	{name: "social_login_succeeded", weight: 25, actors: people, orgless: true, members: []gen{oneOf("provider", "google", "apple"), oneOf("auth_method", "social"), oneOf("mfa_method", "not_used")}},
	{name: "anonymous_mobile_login_attempted", weight: 3, actors: visitors, orgless: true},
	{name: "phone_code_sent", weight: 4, actors: visitors, orgless: true},
	{name: "phone_code_verified", weight: 4, actors: people, orgless: true},
	{name: "user_logged_out", weight: 40, actors: people, orgless: true},
	{name: "session_revoked", weight: 4, actors: admins, members: []gen{person("user_id", ""), ref("session_id", "session_", 500)}},

	// Claude: chats, projects, files, artifacts.
	{name: "claude_chat_created", weight: 220, actors: people, members: []gen{ref("claude_chat_id", "claude_chat_", 5000), maybe(0.6, ref("claude_project_id", "claude_proj_", 300))}},
	{name: "claude_chat_viewed", weight: 160, actors: people, members: []gen{ref("claude_chat_id", "claude_chat_", 5000), maybe(0.6, ref("claude_project_id", "claude_proj_", 300))}},
	{name: "claude_chat_updated", weight: 60, actors: people, members: []gen{ref("claude_chat_id", "claude_chat_", 5000), maybe(0.6, ref("claude_project_id", "claude_proj_", 300))}},
	{name: "claude_chat_deleted", weight: 25, actors: people, members: []gen{ref("claude_chat_id", "claude_chat_", 5000), maybe(0.6, ref("claude_project_id", "claude_proj_", 300))}},
	{name: "claude_chat_settings_updated", weight: 8, actors: people, members: []gen{ref("claude_chat_id", "claude_chat_", 5000)}},
	{name: "claude_chat_access_failed", weight: 5, actors: visitors, members: []gen{ref("claude_chat_id", "claude_chat_", 5000)}},
	{name: "claude_chat_snapshot_created", weight: 10, actors: people, members: []gen{ref("claude_chat_id", "claude_chat_", 5000), ref("claude_chat_snapshot_id", "snap_", 800)}},
	{name: "claude_chat_snapshot_viewed", weight: 12, actors: []actorKind{actorUser, actorUnauthenticated}, members: []gen{ref("claude_chat_snapshot_id", "snap_", 800), ref("claude_chat_id", "claude_chat_", 5000)}},
	{name: "claude_project_created", weight: 20, actors: people, members: []gen{ref("claude_project_id", "claude_proj_", 300)}},
	{name: "claude_project_viewed", weight: 60, actors: people, members: []gen{ref("claude_project_id", "claude_proj_", 300), flag("preview_only")}},
	{name: "claude_project_archived", weight: 4, actors: people, members: []gen{ref("claude_project_id", "claude_proj_", 300)}},
	{name: "claude_project_deleted", weight: 3, actors: people, members: []gen{ref("claude_project_id", "claude_proj_", 300)}},
	{name: "claude_project_sharing_updated", weight: 8, actors: people, members: []gen{ref("claude_project_id", "claude_proj_", 300), audience}},
	{name: "claude_project_document_uploaded", weight: 30, actors: people, members: []gen{ref("claude_project_document_id", "doc_", 2000), ref("claude_project_id", "claude_proj_", 300), filename}},
	{name: "claude_project_document_deleted", weight: 8, actors: people, members: []gen{ref("claude_project_document_id", "doc_", 2000), ref("claude_project_id", "claude_proj_", 300), filename}},
	{name: "claude_file_uploaded", weight: 50, actors: people, members: []gen{ref("claude_file_id", "file_", 4000), filename, ref("claude_chat_id", "claude_chat_", 5000), maybe(0.5, ref("claude_project_id", "claude_proj_", 300))}},
	{name: "claude_file_viewed", weight: 25, actors: people, members: []gen{ref("claude_file_id", "file_", 4000), filename}},
	{name: "claude_file_deleted", weight: 6, actors: people, members: []gen{ref("claude_file_id", "file_", 4000), filename}},
	{name: "claude_artifact_created", weight: 20, actors: people, members: []gen{ref("claude_artifact_id", "artifact_", 1000)}},
	{name: "claude_artifact_published", weight: 5, actors: people, members: []gen{oneOf("artifact_type", "react", "html", "markdown", "svg"), ref("claude_published_artifact_id", "pubart_", 200), oneOf("title", "Q3 compliance summary", "Onboarding checklist", "Sales dashboard")}},
	{name: "claude_artifact_sharing_updated", weight: 4, actors: people, members: []gen{audience, ref("claude_artifact_id", "artifact_", 1000), ref("claude_artifact_version_id", "artifact_ver_", 3000)}},
	{name: "claude_user_settings_updated", weight: 6, actors: people, members: []gen{updates("conversation_preferences", "theme")}},

	// Keys and service identities.
	{name: "admin_api_key_created", weight: 3, actors: admins, members: []gen{ref("admin_api_key_id", "admin_key_", 20), strs("scopes", scopeNames...)}},
	{name: "admin_api_key_updated", weight: 3, actors: admins, members: []gen{ref("admin_api_key_id", "admin_key_", 20), updates("name", "status")}},
	{name: "admin_api_key_deleted", weight: 2, actors: admins, members: []gen{ref("admin_api_key_id", "admin_key_", 20)}},
	{name: "api_key_created", weight: 6, actors: admins, members: []gen{ref("api_key_id", "apikey_", 60), strs("scopes", scopeNames...)}},
	{name: "platform_api_key_created", weight: 8, actors: platform, members: []gen{ref("api_key_id", "apikey_", 60)}},
	{name: "platform_api_key_updated", weight: 5, actors: platform, members: []gen{ref("api_key_id", "apikey_", 60), updates("name", "status")}},
	{name: "scoped_api_key_deleted", weight: 2, actors: admins, members: []gen{ref("api_key_id", "apikey_", 60), oneOf("api_key_name", "SIEM export", "Legal hold reader"), strs("scopes", scopeNames...)}},
	{name: "service_key_created", weight: 2, actors: admins, members: []gen{flag("is_service_created"), oneOf("key_name", "primary", "rotation-2026"), strs("scopes", scopeNames...), ref("service_key_id", "svc_key_", 20), oneOf("service_name", "billing-export", "siem-forwarder")}},
	{name: "service_key_revoked", weight: 1, actors: admins, members: []gen{ref("service_key_id", "svc_key_", 20), oneOf("service_name", "billing-export", "siem-forwarder")}},
	{name: "platform_service_account_updated", weight: 2, actors: admins, members: []gen{ref("service_account_id", "svc_acct_", 10), updates("name", "status")}},
	{name: "platform_signing_key_rotated", weight: 1, actors: admins, members: []gen{oneOf("algorithm", "RS256", "ES256"), ref("key_group_identifier", "kg_", 4), ref("new_signing_key_id", "skid_", 30), ref("old_signing_key_id", "skid_", 30)}},
	{name: "platform_federation_rule_updated", weight: 1, actors: admins, members: []gen{ref("federation_rule_id", "fed_rule_", 8), updates("name", "status")}},

	// People, invitations and roles.
	{name: "claude_user_role_updated", weight: 6, actors: admins, members: []gen{oneOf("current_role", "admin", "member", "owner"), oneOf("previous_role", "member", "member", "admin"), person("user_id", "user_email")}},
	{name: "org_user_invite_sent", weight: 10, actors: admins, members: []gen{ref("invite_id", "invite_", 400), outsider("invited_email"), oneOf("invited_role", "member", "member", "admin")}},
	{name: "org_user_invite_accepted", weight: 8, actors: people, members: []gen{ref("invite_id", "invite_", 400)}},
	{name: "org_user_invite_deleted", weight: 2, actors: admins, members: []gen{ref("invite_id", "invite_", 400)}},
	{name: "org_user_invite_re_sent", weight: 2, actors: anthropics, members: []gen{outsider("invited_email")}},
	{name: "org_user_deleted", weight: 3, actors: admins, members: []gen{person("deleted_user_id", "deleted_user_email")}},
	{name: "org_user_left", weight: 2, actors: people, members: []gen{oneOf("previous_role", "member", "admin")}},
	{name: "org_users_listed", weight: 6, actors: admins},
	{name: "primary_owner_transferred", weight: 1, actors: people, members: []gen{person("new_owner_id", ""), person("previous_owner_id", "")}},
	{name: "rbac_role_assigned", weight: 5, actors: admins, members: []gen{person("principal_id", ""), oneOf("principal_type", "user"), ref("role_id", "role_", 12)}},
	{name: "rbac_role_unassigned", weight: 2, actors: admins, members: []gen{person("principal_id", ""), oneOf("principal_type", "user"), ref("role_id", "role_", 12)}},
	{name: "rbac_role_created", weight: 1, actors: admins, members: []gen{ref("role_id", "role_", 12), oneOf("role_name", "Compliance Reviewer", "Billing Viewer", "Workspace Developer")}},
	{name: "rbac_role_deleted", weight: 1, actors: admins, members: []gen{ref("role_id", "role_", 12)}},
	{name: "rbac_role_permission_added", weight: 1, actors: admins, members: []gen{oneOf("action", "deploy", "read", "manage"), ref("resource_id", "res_", 40), oneOf("resource_type", "workspace", "project"), ref("role_id", "role_", 12)}},
	{name: "role_assignment_granted", weight: 2, actors: anthropics, members: []gen{ref("resource_id", "res_", 40), oneOf("resource_type", "workspace"), oneOf("role", "admin", "developer"), person("target_id", ""), oneOf("target_type", "user")}},
	{name: "role_assignment_revoked", weight: 1, actors: anthropics, members: []gen{ref("resource_id", "res_", 40), oneOf("resource_type", "workspace"), oneOf("role", "admin", "developer"), person("target_id", ""), oneOf("target_type", "user")}},

	// Directory sync and single sign-on.
	{name: "scim_user_created", weight: 6, actors: syncs, members: []gen{person("user_id", "")}},
	{name: "scim_user_updated", weight: 8, actors: syncs, members: []gen{person("user_id", "")}},
	{name: "scim_user_deleted", weight: 2, actors: syncs, members: []gen{person("user_id", "")}},
	{name: "group_created", weight: 2, actors: syncs, members: []gen{ref("group_id", "group_", 30), oneOf("group_name", "Engineering", "Legal", "Support", "Finance")}},
	{name: "group_member_added", weight: 6, actors: syncs, members: []gen{ref("group_id", "group_", 30), memberIDs}},
	{name: "group_member_removed", weight: 3, actors: syncs, members: []gen{ref("group_id", "group_", 30), memberIDs}},
	{name: "group_deleted", weight: 1, actors: syncs, members: []gen{ref("group_id", "group_", 30)}},
	{name: "org_directory_sync_activated", weight: 1, actors: syncs},
	{name: "org_sso_connection_activated", weight: 1, actors: syncs, members: []gen{ref("connection_id", "conn_", 3), oneOf("connection_type", "saml", "oidc")}},
	{name: "org_sso_connection_deactivated", weight: 1, actors: syncs, members: []gen{ref("connection_id", "conn_", 3)}},
	{name: "org_sso_toggled", weight: 1, actors: anthropics, members: []gen{flag("enabled")}},
	{name: "org_sso_provisioning_mode_changed", weight: 1, actors: anthropics, members: []gen{oneOf("new_mode", "scim", "jit"), oneOf("previous_mode", "manual", "jit")}},
	{name: "org_domain_verified", weight: 1, actors: anthropics, members: []gen{func(c *ctx) { c.w.KStr("domain", c.s.dir.domain) }}},

	// Organization settings, exports, compliance.
	{name: "claude_organization_settings_updated", weight: 3, actors: admins, members: []gen{oneOf("current_value", "enabled", "disabled"), oneOf("previous_value", "disabled", "enabled"), orgOf("org_id", "org_name"), settingName}},
	{name: "org_compliance_api_settings_updated", weight: 1, actors: admins, members: []gen{flag("compliance_api_enabled"), flag("compliance_api_logging_enabled")}},
	{name: "org_ip_restriction_created", weight: 1, actors: anthropics},
	{name: "org_ip_restriction_updated", weight: 1, actors: anthropics},
	{name: "org_ip_restriction_deleted", weight: 1, actors: anthropics},
	{name: "org_data_export_started", weight: 1, actors: anthropics},
	{name: "org_data_export_completed", weight: 1, actors: anthropics},
	{name: "org_deletion_requested", weight: 1, actors: people},
	{name: "org_invite_link_generated", weight: 1, actors: admins},
	{name: "audit_log_export_started", weight: 1, actors: people, members: []gen{func(c *ctx) {
		c.w.KStr("from_date", "2026-01-01T00:00:00Z")
		c.w.KStr("to_date", "2026-06-30T23:59:59Z")
	}}},
	{name: "compliance_api_accessed", weight: 90, actors: compliance, orgless: true, members: []gen{complianceCall}},
	{name: "abuse_decision_received", weight: 2, actors: anthropics, members: []gen{oneOf("decision", "blocked", "warned", "allowed"), ref("abuse_session_id", "abuse_sess_", 100)}},

	// Integrations, connectors, skills and plugins.
	{name: "mcp_server_created", weight: 3, actors: admins, members: []gen{ref("mcp_server_id", "mcp_server_", 12), oneOf("mcp_server_name", "Internal Tools", "Jira", "Snowflake")}},
	{name: "mcp_server_deleted", weight: 1, actors: admins, members: []gen{ref("mcp_server_id", "mcp_server_", 12), oneOf("mcp_server_name", "Internal Tools", "Jira", "Snowflake")}},
	{name: "mcp_tool_policy_updated", weight: 2, actors: admins, members: []gen{oneOf("max_permission", "tool_use", "read_only", "blocked"), ref("mcp_server_id", "mcp_server_", 12), oneOf("tool_name", "list_files", "run_query", "create_issue")}},
	{name: "claude_github_integration_created", weight: 3, actors: people, members: []gen{ref("integration_id", "integration_", 50), oneOf("organization_name", "acme-corp"), oneOf("repository_name", "platform-services", "web", "infra")}},
	{name: "claude_gdrive_integration_created", weight: 3, actors: people, members: []gen{ref("integration_id", "integration_", 50), ref("folder_id", "folder_", 100)}},
	{name: "integration_user_connected", weight: 8, actors: people, members: []gen{oneOf("integration_type", "github", "gdrive", "slack", "notion")}},
	{name: "claude_skill_created", weight: 3, actors: platform, members: []gen{ref("skill_id", "skill_", 40), oneOf("skill_name", "Contract review", "SQL helper", "Brand voice")}},
	{name: "claude_skill_enabled", weight: 3, actors: people, members: []gen{ref("skill_id", "skill_", 40), oneOf("skill_name", "Contract review", "SQL helper", "Brand voice")}},
	{name: "claude_plugin_created", weight: 2, actors: admins, members: []gen{ref("plugin_id", "plugin_", 20), oneOf("plugin_name", "code-reviewer", "release-notes")}},
	{name: "desktop_extension_allowlisted", weight: 1, actors: admins, members: []gen{ref("extension_id", "ext_", 20)}},
	{name: "claude_code_review_repository_added", weight: 2, actors: desktops, members: []gen{ref("config_id", "ccr_config_", 10), oneOf("repo_name", "platform-services", "web"), oneOf("repo_owner", "acme-corp"), oneOf("trigger_mode", "on_pull_request", "manual")}},

	// The developer platform: workspaces, files, limits.
	{name: "platform_workspace_created", weight: 2, actors: platform, members: []gen{ref("workspace_id", "wrkspc_", 15)}},
	{name: "platform_workspace_archived", weight: 1, actors: platform, members: []gen{ref("workspace_id", "wrkspc_", 15)}},
	{name: "platform_workspace_member_added", weight: 4, actors: admins, members: []gen{ref("workspace_id", "wrkspc_", 15), person("user_id", "")}},
	{name: "platform_workspace_member_removed", weight: 2, actors: admins, members: []gen{ref("workspace_id", "wrkspc_", 15), person("user_id", "")}},
	{name: "platform_file_uploaded", weight: 20, actors: platform, members: []gen{ref("file_id", "file_", 4000), maybe(0.5, ref("session_id", "session_", 500))}},
	{name: "platform_file_deleted", weight: 5, actors: platform, members: []gen{ref("file_id", "file_", 4000)}},
	{name: "platform_workspace_rate_limit_updated", weight: 1, actors: admins, members: []gen{oneOf("limiter_type", "tokens_per_minute", "requests_per_minute"), oneOf("model_group", "claude-sonnet", "claude-opus", "claude-haiku"), num("value", 50, 4000), ref("workspace_id", "wrkspc_", 15)}},
	{name: "platform_spend_limit_updated", weight: 1, actors: admins, members: []gen{flag("ignore"), ref("spend_limit_id", "spend_", 10)}},

	// Billing.
	{name: "subscription_started", weight: 1, actors: people, members: []gen{oneOf("billing_interval", "monthly", "annual"), oneOf("plan_type", "team", "enterprise"), num("seat_count", 5, 500)}},
	{name: "subscription_quantity_updated", weight: 2, actors: people, members: []gen{num("added_seats", 1, 20), num("new_quantity", 25, 520), num("previous_quantity", 5, 500)}},
	{name: "payment_method_updated", weight: 1, actors: people},
	{name: "extra_usage_credit_granted", weight: 1, actors: anthropics},

	// Types no published list names yet, with members of shapes nobody has
	// seen: a reader passes them through.
	{name: "claude_agent_session_started", weight: 3, actors: platform, members: []gen{ref("agent_session_id", "agent_sess_", 500), func(c *ctx) {
		c.w.KInt("schema_version", 2)
		c.w.Key("runtime")
		c.w.Open()
		c.w.KStr("model", simkit.Pick(c.r, []string{"claude-sonnet-4-5", "claude-opus-4-1"}))
		c.w.Key("tools")
		c.w.OpenArray()
		c.w.Str("web_search")
		c.w.Str("code_execution")
		c.w.CloseArray()
		c.w.Close()
	}}},
	{name: "org_retention_policy_updated", weight: 1, actors: admins, members: []gen{func(c *ctx) {
		c.w.Key("policy")
		c.w.Open()
		c.w.KInt("retention_days", int64(simkit.Pick(c.r, []int{30, 90, 365, 2190})))
		c.w.Key("applies_to")
		c.w.OpenArray()
		c.w.Str("claude_chats")
		c.w.Str("claude_projects")
		c.w.CloseArray()
		c.w.Close()
		c.w.KNull("previous_policy")
	}}},
})

func withKnown(unknown int, ts []activityType) []activityType {
	for i := range ts[:len(ts)-unknown] {
		ts[i].known = true
	}
	return ts
}

var (
	// catalogIndex finds a type by name.
	catalogIndex = func() map[string]int {
		m := make(map[string]int, len(catalog))
		for i, t := range catalog {
			m[t.name] = i
		}
		return m
	}()
	// typeWeights picks a type index by the types' weights.
	typeWeights = func() (ws simkit.Weights) {
		for _, t := range catalog {
			ws.Add(t.weight)
		}
		return ws
	}()
)

// pickType turns a draw into a type index, weighted.
func pickType(x uint64) int { return typeWeights.Pick(x) }

// KnownTypes lists the activity types the simulator writes whose names
// Anthropic publishes (a sample of the hundreds there are), in table
// order; UnknownTypes the two it writes that no list names.
func KnownTypes() []string { return typeNames(true) }

// UnknownTypes: see KnownTypes.
func UnknownTypes() []string { return typeNames(false) }

func typeNames(known bool) []string {
	var out []string
	for _, t := range catalog {
		if t.known == known {
			out = append(out, t.name)
		}
	}
	return out
}

func audience(c *ctx) {
	c.w.Key("audience")
	c.w.OpenArray()
	c.w.Open()
	c.w.KStr("type", simkit.Pick(c.r, []string{"organization", "private", "users"}))
	c.w.Close()
	c.w.CloseArray()
}

func filename(c *ctx) {
	c.w.KStr("filename", simkit.Pick(c.r, []string{"report.pdf", "Q3 forecast.xlsx", "contract_v2.docx", "notes.md", "IMG_2041.png", "données clients.csv"}))
}

func memberIDs(c *ctx) {
	c.w.Key("member_ids")
	c.w.OpenArray()
	for range c.r.Between(1, 3) {
		c.w.Str(c.s.dir.users[c.r.Intn(len(c.s.dir.users))].id)
	}
	c.w.CloseArray()
}

func settingName(c *ctx) {
	c.w.Key("metadata")
	c.w.Open()
	c.w.KStr("setting_name", simkit.Pick(c.r, []string{"managed_agents_enabled", "web_search_enabled", "code_execution_enabled", "memory_enabled"}))
	c.w.Close()
}

// complianceCall writes a compliance_api_accessed activity: a call to the
// Compliance API itself. Its url and request_body are what the caller
// sent, so they hold whatever a careless client put there: keys in a
// query string, tokens and webhook URLs in a body. Each such secret goes
// to c.secret, for Truth.
func complianceCall(c *ctx) {
	r, s := c.r, c.s
	method := simkit.Pick(r, []string{"GET", "GET", "GET", "GET", "GET", "GET", "POST", "DELETE"})
	c.w.KStr("request_id", "req_01"+string(r.AppendFrom(nil, base62, 22)))
	c.w.KStr("request_method", method)
	c.w.Key("request_body")
	if method == "GET" {
		c.w.Null()
	} else {
		var body strings.Builder
		body.WriteString(`{"user_ids":["`)
		body.WriteString(s.dir.users[r.Intn(len(s.dir.users))].id)
		body.WriteString(`"],"reason":"`)
		body.WriteString(simkit.Pick(r, []string{"legal hold 2026-114", "employee offboarding", "DSAR request"}))
		body.WriteByte('"')
		if r.Chance(0.4) {
			secret := simkit.Pick(r, []string{"sk-ant-admin01-", "sk-ant-api03-"}) + string(r.AppendFrom(nil, base62+"-_", 86)) + "AA"
			if r.Chance(0.5) {
				secret = "https://hooks.slack.com/services/T0" + string(r.AppendFrom(nil, base62[:36], 8)) + "/B0" + string(r.AppendFrom(nil, base62[:36], 8)) + "/" + string(r.AppendFrom(nil, base62, 24))
				body.WriteString(`,"notify_webhook":"`)
			} else {
				body.WriteString(`,"api_key":"`)
			}
			body.WriteString(secret)
			body.WriteByte('"')
			if c.secret != nil {
				c.secret(secret)
			}
		}
		body.WriteByte('}')
		c.w.Str(body.String())
	}
	c.w.KInt("status_code", int64(simkit.Pick(r, []int{200, 200, 200, 200, 200, 200, 200, 200, 400, 401, 403, 429})))
	url := "https://api.anthropic.com/v1/compliance/"
	switch r.Intn(4) {
	case 0:
		url += "organizations/" + s.dir.orgs[r.Intn(len(s.dir.orgs))].ID + "/users?limit=" + strconv.Itoa(simkit.Pick(r, []int{20, 100}))
	case 1:
		url += "apps/chats/" + s.ref("claude_chat_", r.Intn(5000)) + "/messages"
	default:
		url += "activities?limit=" + strconv.Itoa(simkit.Pick(r, []int{100, 1000, 5000}))
		if r.Chance(0.5) {
			url += "&after_id=activity_01" + string(r.AppendFrom(nil, base62, 22))
		}
	}
	if method == "GET" && r.Chance(0.1) {
		secret := "sk-ant-api01-" + string(r.AppendFrom(nil, base62+"-_", 86)) + "AA"
		if strings.Contains(url, "?") {
			url += "&"
		} else {
			url += "?"
		}
		url += "api_key=" + secret
		if c.secret != nil {
			c.secret(secret)
		}
	}
	c.w.KStr("url", url)
}
