package anthropic

import (
	"slices"
	"testing"
)

func TestResource(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Resource
	}{
		{`{"type":"claude_chat_created","claude_chat_id":"c1","claude_project_id":"p1"}`, Resource{"claude_chat", "c1", ""}},
		{`{"type":"claude_project_sharing_updated","claude_project_id":"p1"}`, Resource{"claude_project", "p1", ""}},
		{`{"type":"platform_api_key_updated","api_key_id":"k1"}`, Resource{"api_key", "k1", ""}},
		{`{"type":"rbac_role_assigned","principal_id":"u1","role_id":"r1"}`, Resource{"role", "r1", ""}},
		{`{"type":"group_member_added","group_id":"g1","group_name":"Legal","member_ids":["u1"]}`, Resource{"group", "g1", "Legal"}},
		{`{"type":"claude_skill_created","skill_id":"s1","skill_name":"SQL helper"}`, Resource{"skill", "s1", "SQL helper"}},
		{`{"type":"claude_project_document_uploaded","claude_project_document_id":"d1","claude_project_id":"p1","filename":"a.pdf"}`, Resource{"claude_project_document", "d1", "a.pdf"}},
		// No member named after the noun: the first id besides the organization's.
		{`{"type":"claude_artifact_published","organization_id":"o","claude_published_artifact_id":"pa1","title":"Q3"}`, Resource{"claude_published_artifact", "pa1", "Q3"}},
		// A name alone.
		{`{"type":"org_domain_verified","domain":"acme.example"}`, Resource{"org_domain", "", "acme.example"}},
		// A key given twice counts with its last value.
		{`{"type":"claude_chat_viewed","claude_chat_id":"a","claude_chat_id":"b"}`, Resource{"claude_chat", "b", ""}},
		{`{"type":"user_logged_out","organization_id":null}`, Resource{}},
		{`{"type":"compliance_api_accessed","request_id":"req_1"}`, Resource{}},
		// Each member's name is kept whole while its value is read (an
		// activity as the API orders its members, then as encoding/json
		// writes it, keys sorted).
		{`{"id":"activity_011whQ479ZykFNYfniWSBpGR","created_at":"2026-07-08T11:03:43Z","organization_id":"org_0192dLTwqkPqPiUKCoUh9rPd","organization_uuid":"b047d196-164a-4400-8969-b6cca5b31692","actor":{"type":"user_actor","email_address":"oliver.smith@acme-t6rb.example","user_id":"user_018cLOO46qMnlTGMWOoZIA7c","ip_address":"203.0.113.78","user_agent":"Claude/1.0.3 (com.anthropic.claudefordesktop; build 87; macOS 14.5.0) Electron/31.1.0"},"type":"claude_organization_settings_updated","current_value":"disabled","previous_value":"enabled","org_id":"org_0192dLTwqkPqPiUKCoUh9rPd","org_name":"Acme Support","metadata":{"setting_name":"managed_agents_enabled"}}`, Resource{"organization", "org_0192dLTwqkPqPiUKCoUh9rPd", ""}},
		{`{"actor":{"email_address":"oliver.smith@acme-t6rb.example","ip_address":"203.0.113.78","type":"user_actor","user_agent":"Claude/1.0.3 (com.anthropic.claudefordesktop; build 87; macOS 14.5.0) Electron/31.1.0","user_id":"user_018cLOO46qMnlTGMWOoZIA7c"},"created_at":"2026-07-08T11:03:43Z","current_value":"disabled","id":"activity_011whQ479ZykFNYfniWSBpGR","metadata":{"setting_name":"managed_agents_enabled"},"org_id":"org_0192dLTwqkPqPiUKCoUh9rPd","org_name":"Acme Support","organization_id":"org_0192dLTwqkPqPiUKCoUh9rPd","organization_uuid":"b047d196-164a-4400-8969-b6cca5b31692","previous_value":"enabled","type":"claude_organization_settings_updated"}`, Resource{"organization", "org_0192dLTwqkPqPiUKCoUh9rPd", ""}},
	} {
		f, err := ReadObject([]byte(tc.raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if got := f.Resource(); got != tc.want {
			t.Errorf("%s: Resource = %+v, want %+v", tc.raw, got, tc.want)
		}
	}
}

func TestRoleRequestSignInMembers(t *testing.T) {
	f, _ := ReadObject([]byte(`{"type":"claude_user_role_updated","current_role":"admin","previous_role":"member","user_id":"u"}`))
	if r, p := f.Role(); r != "admin" || p != "member" {
		t.Errorf("Role = %q %q", r, p)
	}
	f, _ = ReadObject([]byte(`{"type":"rbac_role_created","role_id":"r","role_name":"Billing Viewer"}`))
	if r, _ := f.Role(); r != "Billing Viewer" {
		t.Errorf("Role = %q", r)
	}
	f, _ = ReadObject([]byte(`{"type":"compliance_api_accessed","request_id":"req_1","request_method":"POST","status_code":403}`))
	if id, m, s := f.Request(); id != "req_1" || m != "POST" || s != 403 {
		t.Errorf("Request = %q %q %d", id, m, s)
	}
	f, _ = ReadObject([]byte(`{"type":"sso_login_failed","auth_method":"sso","mfa_method":"totp","failure_reason":"idp_error"}`))
	if a, m, r := f.SignIn(); a != "sso" || m != "totp" || r != "idp_error" {
		t.Errorf("SignIn = %q %q %q", a, m, r)
	}
	f, _ = ReadObject([]byte(`{"type":"group_member_added","member_ids":["u1",7,"u\u0032"]}`))
	if got := f.Members(); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("Members = %q", got)
	}
	f, _ = ReadObject([]byte(`{"type":"group_member_added","member_ids":"u1"}`))
	if got := f.Members(); got != nil {
		t.Errorf("Members of a string = %q", got)
	}
}
