package openai

import "testing"

func TestSeverity(t *testing.T) {
	overrides := []Rule{{Match: "login.failed", Level: Critical}, {Match: "tenant.*", Level: Low}}
	tests := []struct {
		typ    string
		failed bool
		want   Level
	}{
		{"login.failed", false, Critical},          // an override wins over the table
		{"tenant.user.added", false, Low},          // so does a pattern override
		{"login.succeeded", false, Info},           // login.* after login.failed
		{"organization.updated", false, High},      // before organization.*
		{"organization.user.deleted", false, High}, // before organization.*
		{"organization.completion.created", false, Low},
		{"user.deleted", false, High}, // before user.*
		{"user.added", false, Medium},
		{"project.created", false, Low},
		{"widget.frobnicated", false, Info},  // unknown types are info
		{"widget.frobnicated", true, Low},    // unless they failed
		{"organization.updated", true, High}, // failing does not lower
	}
	for _, tt := range tests {
		if got := Severity(overrides, tt.typ, tt.failed); got != tt.want {
			t.Errorf("Severity(%q, failed=%v) = %s, want %s", tt.typ, tt.failed, got, tt.want)
		}
	}
	if got := Severity(nil, "login.failed", false); got != Medium {
		t.Errorf("without overrides login.failed = %s, want medium", got)
	}
}
