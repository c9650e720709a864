package openaisim

import (
	"strings"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// resKind says what an event type's resource (obj[type].id) is.
type resKind uint8

const (
	resNone    resKind = iota // no id in the payload
	resGeneric                // prefix + base62 derived from meta.res
	resProject
	resUser
	resKey
	resAccount
	resOrg
)

// scope says when an event carries "project".
type scope uint8

const (
	scopeNone   scope = iota
	scopeRes          // the project of the resource (key, service account, project)
	scopeAlways       // a random project
	scopeSome         // a random project, half of the time
)

type actorRule uint8

const (
	actorAny     actorRule = iota // null, session or api key
	actorSession                  // always a session (logins, tenant admin)
)

type evType struct {
	name    string
	weight  int
	res     resKind
	prefix  string // for resGeneric
	scope   scope
	actor   actorRule
	tenant  bool
	known   bool // listed in OpenAI's description
	payload func(w *jw, r *simkit.RNG, s *Server, m *meta)
}

// Audit event types. Organization types are those of section 2 of the API
// notes (all 59), weighted so logins and API key changes dominate; then a
// few tenant.* types and two types OpenAI does not document, which carry
// extra unknown fields to prove pass-through.
var catalog = []evType{
	{name: "api_key.created", weight: 60, res: resKey, scope: scopeRes, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		scopeList(w, r, "scopes")
		w.Close()
	}},
	{name: "api_key.updated", weight: 25, res: resKey, scope: scopeRes, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		scopeList(w, r, "scopes")
		w.Close()
	}},
	{name: "api_key.deleted", weight: 40, res: resKey, scope: scopeRes},
	{name: "certificate.created", weight: 4, res: resGeneric, prefix: "cert_", payload: certName},
	{name: "certificate.updated", weight: 3, res: resGeneric, prefix: "cert_", payload: certName},
	{name: "certificate.deleted", weight: 3, res: resGeneric, prefix: "cert_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		certName(w, r, s, m)
		w.Key("certificate")
		w.B = appendPEM(w.B, r)
	}},
	{name: "certificates.activated", weight: 2, payload: certList},
	{name: "certificates.deactivated", weight: 2, payload: certList},
	{name: "checkpoint.permission.created", weight: 4, res: resGeneric, prefix: "cp_", scope: scopeAlways, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		w.KStr("project_id", s.dir.projects[r.Intn(len(s.dir.projects))].id)
		w.Key("fine_tuned_model_checkpoint")
		w.B = append(w.B, `"ft:gpt-4o-mini-2024-07-18:`...)
		w.B = append(w.B, strings.ToLower(s.dir.orgName)...)
		w.B = append(w.B, "::"...)
		w.B = appendAlnum(r, w.B, 8)
		w.B = append(w.B, `:ckpt-step-`...)
		w.B = append(w.B, simkit.Pick(r, []string{"100", "200", "400", "800"})...)
		w.B = append(w.B, '"')
		w.Close()
	}},
	{name: "checkpoint.permission.deleted", weight: 2, res: resGeneric, prefix: "cp_", scope: scopeAlways},
	{name: "external_key.registered", weight: 2, res: resGeneric, prefix: "ekey_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		w.KStr("provider", simkit.Pick(r, []string{"aws_kms", "gcp_kms", "azure_key_vault"}))
		w.kid("key_ref", "arn:aws:kms:us-east-1:1234567890:key/", r, 20)
		w.Close()
	}},
	{name: "external_key.removed", weight: 1, res: resGeneric, prefix: "ekey_"},
	{name: "group.created", weight: 4, res: resGeneric, prefix: "group_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		w.KStr("group_name", simkit.Pick(r, groupNames))
		w.Close()
	}},
	{name: "group.updated", weight: 3, res: resGeneric, prefix: "group_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		w.KStr("group_name", simkit.Pick(r, groupNames))
		w.Close()
	}},
	{name: "group.deleted", weight: 2, res: resGeneric, prefix: "group_"},
	{name: "invite.sent", weight: 8, res: resGeneric, prefix: "invite-", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		w.Key("email")
		w.B = append(w.B, '"')
		w.B = append(w.B, strings.ToLower(simkit.Pick(r, firstNames))...)
		w.B = append(w.B, '.')
		w.B = appendHex(r, w.B, 4)
		w.B = append(w.B, '@')
		w.B = append(w.B, s.dir.domain...)
		w.B = append(w.B, '"')
		w.KStr("role", simkit.Pick(r, []string{"reader", "reader", "owner"}))
		w.Close()
	}},
	{name: "invite.accepted", weight: 6, res: resGeneric, prefix: "invite-"},
	{name: "invite.deleted", weight: 2, res: resGeneric, prefix: "invite-"},
	{name: "ip_allowlist.created", weight: 2, res: resGeneric, prefix: "ipal_", payload: ipAllowlist},
	{name: "ip_allowlist.updated", weight: 2, res: resGeneric, prefix: "ipal_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		allowedIPs(w, r)
	}},
	{name: "ip_allowlist.deleted", weight: 1, res: resGeneric, prefix: "ipal_", payload: ipAllowlist},
	{name: "ip_allowlist.config.activated", weight: 1, payload: ipConfigs},
	{name: "ip_allowlist.config.deactivated", weight: 1, payload: ipConfigs},
	{name: "login.succeeded", weight: 300, actor: actorSession, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {}},
	{name: "login.failed", weight: 40, actor: actorSession, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		e := simkit.Pick(r, loginErrors)
		w.KStr("error_code", e[0])
		w.KStr("error_message", e[1])
	}},
	{name: "logout.succeeded", weight: 80, actor: actorSession, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {}},
	{name: "logout.failed", weight: 3, actor: actorSession, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.KStr("error_code", "session_not_found")
		w.KStr("error_message", "The session has already expired or been revoked.")
	}},
	{name: "organization.updated", weight: 4, res: resOrg, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		switch r.Intn(5) {
		case 0:
			w.KStr("title", s.dir.orgName+" "+simkit.Pick(r, []string{"Inc.", "AI", "Platform", "Labs"}))
		case 1:
			w.KStr("description", "Production organization for "+s.dir.orgName)
		case 2:
			w.KStr("threads_ui_visibility", simkit.Pick(r, []string{"ANY_ROLE", "OWNERS", "NONE"}))
			w.KStr("usage_dashboard_visibility", simkit.Pick(r, []string{"ANY_ROLE", "OWNERS"}))
		case 3:
			w.KStr("api_call_logging", simkit.Pick(r, []string{"enabled_per_project", "enabled_for_all_projects", "disabled"}))
			w.Key("api_call_logging_project_ids")
			w.Str(s.dir.projects[r.Intn(len(s.dir.projects))].id)
		default:
			w.KStr("name", strings.ToLower(s.dir.orgName)+"-"+string(appendHex(r, nil, 4)))
		}
		w.Close()
	}},
	{name: "project.created", weight: 4, res: resProject, scope: scopeRes, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		p := &s.dir.projects[m.proj]
		w.Key("data")
		w.Open()
		w.KStr("name", p.name)
		w.KStr("title", p.name)
		w.Close()
	}},
	{name: "project.updated", weight: 4, res: resProject, scope: scopeRes, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		w.KStr("title", s.dir.projects[m.proj].name+" "+simkit.Pick(r, []string{"(prod)", "v2", "EU", "sandbox"}))
		w.Close()
	}},
	{name: "project.archived", weight: 2, res: resProject, scope: scopeRes},
	{name: "project.deleted", weight: 1, res: resProject, scope: scopeRes},
	{name: "rate_limit.updated", weight: 5, res: resGeneric, prefix: "rl-", scope: scopeAlways, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		w.KInt("max_requests_per_1_minute", int64(r.Between(1, 100)*100))
		w.KInt("max_tokens_per_1_minute", int64(r.Between(1, 200)*10000))
		if r.Chance(0.3) {
			w.KInt("max_images_per_1_minute", int64(r.Between(1, 50)))
		}
		if r.Chance(0.2) {
			w.KInt("max_audio_megabytes_per_1_minute", int64(r.Between(1, 100)))
		}
		if r.Chance(0.4) {
			w.KInt("max_requests_per_1_day", int64(r.Between(1, 100)*1000))
		}
		if r.Chance(0.3) {
			w.KInt("batch_1_day_max_input_tokens", int64(r.Between(1, 100)*1000000))
		}
		w.Close()
	}},
	{name: "rate_limit.deleted", weight: 1, res: resGeneric, prefix: "rl-", scope: scopeAlways},
	{name: "resource.deleted", weight: 3, res: resGeneric, prefix: "file-", scope: scopeSome, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.KStr("object", simkit.Pick(r, []string{"file", "vector_store", "assistant", "batch"}))
	}},
	{name: "tunnel.created", weight: 1, res: resGeneric, prefix: "tunnel_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.KStr("name", simkit.Pick(r, []string{"onprem-connector", "vpc-link", "private-egress"}))
	}},
	{name: "tunnel.updated", weight: 1, res: resGeneric, prefix: "tunnel_"},
	{name: "tunnel.deleted", weight: 1, res: resGeneric, prefix: "tunnel_"},
	{name: "workload_identity_provider.created", weight: 1, res: resGeneric, prefix: "wip_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		w.KStr("issuer", simkit.Pick(r, []string{"https://token.actions.githubusercontent.com", "https://accounts.google.com", "https://oidc.eks.us-east-1.amazonaws.com/id/"}))
		w.KStr("audience", "https://api.openai.com")
		w.Close()
	}},
	{name: "workload_identity_provider.updated", weight: 1, res: resGeneric, prefix: "wip_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		w.KStr("audience", "https://api.openai.com/"+string(appendHex(r, nil, 6)))
		w.Close()
	}},
	{name: "workload_identity_provider.deleted", weight: 1, res: resGeneric, prefix: "wip_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.KStr("name", "github-actions")
	}},
	{name: "workload_identity_provider_mapping.created", weight: 1, res: resGeneric, prefix: "wipm_", payload: wipMapping("data", "/backend:ref:refs/heads/main")},
	{name: "workload_identity_provider_mapping.updated", weight: 1, res: resGeneric, prefix: "wipm_", payload: wipMapping("changes_requested", "/*:environment:production")},
	{name: "workload_identity_provider_mapping.deleted", weight: 1, res: resGeneric, prefix: "wipm_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.kid("identity_provider_id", "wip_", r, 20)
	}},
	{name: "role.created", weight: 3, res: resGeneric, prefix: "role_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.KStr("role_name", simkit.Pick(r, []string{"Billing viewer", "Model deployer", "Auditor", "Key manager"}))
		permissions(w, r)
		w.KStr("resource_type", "api.organization")
		w.KStr("resource_id", s.dir.orgID)
	}},
	{name: "role.updated", weight: 2, res: resGeneric, prefix: "role_", payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		w.KStr("role_name", simkit.Pick(r, []string{"Billing viewer", "Model deployer", "Auditor", "Key manager"}))
		w.KStr("description", "Updated by the platform team")
		permissions(w, r)
		w.Close()
	}},
	{name: "role.deleted", weight: 1, res: resGeneric, prefix: "role_"},
	{name: "role.assignment.created", weight: 4, res: resGeneric, prefix: "ra_", payload: roleAssignment},
	{name: "role.assignment.deleted", weight: 2, res: resGeneric, prefix: "ra_", payload: roleAssignment},
	{name: "role.bound_to_resource", weight: 1, res: resGeneric, prefix: "rb_", payload: roleBinding},
	{name: "role.unbound_from_resource", weight: 1, res: resGeneric, prefix: "rb_", payload: roleBinding},
	{name: "scim.enabled", weight: 1, res: resGeneric, prefix: "scim_"},
	{name: "scim.disabled", weight: 1, res: resGeneric, prefix: "scim_"},
	{name: "service_account.created", weight: 5, res: resAccount, scope: scopeRes, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		w.KStr("role", s.dir.accounts[m.res].role)
		w.Close()
	}},
	{name: "service_account.updated", weight: 2, res: resAccount, scope: scopeRes, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		w.KStr("role", simkit.Pick(r, []string{"member", "owner"}))
		w.Close()
	}},
	{name: "service_account.deleted", weight: 2, res: resAccount, scope: scopeRes},
	{name: "user.added", weight: 8, res: resUser, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("data")
		w.Open()
		w.KStr("role", s.dir.users[m.res].role)
		w.Close()
	}},
	{name: "user.updated", weight: 5, res: resUser, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.Key("changes_requested")
		w.Open()
		w.KStr("role", simkit.Pick(r, []string{"owner", "reader"}))
		w.Close()
	}},
	{name: "user.deleted", weight: 3, res: resUser},

	// Tenant-scoped types: only served with tenant_only=true. OpenAI
	// publishes no payload schema for them.
	{name: "tenant.user.added", weight: 3, res: resUser, actor: actorSession, tenant: true, payload: tenantPayload},
	{name: "tenant.user.updated", weight: 2, res: resUser, actor: actorSession, tenant: true, payload: tenantPayload},
	{name: "tenant.policy.updated", weight: 2, res: resGeneric, prefix: "pol_", actor: actorSession, tenant: true, payload: tenantPayload},
	{name: "tenant.sso_connection.updated", weight: 1, res: resGeneric, prefix: "sso_", actor: actorSession, tenant: true, payload: tenantPayload},
	{name: "tenant.group.member.added", weight: 2, res: resGeneric, prefix: "group_", actor: actorSession, tenant: true, payload: tenantPayload},
	{name: "tenant.admin_api_key.created", weight: 1, res: resGeneric, prefix: "key_", actor: actorSession, tenant: true, payload: tenantPayload},
	{name: "tenant.session_revocation.started", weight: 1, res: resUser, actor: actorSession, tenant: true, payload: tenantPayload},
	{name: "tenant.billing.alerts.updated", weight: 1, res: resOrg, actor: actorSession, tenant: true, payload: tenantPayload},

	// Types OpenAI does not list (yet): consumers must pass them through.
	{name: "widget.frobnicated", weight: 3, res: resGeneric, prefix: "wdg_", scope: scopeSome, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.KInt("frobnication_level", int64(r.Between(1, 11)))
		w.Key("knobs")
		w.OpenArray()
		for n := r.Between(1, 4); n > 0; n-- {
			w.Open()
			w.KStr("name", simkit.Pick(r, []string{"gain", "skew", "jitter", "warp"}))
			w.KInt("value", int64(r.Intn(1000)))
			w.Close()
		}
		w.CloseArray()
		w.Key("nested")
		w.Raw(`{"deeper":{"still":[1,2.5,"three",null,true]}}`)
	}},
	{name: "vector_store.file_batch.reindexed", weight: 2, res: resGeneric, prefix: "vs_", scope: scopeAlways, payload: func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.kid("file_batch_id", "vsfb_", r, 24)
		w.KInt("file_count", int64(r.Between(1, 500)))
		w.KStr("reason", simkit.Pick(r, []string{"embedding_model_upgrade", "chunking_strategy_changed"}))
	}},
}

var (
	catalogIndex   = map[string]int{}
	catalogWeights simkit.Weights
)

func init() {
	for i := range catalog {
		t := &catalog[i]
		t.tenant = strings.HasPrefix(t.name, "tenant.")
		t.known = !strings.HasPrefix(t.name, "widget.") && !strings.HasPrefix(t.name, "vector_store.")
		catalogIndex[t.name] = i
		catalogWeights.Add(t.weight)
	}
}

// EventTypes returns the names of every audit event type the simulator emits:
// the organization types, some tenant.* types and a few undocumented ones.
func EventTypes() []string {
	out := make([]string, len(catalog))
	for i := range catalog {
		out[i] = catalog[i].name
	}
	return out
}

func pickType(x uint64) int { return catalogWeights.Pick(x) }

var groupNames = []string{"Platform Engineering", "Data Science", "Security", "Support", "Contractors", "Finance"}

var apiScopes = []string{"api.model.read", "api.model.request", "api.files.read", "api.files.write", "api.fine_tuning.jobs.write",
	"api.assistants.read", "api.assistants.write", "api.threads.write", "api.vector_stores.read", "api.batch.write", "api.responses.write"}

func pickScopes(r *simkit.RNG) []string {
	start := r.Intn(len(apiScopes))
	n := r.Between(1, 5)
	if start+n > len(apiScopes) {
		n = len(apiScopes) - start
	}
	return apiScopes[start : start+n]
}

var ipAllowlistNames = []string{"Office egress", "VPN", "CI runners", "Datacenter"}

var loginErrors = [][2]string{
	{"invalid_credentials", "The email or password you entered is incorrect."},
	{"mfa_failed", "The multi-factor authentication code was invalid or expired."},
	{"account_locked", "Too many failed attempts; the account is temporarily locked."},
	{"sso_required", "This organization requires single sign-on; password login is disabled."},
	{"ip_not_allowed", "Login from this IP address is not permitted by the organization's IP allowlist."},
}

var certNames = []string{"mtls-client-2025", "gateway-ca", "partner-edge", "internal-root-r2"}

func certName(w *jw, r *simkit.RNG, s *Server, m *meta) { w.KStr("name", simkit.Pick(r, certNames)) }

func certList(w *jw, r *simkit.RNG, s *Server, m *meta) {
	namedList(w, r, "certificates", "cert_", 3, certNames)
}

func ipConfigs(w *jw, r *simkit.RNG, s *Server, m *meta) {
	namedList(w, r, "configs", "ipal_", 2, ipAllowlistNames)
}

// namedList writes under key a list of 1 to most objects, each an id of
// prefix and a name picked from names.
func namedList(w *jw, r *simkit.RNG, key, prefix string, most int, names []string) {
	w.Key(key)
	w.OpenArray()
	for n := r.Between(1, most); n > 0; n-- {
		w.Open()
		w.kid("id", prefix, r, 24)
		w.KStr("name", simkit.Pick(r, names))
		w.Close()
	}
	w.CloseArray()
}

func ipAllowlist(w *jw, r *simkit.RNG, s *Server, m *meta) {
	w.KStr("name", simkit.Pick(r, ipAllowlistNames))
	allowedIPs(w, r)
}

func allowedIPs(w *jw, r *simkit.RNG) {
	w.Key("allowed_ips")
	w.OpenArray()
	for n := r.Between(1, 4); n > 0; n-- {
		w.elem()
		w.Str(simkit.Pick(r, []string{"203.0.113.0/24", "198.51.100.7/32", "192.0.2.0/25", "100.64.10.0/22", "2001:db8::/48"}))
	}
	w.CloseArray()
}

func permissions(w *jw, r *simkit.RNG) { scopeList(w, r, "permissions") }

// scopeList writes "key":[...], a random run of API scopes.
func scopeList(w *jw, r *simkit.RNG, key string) {
	w.Key(key)
	w.OpenArray()
	for _, sc := range pickScopes(r) {
		w.elem()
		w.Str(sc)
	}
	w.CloseArray()
}

// wipMapping returns the payload of a workload identity provider mapping
// that is created (key data) or updated (key changes_requested): its
// provider, and under key the subject, a repository of the organization
// followed by suffix.
func wipMapping(key, suffix string) func(w *jw, r *simkit.RNG, s *Server, m *meta) {
	return func(w *jw, r *simkit.RNG, s *Server, m *meta) {
		w.kid("identity_provider_id", "wip_", r, 20)
		w.Key(key)
		w.Open()
		w.KStr("subject", "repo:"+strings.ToLower(s.dir.orgName)+suffix)
		w.Close()
	}
}

func roleAssignment(w *jw, r *simkit.RNG, s *Server, m *meta) {
	u := &s.dir.users[r.Intn(len(s.dir.users))]
	w.KStr("principal_id", u.id)
	w.KStr("principal_type", "user")
	if r.Chance(0.5) {
		w.KStr("resource_id", s.dir.orgID)
		w.KStr("resource_type", "api.organization")
	} else {
		w.KStr("resource_id", s.dir.projects[r.Intn(len(s.dir.projects))].id)
		w.KStr("resource_type", "api.project")
	}
}

func roleBinding(w *jw, r *simkit.RNG, s *Server, m *meta) {
	w.kid("role_id", "role_", r, 24)
	w.KStr("resource_id", s.dir.projects[r.Intn(len(s.dir.projects))].id)
	w.KStr("resource_type", "api.project")
	permissions(w, r)
	w.kid("workspace_id", "ws_", r, 20)
	w.kid("connector_id", "conn_", r, 20)
	w.KStr("connector_name", simkit.Pick(r, []string{"Google Drive", "SharePoint", "GitHub", "Slack"}))
	w.KBool("enabled", r.Chance(0.8))
	w.KStr("source", simkit.Pick(r, []string{"admin_console", "api", "scim"}))
}

func tenantPayload(w *jw, r *simkit.RNG, s *Server, m *meta) {
	w.kid("tenant_id", "tnt_", r, 20)
	w.Key("details")
	w.Open()
	w.KStr("actor_surface", simkit.Pick(r, []string{"admin_console", "scim", "api"}))
	w.KStr("workspace_name", s.dir.orgName+" Workspace")
	w.KInt("version", int64(r.Between(1, 40)))
	w.Close()
}

func appendPEM(b []byte, r *simkit.RNG) []byte {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b = append(b, `"-----BEGIN CERTIFICATE-----\nMIIC`...)
	for line := 0; line < 5; line++ {
		n := 64
		if line == 0 {
			n = 60
		}
		for i := 0; i < n; i++ {
			b = append(b, b64[r.Next()&63])
		}
		b = append(b, `\n`...)
	}
	b = append(b, `-----END CERTIFICATE-----\n"`...)
	return b
}
