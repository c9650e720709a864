package ecs

import (
	"time"

	"github.com/auditrelay/auditrelay/schema/anthropic"
)

// anthropicRules classify Anthropic's activity types, first match winning.
// The API names hundreds of types and adds more: the rules go by family
// (a name's prefix and its last word), so that a new type of a known family
// is classified as its siblings are. A sign-in is authentication (one that
// failed starts no session); people, invitations, roles, groups and
// directory sync are iam; keys, service accounts, federation, SSO, domains
// and IP restrictions iam and configuration; files uploaded, viewed and
// deleted are file events; chats, projects and artifacts, calls to the
// Compliance API and exports are api activity; settings, integrations,
// workspaces and billing are configuration; Anthropic's abuse decisions
// are alerts of its own detection.
var anthropicRules = []rule{
	{match: []string{"*_login_failed"}, class: class{categories: []string{"authentication"}, types: []string{"start"}}},
	{match: []string{"*_login_succeeded"}, class: class{categories: []string{"authentication", "session"}, types: []string{"start"}}},
	{match: []string{"*_login_*", "sso_second_factor_*", "phone_code_*"}, class: class{categories: []string{"authentication"}, types: []string{"info"}}},
	{match: []string{"user_logged_out"}, class: class{categories: []string{"authentication", "session"}, types: []string{"end"}}},
	{match: []string{"session_revoked"}, class: class{categories: []string{"session"}, types: []string{"end"}}},

	{match: []string{"*_access_failed"}, class: class{categories: []string{"api"}, types: []string{"denied"}}},
	{match: []string{"claude_*file*_uploaded", "claude_*document*_uploaded", "platform_file_uploaded"}, class: class{categories: []string{"file"}, types: []string{"creation"}}},
	{match: []string{"claude_*file*_viewed", "claude_*document*_viewed", "platform_file_viewed"}, class: class{categories: []string{"file"}, types: []string{"access"}}},
	{match: []string{"claude_*file*_deleted", "claude_*document*_deleted", "platform_file_deleted"}, class: class{categories: []string{"file"}, types: []string{"deletion"}}},

	{match: []string{"org_users_listed", "org_members_exported"}, class: class{categories: []string{"iam"}, types: []string{"user", "info"}}},
	{match: []string{"primary_owner_transferred"}, class: class{categories: []string{"iam"}, types: []string{"user", "admin", "change"}}},
	{match: []string{"claude_user_role_updated", "rbac_role_assigned", "rbac_role_unassigned", "role_assignment_*"},
		class: class{categories: []string{"iam"}, types: []string{"user", "change"}}},
	{match: []string{"rbac_role_*"}, class: class{categories: []string{"iam"}, types: []string{"admin"}}, verb: true},
	{match: []string{"org_user_*", "scim_user_*", "platform_workspace_member_*"}, class: class{categories: []string{"iam"}, types: []string{"user"}}, verb: true},
	{match: []string{"group_member_*"}, class: class{categories: []string{"iam"}, types: []string{"group", "change"}}},
	{match: []string{"group_*", "scim_group_*"}, class: class{categories: []string{"iam"}, types: []string{"group"}}, verb: true},
	{match: []string{"org_invite_link_*"}, class: class{categories: []string{"iam"}, types: []string{"admin"}}, verb: true},
	{match: []string{"admin_api_key_*", "api_key_*", "platform_api_key_*", "scoped_api_key_*", "service_key_*",
		"platform_service_account_*", "platform_signing_key_*", "platform_federation_*", "scim_*", "org_directory_sync_*",
		"org_sso_*", "org_domain_*", "org_ip_restriction_*"}, class: class{categories: []string{"iam", "configuration"}}, verb: true},

	{match: []string{"compliance_api_accessed", "*_viewed"}, class: class{categories: []string{"api"}, types: []string{"access"}}},
	{match: []string{"*export*_started"}, class: class{categories: []string{"api"}, types: []string{"access", "start"}}},
	{match: []string{"*export*_completed"}, class: class{categories: []string{"api"}, types: []string{"access", "end"}}},
	{match: []string{"*export*"}, class: class{categories: []string{"api"}, types: []string{"access"}}},
	{match: []string{"abuse_decision_*"}, class: class{kind: "alert", categories: []string{"intrusion_detection"}, types: []string{"info"}}},
	{match: []string{"claude_chat_*", "claude_project_*", "claude_artifact_*", "claude_agent_*"}, class: class{categories: []string{"api"}}, verb: true},

	{match: []string{"org_deletion_*", "org_bulk_delete_*", "org_deleted_*"}, class: class{categories: []string{"configuration"}, types: []string{"deletion"}}},
	{match: []string{"org_*", "claude_*", "platform_*", "mcp_*", "integration_*", "desktop_*", "subscription_*",
		"payment_*", "extra_usage_*"}, class: class{categories: []string{"configuration"}}, verb: true},
}

// anthropic maps an activity of Anthropic's Compliance API.
func (m *Mapper) anthropic(raw []byte, in map[string]any) map[string]any {
	f, _ := anthropic.ReadObject(raw)
	typ := f.Type()
	c, known := classify(anthropicRules, typ)
	t, err := f.Time()
	if err != nil {
		t = time.Unix(0, 0)
	}
	failed := f.Failure()
	d := m.begin(in, head{vendor: "anthropic", dataset: "anthropic.compliance", id: f.ID(), action: typ, time: t,
		class: c, known: known, failed: failed, level: anthropic.Severity(nil, typ, f.Failed()),
		observer: map[string]any{"vendor": "Anthropic", "product": "Claude", "type": "audit"}})
	a := f.Actor()
	// Whoever the actor is (a person, a key, a service account, a
	// directory, a federated workload, a device), the id that stands for
	// it is user.id; the address an unauthenticated visitor typed is
	// user.email as typed, unverified.
	d.addUser("id", a.ID())
	d.addUser("email", a.Email)
	d.target(f.TargetUser())
	d.source(place{ip: a.IP})
	d.userAgent(a.UserAgent)
	if org := f.OrganizationID(); org != "" {
		d.out["organization"] = map[string]any{"id": org}
	}
	return m.finish(d, in, "anthropic")
}
