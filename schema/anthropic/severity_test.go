package anthropic

import "testing"

func TestSeverity(t *testing.T) {
	overrides := []Rule{{Match: "sso_login_failed", Level: Critical}, {Match: "claude_chat_*", Level: Low}}
	tests := []struct {
		typ    string
		failed bool
		want   Level
	}{
		{"sso_login_failed", false, Critical},                    // an override wins over the table
		{"claude_chat_created", false, Low},                      // so does a pattern override
		{"magic_link_login_failed", false, Medium},               // a failed sign-in ranks above a sign-in
		{"sso_login_succeeded", false, Info},                     // *_login_* after *_login_failed
		{"org_compliance_api_settings_updated", false, Critical}, // the record itself
		{"org_deletion_requested", false, Critical},
		{"primary_owner_transferred", false, Critical},
		{"admin_api_key_created", false, High},
		{"admin_api_key_deleted", false, High}, // before *_deleted
		{"claude_user_role_updated", false, High},
		{"rbac_role_assigned", false, High},
		{"role_assignment_granted", false, High},
		{"scim_user_deleted", false, High},
		{"org_sso_connection_deactivated", false, High}, // before org_*
		{"org_directory_sync_activated", false, High},
		{"org_user_deleted", false, High}, // before org_user_*
		{"org_user_invite_sent", false, Medium},
		{"group_member_added", false, Medium},
		{"claude_project_deleted", false, Medium}, // a deletion the table does not name
		{"claude_chat_access_failed", false, Low},
		{"compliance_api_accessed", false, Low},
		{"org_invite_link_generated", false, Low},
		{"claude_file_uploaded", false, Info},
		{"claude_agent_session_started", false, Info}, // unknown types are info
		{"claude_agent_session_started", true, Low},   // unless they failed
		{"admin_api_key_created", true, High},         // failing does not lower
	}
	for _, tt := range tests {
		if got := Severity(overrides, tt.typ, tt.failed); got != tt.want {
			t.Errorf("Severity(%q, failed=%v) = %s, want %s", tt.typ, tt.failed, got, tt.want)
		}
	}
	if got := Severity(nil, "sso_login_failed", false); got != Medium {
		t.Errorf("without overrides sso_login_failed = %s, want medium", got)
	}
	for _, r := range Severities {
		if !r.Level.Valid() {
			t.Errorf("rule %q has level %q", r.Match, r.Level)
		}
	}
}

func TestAnnotatedSeverity(t *testing.T) {
	for raw, want := range map[string]Level{
		`{"id":"a","type":"sso_login_succeeded","auditrelay":{"severity":"critical","severity_id":5}}`: Critical,
		`{"id":"a","type":"sso_login_succeeded","auditrelay":{"severity":"loud"}}`:                     "",
		`{"id":"a","type":"sso_login_succeeded"}`:                                                      "",
	} {
		f, err := ReadObject([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.AnnotatedSeverity(); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
