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
