package chatgpt

import "testing"

func TestResourceRoleMessageTokens(t *testing.T) {
	for _, tc := range []struct {
		raw        string
		res        Resource
		role, prev string
		msg        [3]string
		tokens     [2]int64
	}{
		{raw: `{"type":"CONVERSATION_MESSAGE","message":{"id":"m1","author":{"type":"assistant","model":"gpt-5"}},"conversation":{"id":"c1","title":"t"}}`,
			res: Resource{Kind: "conversation", ID: "c1"}, msg: [3]string{"m1", "gpt-5", ""}},
		{raw: `{"type":"CONVERSATION_MESSAGE","message":{"id":"m2","author":{"type":"user","client_type":"macos_app"}}}`,
			res: Resource{Kind: "conversation"}, msg: [3]string{"m2", "", "macos_app"}},
		{raw: `{"type":"APP_AUTH_LOG","app_id":null,"link_id":"l1","action":"link"}`},
		{raw: `{"type":"APP_LOG","app_id":"a1","app_name":"Drive","log_type":"request"}`, res: Resource{Kind: "app", ID: "a1", Name: "Drive"}},
		{raw: `{"type":"CODEX_LOG","event_details":{"detail_type":"ACCESS_TOKEN_CREATED","token_id":"ctok_1"}}`, res: Resource{Kind: "access_token", ID: "ctok_1"}},
		{raw: `{"type":"CODEX_LOG","event_details":{"token_usage":{"input_tokens":12,"output_tokens":3}}}`, tokens: [2]int64{12, 3}},
		{raw: `{"type":"CODEX_SECURITY_LOG","event_details":{"scan_configuration_fields":{"repository":"acme/web"}}}`, res: Resource{Kind: "scan_configuration", Name: "acme/web"}},
		{raw: `{"type":"CUSTOM_AGENTS_LOG","actor":{"type":"AGENT","id":"g1","name":"Bot"},"event_details":{"run_id":"r"}}`, res: Resource{Kind: "custom_agent", ID: "g1", Name: "Bot"}},
		{raw: `{"type":"CUSTOM_AGENTS_LOG","actor":{"type":"AGENT","id":"g1"},"event_details":{"connector_id":"k1","connector_name":"Jira"}}`, res: Resource{Kind: "connector", ID: "k1", Name: "Jira"}},
		{raw: `{"type":"AUDIT_LOG","action":"USER_ROLE_UPDATED","action_data":{"target_user_id":"u","previous_role":"standard-user","role":"admin"}}`, role: "admin", prev: "standard-user"},
		{raw: `{"type":"AUDIT_LOG","action":"WORKSPACE_TOGGLE_FEATURE","action_data":{"feature":"memory","enabled":true}}`, res: Resource{Kind: "feature", Name: "memory"}},
		// event_details given twice counts with its last value, whole.
		{raw: `{"type":"CODEX_LOG","event_details":{"token_id":"x"},"event_details":{"tool_name":"shell"}}`, res: Resource{Kind: "tool", Name: "shell"}},
		{raw: `{"type":"FUTURE_LOG","app_id":"a1","event_details":{"token_id":"x"}}`},
	} {
		f, err := ReadObject([]byte(tc.raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if got := f.Resource(); got != tc.res {
			t.Errorf("%s: Resource = %+v, want %+v", tc.raw, got, tc.res)
		}
		if r, p := f.Role(); r != tc.role || p != tc.prev {
			t.Errorf("%s: Role = %q, %q", tc.raw, r, p)
		}
		if id, model, client := f.Message(); [3]string{id, model, client} != tc.msg {
			t.Errorf("%s: Message = %q %q %q", tc.raw, id, model, client)
		}
		in, out, ok := f.Tokens()
		if ok != (tc.tokens != [2]int64{}) || [2]int64{in, out} != tc.tokens {
			t.Errorf("%s: Tokens = %d %d %v", tc.raw, in, out, ok)
		}
	}
	f, _ := ReadObject([]byte(`{"type":"AUDIT_LOG","action_data":{"enabled":false}}`))
	if on, ok := f.Enabled(); on || !ok {
		t.Errorf("Enabled = %v %v, want false true", on, ok)
	}
	f, _ = ReadObject([]byte(`{"type":"AUDIT_LOG","action_data":{}}`))
	if _, ok := f.Enabled(); ok {
		t.Error("Enabled ok without action_data.enabled")
	}
}
