package chatgpt

import "testing"

func TestTargetUserAndFailure(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		id, email string
		failure   bool
	}{
		{`{"type":"AUDIT_LOG","action":"USER_ROLE_UPDATED","action_result":"SUCCESS","action_data":{"target_user_id":"user-9","role":"admin"}}`, "user-9", "", false},
		{`{"type":"AUDIT_LOG","action":"INVITE_SEND","action_result":"BLOCKED","action_data":{"invitee_email":"new@acme.example"}}`, "", "new@acme.example", true},
		{`{"type":"AUDIT_LOG","action":"X","action_result":"PENDING"}`, "", "", true},
		// A member given twice counts whole, with its last value.
		{`{"type":"AUDIT_LOG","action_data":{"target_user_id":"a"},"action_data":{"role":"admin"}}`, "", "", false},
		{`{"type":"AUTH_LOG","action_data":{"action":"login_failed","target_user_id":"x"}}`, "", "", true},
		{`{"type":"AUTH_LOG","action_data":{"action":"login_success"}}`, "", "", false},
		{`{"type":"CUSTOM_AGENTS_LOG","event_type":"AGENT_RUN_FAILED"}`, "", "", true},
		{`{"type":"CUSTOM_AGENTS_LOG","event_type":"AGENT_RUN_COMPLETED"}`, "", "", false},
		{`{"type":"FUTURE_LOG","action":"EXPORT_FAILED"}`, "", "", false},
	} {
		f, err := ReadObject([]byte(tc.raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if id, email := f.TargetUser(); id != tc.id || email != tc.email {
			t.Errorf("%s: TargetUser = %q, %q; want %q, %q", tc.raw, id, email, tc.id, tc.email)
		}
		if got := f.Failure(); got != tc.failure {
			t.Errorf("%s: Failure = %v, want %v", tc.raw, got, tc.failure)
		}
	}
}
