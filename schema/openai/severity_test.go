package openai

import "testing"

func TestSeverity(t *testing.T) {
	overrides := []Rule{{"login.failed", Critical}, {"tenant.*", Low}}
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

func TestLevelIDs(t *testing.T) {
	for i, l := range []Level{Info, Low, Medium, High, Critical} {
		if l.ID() != i+1 || !l.Valid() {
			t.Errorf("%s: id %d valid %v, want %d true", l, l.ID(), l.Valid(), i+1)
		}
	}
	if Level("loud").Valid() || Level("loud").ID() != 0 {
		t.Error("an unknown level is valid")
	}
}
