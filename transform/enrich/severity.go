package enrich

// levels maps severity names to OCSF severity_id values.
var levels = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// defaultSeverity is the documented default table (transform/README.md),
// checked in order after the configured rules; the first match wins.
// Audit-log types and request-log events (organization.*) share it.
var defaultSeverity = []SeverityRule{
	{"login.failed", "medium"},
	{"logout.failed", "low"},
	{"login.*", "info"},
	{"logout.*", "info"},
	{"organization.updated", "high"},
	{"scim.*", "high"},
	{"ip_allowlist.*", "high"},
	{"certificate.*", "high"},
	{"certificates.*", "high"},
	{"external_key.*", "high"},
	{"workload_identity_provider*", "high"},
	{"tenant.admin_api_key.*", "high"},
	{"tenant.sso_connection.*", "high"},
	{"tenant.session_revocation.*", "high"},
	{"role.*", "high"},
	{"user.deleted", "high"},
	{"organization.user.deleted", "high"},
	{"user.*", "medium"},
	{"invite.*", "medium"},
	{"group.*", "medium"},
	{"api_key.created", "medium"},
	{"api_key.updated", "medium"},
	{"api_key.deleted", "low"},
	{"service_account.*", "medium"},
	{"checkpoint.permission.*", "medium"},
	{"tunnel.*", "medium"},
	{"project.archived", "medium"},
	{"project.deleted", "medium"},
	{"project.*", "low"},
	{"rate_limit.*", "low"},
	{"organization.api_key.*", "medium"},
	{"organization.*", "low"},
	{"tenant.*", "medium"},
	{"*", "info"},
}

// glob reports whether s matches pattern: '*' any run (dots included),
// '?' one byte.
func glob(pattern, s string) bool {
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// severityOf returns the level of typ; request-log failures are at least low.
func severityOf(rules []SeverityRule, typ string) string {
	for _, r := range rules {
		if glob(r.Match, typ) {
			return r.Level
		}
	}
	return "info"
}
