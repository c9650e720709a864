package ocsf

import (
	"strconv"
	"strings"

	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// The product of Anthropic's activities (metadata.product.name,
// service.name): the activity feed covers Claude's apps and its developer
// platform alike.
const anthropicProduct = "Claude"

// anthropic maps an Anthropic compliance activity (README.md has the
// table). The types are hundreds and grow: families of types map by the
// noun their names begin with; a type of no family goes to the base event.
// schema/anthropic reads everything it uses: the actor, the person and the
// resource an activity is about, the role it gave, a sign-in's method, a
// Compliance API call, a group's members, the severity.
func (m *Mapper) anthropic(raw []byte) record {
	f, _ := anthropic.ReadObject(raw)
	typ := f.Type()
	t, _ := f.Time()
	r := newRecord(t.UnixMilli(), f.ID(), typ, "compliance_activities", anthropicProduct, "Anthropic")
	a, res := f.Actor(), f.Resource()
	targetID, targetEmail := f.TargetUser()
	role, _ := f.Role()
	verb := lastWord(typ, '_')

	network := true // the class has src_endpoint and http_request
	switch {
	case strings.Contains(typ, "_login_") || mapping.HasPrefix(typ, "sso_second_factor_", "phone_code_", "user_logged_out", "session_revoked"):
		switch {
		case strings.HasSuffix(typ, "_login_succeeded"), strings.HasSuffix(typ, "_login_failed"):
			r.class(ClassAuthentication, actLogon, "")
		case typ == "user_logged_out", typ == "session_revoked":
			r.class(ClassAuthentication, actLogoff, "")
		default: // initiated, attempted, a second factor, a phone code
			r.class(ClassAuthentication, actPreauth, "")
		}
		u := person(targetID, targetEmail, "")
		if u == nil {
			u = anthropicPerson(a)
		}
		r["user"] = userOr(u)
		r["service"] = map[string]any{"name": anthropicProduct}
		r["is_remote"] = true
		_, mfa, reason := f.SignIn()
		if mfa != "" {
			r["is_mfa"] = mfa != "not_used"
		}
		if reason != "" {
			r["status_detail"] = reason
		}
	case mapping.HasPrefix(typ, "rbac_role_assigned", "rbac_role_unassigned", "role_assignment_", "claude_user_role_updated", "primary_owner_transferred"):
		act := actAssign
		if verb == "unassigned" || verb == "revoked" {
			act = actRevoke
		}
		r.class(ClassUserAccess, act, "")
		r["user"] = userOr(person(targetID, targetEmail, ""))
		switch {
		case typ == "primary_owner_transferred":
			role = "primary_owner"
		case role == "" && res.Kind == "role":
			role = res.ID
		}
		r["privileges"] = []any{orDefault(role, "role")}
		if res.Kind == "resource" {
			r.resource(res.Kind, res.ID, res.Name)
		}
	case mapping.HasPrefix(typ, "org_user_", "scim_user_"):
		r.class(ClassAccountChange, anthropicAccountActivity(verb), title(verb))
		kind := ""
		if strings.HasPrefix(typ, "org_user_invite_") {
			kind = "Invite"
		}
		u := person(targetID, targetEmail, kind)
		if u == nil && typ == "org_user_left" {
			u = anthropicPerson(a)
		}
		if u == nil && res.ID != "" { // an invitation by its id
			u = person(res.ID, "", kind)
		}
		r["user"] = userOr(u)
	case mapping.HasPrefix(typ, "admin_api_key_", "api_key_", "platform_api_key_", "scoped_api_key_", "service_key_"):
		r.class(ClassAccountChange, anthropicAccountActivity(verb), title(verb))
		kind := "API Key"
		if strings.HasPrefix(typ, "admin_") {
			kind = "Admin API Key"
		}
		id := orDefault(res.ID, "unknown")
		u := map[string]any{"uid": id, "type": kind, "type_id": 99,
			"programmatic_credentials": []any{map[string]any{"uid": id, "type": kind}}}
		setStr(u, "name", res.Name)
		r["user"] = u
	case strings.HasPrefix(typ, "platform_service_account_"):
		r.class(ClassAccountChange, anthropicAccountActivity(verb), title(verb))
		r["user"] = map[string]any{"uid": orDefault(res.ID, "unknown"), "type": "Service", "type_id": 4}
	case strings.HasPrefix(typ, "group_"), strings.HasPrefix(typ, "platform_workspace_member_"):
		act := map[string]int{"created": actGroupCreate, "deleted": actGroupDelete, "added": actAddUser, "removed": actRemoveUser}[verb]
		r.class(ClassGroupManagement, act, title(verb))
		g := map[string]any{"type": res.Kind}
		setStr(g, "uid", res.ID)
		setStr(g, "name", res.Name)
		if res.ID == "" && res.Name == "" { // the class requires a group
			g["name"] = "unknown"
		}
		r["group"] = g
		// A change of several members names the first as the user;
		// all of them stay in the original.
		u := person(targetID, targetEmail, "")
		if ms := f.Members(); u == nil && len(ms) > 0 {
			u = person(ms[0], "", "")
		}
		if u != nil {
			r["user"] = u
		}
	case typ == anthropic.TypeComplianceAPIAccessed:
		id, method, status := f.Request()
		act := map[string]int{"GET": actRead, "POST": actEMCreate, "PUT": actUpdate, "PATCH": actUpdate, "DELETE": actEMDelete}[method]
		r.class(ClassAPIActivity, act, title(method))
		api := map[string]any{"operation": orDefault(method, "call") + " compliance API", "service": map[string]any{"name": "Compliance API"}}
		if id != "" {
			api["request"] = map[string]any{"uid": id}
		}
		if status != 0 {
			api["response"] = map[string]any{"code": status}
		}
		r["api"] = api
		if method != "" {
			r["http_request"] = map[string]any{"http_method": method}
		}
	case mapping.HasPrefix(typ, "claude_chat_", "claude_file_", "claude_project_document_", "claude_artifact_", "platform_file_"):
		r.class(ClassAPIActivity, verbActivity(verb, true), title(verb))
		r["api"] = map[string]any{"operation": typ, "service": map[string]any{"name": anthropicProduct}}
		r.resource(res.Kind, res.ID, res.Name)
	case mapping.HasPrefix(typ, "claude_project_", "claude_skill_", "claude_plugin_", "claude_gdrive_", "claude_github_",
		"claude_code_review_", "claude_organization_", "claude_user_settings_", "mcp_", "integration_", "desktop_extension_",
		"org_", "platform_", "rbac_role_", "audit_log_export_", "subscription_", "payment_", "extra_usage_", "abuse_"):
		r.class(ClassEntityManagement, verbActivity(verb, false), title(verb))
		e := map[string]any{}
		if res.ID != "" || res.Name != "" {
			e["type"] = res.Kind
			setStr(e, "uid", res.ID)
			setStr(e, "name", res.Name)
		} else {
			// Nothing named: the entity is the kind of thing the type
			// names (org_ip_restriction), of the organization.
			noun := strings.TrimSuffix(typ, "_"+verb)
			e["type"], e["name"] = noun, noun
			if org := f.OrganizationID(); org != "" {
				e["org"] = map[string]any{"uid": org}
			}
		}
		r["entity"] = e
	default:
		// A type of no family: the generic class, the original under
		// unmapped. The host profile carries the actor.
		r.class(ClassBase, actOther, title(orDefault(typ, "unknown")))
		network = false
		if act := anthropicActor(a); act != nil {
			r["actor"] = act
			r.profile("host")
		}
	}
	if network {
		act := anthropicActor(a)
		if act == nil && r["class_uid"] == ClassAPIActivity { // the class requires an actor
			act = map[string]any{"user": userOr(nil)}
		}
		if act != nil {
			r["actor"] = act
		}
		if ep := endpoint(a.IP, "", "", "", "", "", ""); ep != nil {
			r["src_endpoint"] = ep
		} else if r["class_uid"] == ClassAPIActivity {
			r["src_endpoint"] = standIn("", a.ID(), a.Kind)
		}
		if a.UserAgent != "" {
			hr, _ := r["http_request"].(map[string]any)
			if hr == nil {
				hr = map[string]any{}
			}
			hr["user_agent"] = a.UserAgent
			r["http_request"] = hr
		}
	}
	if f.Failure() {
		code := ""
		if _, _, status := f.Request(); status != 0 {
			code = strconv.Itoa(status)
		}
		r.fail(code, "")
	}
	if org := f.OrganizationID(); org != "" {
		r.cloud("Anthropic", org, "", "Anthropic Organization")
	}
	lvl := f.AnnotatedSeverity()
	if lvl == "" {
		lvl = anthropic.Severity(nil, typ, f.Failed())
	}
	r.severity(lvl)
	return r
}

// anthropicAccountActivity is the Account Change activity of a type on
// users, invitations, keys and service accounts.
func anthropicAccountActivity(verb string) int {
	switch verb {
	case "created", "sent":
		return actCreate
	case "accepted":
		return actEnable
	case "revoked":
		return actDisable
	case "deleted", "left":
		return actDelete
	}
	return actOther
}

// anthropicPerson is the person an actor is: a user, or the address an
// unauthenticated user gave; nil for other kinds.
func anthropicPerson(a anthropic.Actor) map[string]any {
	switch a.Kind {
	case anthropic.ActorUser:
		return person(a.UserID, a.Email, "")
	case anthropic.ActorUnauthenticated:
		return person("", a.Email, "Unauthenticated")
	}
	return nil
}

// anthropicActor is the actor of an activity, by its kind: a person; a
// key or a service account as the principal; Anthropic or one of its
// services as a system user; directory sync and federated identities with
// their identity provider; an attested device as the application; nil for
// none or an unknown kind.
func anthropicActor(a anthropic.Actor) map[string]any {
	key := func(id, kind string) map[string]any {
		if id == "" {
			return nil
		}
		return map[string]any{"user": map[string]any{"uid": id, "type": kind, "type_id": 99,
			"programmatic_credentials": []any{map[string]any{"uid": id, "type": kind}}}}
	}
	switch a.Kind {
	case anthropic.ActorUser:
		if u := person(a.UserID, a.Email, ""); u != nil {
			return map[string]any{"user": u}
		}
	case anthropic.ActorUnauthenticated:
		u := person("", a.Email, "Unauthenticated")
		if u == nil {
			u = map[string]any{"name": "unknown", "type": "Unauthenticated"}
		}
		return map[string]any{"user": u}
	case anthropic.ActorAPI:
		return key(a.APIKeyID, "API Key")
	case anthropic.ActorAdminAPIKey:
		return key(a.AdminAPIKeyID, "Admin API Key")
	case anthropic.ActorServiceAccount:
		if a.ServiceAccountID != "" {
			return map[string]any{"user": map[string]any{"uid": a.ServiceAccountID, "type": "Service", "type_id": 4}}
		}
	case anthropic.ActorAnthropic:
		return map[string]any{"user": map[string]any{"name": "Anthropic", "type": "System", "type_id": 3}}
	case anthropic.ActorSystem:
		return map[string]any{"user": map[string]any{"name": orDefault(a.Service, "system"), "type": "System", "type_id": 3}}
	case anthropic.ActorSCIMDirectorySync:
		out := map[string]any{"user": map[string]any{"name": "SCIM directory sync", "type": "Service", "type_id": 4}}
		idp := map[string]any{}
		setStr(idp, "uid", a.DirectoryID)
		setStr(idp, "name", a.IdPConnectionType)
		if len(idp) > 0 {
			out["idp"] = idp
		}
		return out
	case anthropic.ActorFederatedIdentity, anthropic.ActorFederated:
		if a.Subject == "" {
			break
		}
		out := map[string]any{"user": map[string]any{"uid": a.Subject, "type": "Federated Identity"}}
		if idp := orDefault(a.Issuer, a.Provider); idp != "" {
			out["idp"] = map[string]any{"name": idp}
		}
		return out
	case anthropic.ActorAttestedDevice:
		if a.ExternalClientID != "" {
			return map[string]any{"app_uid": a.ExternalClientID, "app_name": "attested device"}
		}
	}
	return nil
}
