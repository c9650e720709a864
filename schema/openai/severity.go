package openai

import "github.com/auditrelay/auditrelay/pipeline"

// Level is the severity of an event type: info, low, medium, high or
// critical (OCSF's scale; ID gives its severity_id).
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

// Rule gives a level to the event types matching a pattern (pipeline.Match).
type Rule struct {
	Match string
	Level Level
}

// Severities is the one severity table of OpenAI's event types (both logs:
// request-log events are organization.*), tried in order, the first match
// winning: who can get in and what they may do (access, keys, roles,
// allow-lists, certificates, SSO, SCIM) ranks above the directory (users,
// invites, groups, projects), which ranks above routine activity. Failed
// sign-ins rank above the sign-ins themselves; a deletion the table does not
// name is low. transform/README.md lists it.
var Severities = []Rule{
	{"login.failed", Medium},
	{"logout.failed", Low},
	{"login.*", Info},
	{"logout.*", Info},
	{"organization.updated", High},
	{"scim.*", High},
	{"ip_allowlist.*", High},
	{"certificate.*", High},
	{"certificates.*", High},
	{"external_key.*", High},
	{"workload_identity_provider*", High},
	{"tenant.admin_api_key.*", High},
	{"tenant.sso_connection.*", High},
	{"tenant.session_revocation.*", High},
	{"role.*", High},
	{"user.deleted", High},
	{"organization.user.deleted", High},
	{"user.*", Medium},
	{"invite.*", Medium},
	{"group.*", Medium},
	{"api_key.created", Medium},
	{"api_key.updated", Medium},
	{"api_key.deleted", Low},
	{"service_account.*", Medium},
	{"checkpoint.permission.*", Medium},
	{"tunnel.*", Medium},
	{"project.archived", Medium},
	{"project.deleted", Medium},
	{"project.*", Low},
	{"rate_limit.*", Low},
	{"organization.api_key.*", Medium},
	{"organization.*", Low},
	{"tenant.*", Medium},
	{"*.deleted", Low},
}

// Severity returns the level of an event of type typ: the first of rules
// (a user's overrides), then of Severities, that matches; info when none
// does. A request that failed is at least low.
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

// AnnotatedSeverity is the level enrich wrote into the event (its
// auditrelay member), which honours the user's rules; "" when there is
// none or it is not a level.
func (f *Fields) AnnotatedSeverity() Level {
	if l := Level(f.annotated.Str()); l.Valid() {
		return l
	}
	return ""
}
