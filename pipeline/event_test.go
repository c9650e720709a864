package pipeline

import "testing"

func TestEventVendor(t *testing.T) {
	for schema, want := range map[string]string{
		"openai.audit_log":              "openai",
		"openai.organization_log":       "openai",
		"chatgpt.compliance_log":        "chatgpt",
		"anthropic.compliance_activity": "anthropic",
		"ocsf":                          "",
		"":                              "",
	} {
		ev := Event{Schema: schema}
		if got := ev.Vendor(); got != want {
			t.Errorf("Vendor of schema %q = %q, want %q", schema, got, want)
		}
	}
}
