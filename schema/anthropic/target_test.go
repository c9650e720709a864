package anthropic

import "testing"

func TestTargetUserAndFailure(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		id, email string
		failure   bool
	}{
		{`{"type":"claude_user_role_updated","actor":{"type":"user_actor","user_id":"user_admin"},"user_id":"user_01","user_email":"a@acme.example"}`, "user_01", "a@acme.example", false},
		{`{"type":"org_user_deleted","deleted_user_id":"user_02","deleted_user_email":"b@acme.example"}`, "user_02", "b@acme.example", false},
		{`{"type":"rbac_role_assigned","principal_id":"user_03","principal_type":"user","role_id":"role_1"}`, "user_03", "", false},
		{`{"type":"rbac_role_assigned","principal_id":"grp_1","principal_type":"group"}`, "", "", false},
		{`{"type":"role_assignment_granted","target_id":"user_04","target_type":"user"}`, "user_04", "", false},
		{`{"type":"primary_owner_transferred","new_owner_id":"user_05","previous_owner_id":"user_06"}`, "user_05", "", false},
		{`{"type":"org_user_invite_sent","invited_email":"c@partner.example"}`, "", "c@partner.example", false},
		{`{"type":"sso_login_failed","actor":{"type":"user_actor","user_id":"user_07"}}`, "", "", true},
		{`{"type":"compliance_api_accessed","status_code":403}`, "", "", true},
		{`{"type":"compliance_api_accessed","status_code":200}`, "", "", false},
		{`{"type":"claude_chat_created"}`, "", "", false},
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
