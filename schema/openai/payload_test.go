package openai

import "testing"

func TestPayload(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Payload
	}{
		{`{"type":"certificate.created","certificate.created":{"id":"cert_1","name":"gateway-ca"}}`, Payload{ID: "cert_1", Name: "gateway-ca"}},
		{`{"type":"project.created","project.created":{"id":"proj_1","data":{"name":"Support","title":"t"}}}`, Payload{ID: "proj_1", Name: "Support"}},
		{`{"type":"group.created","group.created":{"id":"g1","data":{"group_name":"Security"}}}`, Payload{ID: "g1", Name: "Security"}},
		{`{"type":"role.created","role.created":{"id":"role_1","role_name":"Auditor"}}`, Payload{ID: "role_1", Name: "Auditor"}},
		{`{"type":"invite.sent","invite.sent":{"id":"invite-1","data":{"email":"a@b.example","role":"reader"}}}`, Payload{ID: "invite-1", Email: "a@b.example", Role: "reader"}},
		{`{"type":"role.assignment.created","role.assignment.created":{"id":"ra_1","principal_id":"g1","principal_type":"group","resource_id":"proj_1","resource_type":"project"}}`,
			Payload{ID: "ra_1", ResourceID: "proj_1", ResourceKind: "project"}},
		// A list: its first element's id and name.
		{`{"type":"certificates.activated","certificates.activated":{"certificates":[{"id":"c1","name":"one"},{"id":"c2","name":"two"}]}}`, Payload{ID: "c1", Name: "one"}},
		{`{"type":"ip_allowlist.config.activated","ip_allowlist.config.activated":{"configs":[7,{"id":"x"}]}}`, Payload{}},
		{`{"type":"tenant.policy.updated","tenant.policy.updated":{"tenant_id":"ten_1"}}`, Payload{TenantID: "ten_1"}},
		// A payload given twice counts whole, with its last value.
		{`{"type":"user.added","user.added":{"id":"u1","data":{"role":"owner"}},"user.added":{"id":"u2"}}`, Payload{ID: "u2"}},
		// Another member than the type's payload is not read.
		{`{"type":"user.added","other":{"id":"u1"}}`, Payload{}},
	} {
		f, err := ReadObject([]byte(tc.raw), typeOf(tc.raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if got := f.Payload(); got != tc.want {
			t.Errorf("%s: Payload = %+v, want %+v", tc.raw, got, tc.want)
		}
	}
	f, _ := ReadObject([]byte(`{"type":"role.assignment.created","role.assignment.created":{"principal_id":"g1","principal_type":"group"}}`), "role.assignment.created")
	if k, id := f.Principal(); k != "group" || id != "g1" {
		t.Errorf("Principal = %q %q", k, id)
	}
}

func TestRequestLogTargetAndAPIRequest(t *testing.T) {
	f, _ := ReadObject([]byte(`{"event":"chat.completions.create","target":{"type":"user","id":"u1","name":"Ada"},`+
		`"api_request":{"id":"req_1","model":"gpt-5","error":{"code":"rate_limited","message":"slow down"}}}`), "")
	r, hasErr := f.APIRequest()
	if f.TargetName() != "Ada" || r != (APIRequest{"req_1", "gpt-5", "rate_limited", "slow down"}) || !hasErr {
		t.Errorf("TargetName %q, APIRequest %+v %v", f.TargetName(), r, hasErr)
	}
	f, _ = ReadObject([]byte(`{"event":"x","api_request":{"id":"req_2"}}`), "")
	if r, hasErr := f.APIRequest(); r.ID != "req_2" || hasErr {
		t.Errorf("APIRequest %+v %v", r, hasErr)
	}
}

// typeOf is the type member of a test's event, for Read.
func typeOf(raw string) string {
	f, _ := ReadObject([]byte(raw), "")
	return f.typ.Str()
}
