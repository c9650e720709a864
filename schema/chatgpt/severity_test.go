package chatgpt_test

import (
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/internal/schematest"
)

// TestSeverity holds the table to levels read by hand off its rules and
// its doc comment, one or more per type.
func TestSeverity(t *testing.T) {
	for _, tt := range []struct {
		typ, sub, result string
		want             chatgpt.Level
	}{
		{"AUTH_LOG", "login_failed", "", chatgpt.Medium}, // a failed sign-in ranks above the sign-ins
		{"AUTH_LOG", "logout_failed", "", chatgpt.Low},
		{"AUTH_LOG", "login_success", "", chatgpt.Info},
		{"AUTH_LOG", "token_issued", "", chatgpt.Info},
		{"AUTH_LOG", "", "", chatgpt.Info},
		{"AUDIT_LOG", "USER_ROLE_UPDATED", "SUCCESS", chatgpt.High}, // before USER_*
		{"AUDIT_LOG", "WORKSPACE_TOGGLE_FEATURE", "SUCCESS", chatgpt.High},
		{"AUDIT_LOG", "API_KEY_CREATED", "SUCCESS", chatgpt.High},
		{"AUDIT_LOG", "SSO_CONNECTION_UPDATED", "SUCCESS", chatgpt.High},
		{"AUDIT_LOG", "SCIM_TOKEN_REVOKED", "SUCCESS", chatgpt.High},
		{"AUDIT_LOG", "API_KEY_DELETED", "SUCCESS", chatgpt.High}, // before *DELETE*
		{"AUDIT_LOG", "INVITE_SEND", "SUCCESS", chatgpt.Medium},
		{"AUDIT_LOG", "USER_REMOVED", "SUCCESS", chatgpt.Medium},
		{"AUDIT_LOG", "GPT_DELETED", "SUCCESS", chatgpt.Medium},
		{"AUDIT_LOG", "LIST_WORKSPACE_LOG_FILES", "SUCCESS", chatgpt.Low}, // reading the compliance logs
		{"AUDIT_LOG", "SOMETHING_NEW", "SUCCESS", chatgpt.Low},            // an admin action no rule names
		{"AUDIT_LOG", "", "", chatgpt.Low},
		// A blocked action is at least medium; it is never lowered.
		{"AUDIT_LOG", "LIST_WORKSPACE_LOG_FILES", "BLOCKED", chatgpt.Medium},
		{"AUDIT_LOG", "INVITE_SEND", "BLOCKED", chatgpt.Medium},
		{"AUDIT_LOG", "USER_ROLE_UPDATED", "BLOCKED", chatgpt.High},
		{"AUDIT_LOG", "SOMETHING_NEW", "FAILED", chatgpt.Low},
		{"CODEX_SECURITY_LOG", "SCAN_FINDING_UPDATED", "", chatgpt.Medium},
		{"CODEX_SECURITY_LOG", "SCAN_CONFIGURATION_UPDATED", "", chatgpt.Medium},
		{"CODEX_SECURITY_LOG", "PROPOSED_PATCH_PR_CREATED", "", chatgpt.Low},
		{"CODEX_LOG", "ACCESS_TOKEN_CREATED", "", chatgpt.Medium},
		{"CODEX_LOG", "PROMPT_RESPONSE_RECEIVED", "", chatgpt.Info},
		{"CUSTOM_AGENTS_LOG", "AGENT_PUBLISHED", "", chatgpt.Medium},
		{"CUSTOM_AGENTS_LOG", "AGENT_DELETED", "", chatgpt.Medium},
		{"CUSTOM_AGENTS_LOG", "CONNECTOR_OAUTH_RESOLVED", "", chatgpt.Medium},
		{"CUSTOM_AGENTS_LOG", "AGENT_UPDATED", "", chatgpt.Low},
		{"CUSTOM_AGENTS_LOG", "TRIGGER_DELETED", "", chatgpt.Low},
		{"CUSTOM_AGENTS_LOG", "AGENT_RUN_FAILED", "", chatgpt.Low},
		{"CUSTOM_AGENTS_LOG", "AGENT_RUN_MESSAGE", "", chatgpt.Info},
		{"CUSTOM_AGENTS_LOG", "MEMORY_DELETE", "", chatgpt.Info},
		{"APP_AUTH_LOG", "link", "", chatgpt.Low},
		{"APP_AUTH_LOG", "unlink", "", chatgpt.Info},
		{"APP_LOG", "request", "", chatgpt.Info},
		{"CONVERSATION_MESSAGE", "user", "", chatgpt.Info},
		{"CONVERSATION_MESSAGE", "assistant", "", chatgpt.Info},
		{"FUTURE_LOG", "SOMETHING", "", chatgpt.Info}, // unknown types are info
		{"FUTURE_LOG", "SOMETHING", "BLOCKED", chatgpt.Medium},
		{"", "", "", chatgpt.Info},
	} {
		if got := chatgpt.Severity(nil, tt.typ, tt.sub, tt.result); got != tt.want {
			t.Errorf("Severity(%s, %s, %q) = %s, want %s", tt.typ, tt.sub, tt.result, got, tt.want)
		}
	}
	for _, r := range chatgpt.Severities {
		if !r.Level.Valid() || pipeline.ValidPattern(r.Match) != nil {
			t.Errorf("rule %q: level %q or pattern not valid", r.Match, r.Level)
		}
		// A rule names a type, or a type and a sub-type: a pattern that
		// does not begin with a known type would rank records of others.
		typ, _, _ := strings.Cut(r.Match, ".")
		if !strings.HasSuffix(typ, "_LOG") && typ != chatgpt.TypeConversationMessage {
			t.Errorf("rule %q does not begin with a type", r.Match)
		}
	}
}

// TestSeverityOverrides: a user's rule goes first, by either name, and a
// blocked record is still at least medium after it.
func TestSeverityOverrides(t *testing.T) {
	rules := []chatgpt.Rule{{Match: "AUTH_LOG.login_failed", Level: chatgpt.High}, {Match: "CONVERSATION_MESSAGE", Level: chatgpt.Low},
		{Match: "AUDIT_LOG", Level: chatgpt.Info}}
	for _, tt := range []struct {
		typ, sub, result string
		want             chatgpt.Level
	}{
		{"AUTH_LOG", "login_failed", "", chatgpt.High},
		{"AUTH_LOG", "logout_failed", "", chatgpt.Low}, // the table
		{"CONVERSATION_MESSAGE", "user", "", chatgpt.Low},
		{"AUDIT_LOG", "USER_ROLE_UPDATED", "SUCCESS", chatgpt.Info}, // the bare type overrides every action
		{"AUDIT_LOG", "USER_ROLE_UPDATED", "BLOCKED", chatgpt.Medium},
	} {
		if got := chatgpt.Severity(rules, tt.typ, tt.sub, tt.result); got != tt.want {
			t.Errorf("Severity(overrides, %s, %s, %q) = %s, want %s", tt.typ, tt.sub, tt.result, got, tt.want)
		}
	}
}

// TestFieldsSeverity ranks the fixtures as read: the level of their type,
// sub-type and action_result, and what enrich annotated over it.
func TestFieldsSeverity(t *testing.T) {
	for file, want := range map[string]chatgpt.Level{
		"auth_log.json":               chatgpt.Medium, // login_failed
		"audit_log_user.json":         chatgpt.High,   // USER_ROLE_UPDATED, BLOCKED
		"audit_log_api_key.json":      chatgpt.Low,    // LIST_WORKSPACE_LOG_FILES
		"codex_security_log.json":     chatgpt.Medium, // SCAN_FINDING_UPDATED
		"codex_log.json":              chatgpt.Info,
		"custom_agents_log.json":      chatgpt.Info, // AGENT_RUN_MESSAGE
		"app_auth_log.json":           chatgpt.Info, // unlink
		"app_log_request.json":        chatgpt.Info,
		"conversation_user.json":      chatgpt.Info,
		"conversation_assistant.json": chatgpt.Info,
		"unknown_type.json":           chatgpt.Info,
		"no_actor_no_type.json":       chatgpt.Info,
	} {
		f, err := chatgpt.ReadObject(schematest.Fixture(t, "valid", file))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Severity(nil); got != want {
			t.Errorf("%s: %s, want %s", file, got, want)
		}
	}
	f, _ := chatgpt.ReadObject(schematest.Fixture(t, "valid", "audit_log_user.json"))
	if f.ActionResult() != chatgpt.ResultBlocked {
		t.Errorf("ActionResult = %q", f.ActionResult())
	}
	for raw, want := range map[string]chatgpt.Level{
		`{"event_id":"a","type":"AUTH_LOG","auditrelay":{"severity":"critical","severity_id":5}}`: chatgpt.Critical,
		`{"event_id":"a","type":"AUTH_LOG","auditrelay":{"severity":"loud"}}`:                     "",
		`{"event_id":"a","type":"AUTH_LOG","auditrelay":"high"}`:                                  "",
		`{"event_id":"a","type":"AUTH_LOG"}`:                                                      "",
	} {
		f, err := chatgpt.ReadObject([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.AnnotatedSeverity(); got != want {
			t.Errorf("%s: annotated %q, want %q", raw, got, want)
		}
	}
}
