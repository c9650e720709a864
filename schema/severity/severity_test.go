package severity

import "testing"

func TestOf(t *testing.T) {
	table := []Rule{{"login.failed", Medium}, {"login.*", Info}, {"user.*", High}}
	overrides := []Rule{{"user.deleted", Critical}}
	for _, tt := range []struct {
		typ    string
		failed bool
		want   Level
	}{
		{"user.deleted", false, Critical}, // an override wins over the table
		{"user.added", false, High},
		{"login.failed", false, Medium}, // the first match wins
		{"login.succeeded", false, Info},
		{"login.succeeded", true, Low}, // a failure is at least low
		{"widget.made", false, Info},   // unknown types are info
		{"widget.made", true, Low},     // unless they failed
		{"user.added", true, High},     // failing does not lower
	} {
		if got := Of(overrides, table, tt.typ, tt.failed); got != tt.want {
			t.Errorf("Of(%q, failed=%v) = %s, want %s", tt.typ, tt.failed, got, tt.want)
		}
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
	if Named("high") != High || Named("loud") != "" || Named("") != "" {
		t.Error("Named reads a level wrong")
	}
}

// TestOfAny: a rule matches by any of an event's names, and the first rule
// that matches one wins, whichever name it matched.
func TestOfAny(t *testing.T) {
	table := []Rule{{"AUTH_LOG.login_failed", Medium}, {"AUDIT_LOG.*ROLE*", High}, {"AUDIT_LOG", Low}}
	overrides := []Rule{{"AUDIT_LOG.INVITE_*", Critical}}
	for _, tt := range []struct {
		names  []string
		failed bool
		want   Level
	}{
		{[]string{"AUTH_LOG", "AUTH_LOG.login_failed"}, false, Medium},
		{[]string{"AUTH_LOG", "AUTH_LOG.login_success"}, false, Info},
		{[]string{"AUDIT_LOG", "AUDIT_LOG.USER_ROLE_UPDATED"}, false, High}, // before the bare type
		{[]string{"AUDIT_LOG", "AUDIT_LOG.SOMETHING_NEW"}, false, Low},      // the bare type catches the rest
		{[]string{"AUDIT_LOG", "AUDIT_LOG.INVITE_SEND"}, false, Critical},   // an override first
		{[]string{"AUDIT_LOG"}, false, Low},
		{[]string{"FUTURE_LOG", "FUTURE_LOG.X"}, true, Low},
		{nil, false, Info},
	} {
		if got := OfAny(overrides, table, tt.names, tt.failed); got != tt.want {
			t.Errorf("OfAny(%q, failed=%v) = %s, want %s", tt.names, tt.failed, got, tt.want)
		}
	}
}

func TestAtLeast(t *testing.T) {
	for _, tt := range []struct{ l, floor, want Level }{
		{Info, Medium, Medium}, {Low, Medium, Medium}, {Medium, Medium, Medium}, {High, Medium, High}, {Critical, Low, Critical},
	} {
		if got := AtLeast(tt.l, tt.floor); got != tt.want {
			t.Errorf("AtLeast(%s, %s) = %s, want %s", tt.l, tt.floor, got, tt.want)
		}
	}
}
