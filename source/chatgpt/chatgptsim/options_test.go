package chatgptsim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

func TestOptionsValidate(t *testing.T) {
	if err := (chatgptsim.Options{}).Validate(); err != nil {
		t.Fatalf("zero Options: %v", err)
	}
	for _, tc := range []struct {
		name string
		o    chatgptsim.Options
		want string
	}{
		{"lower-case type", chatgptsim.Options{Types: []string{"audit_log"}}, "types"},
		{"interval not whole seconds", chatgptsim.Options{Interval: 1500 * time.Millisecond}, "interval"},
		{"negative interval", chatgptsim.Options{Interval: -time.Minute}, "interval"},
		{"shared_end above 1", chatgptsim.Options{SharedEnd: 1.5}, "shared_end"},
		{"duplicate_fraction negative", chatgptsim.Options{DuplicateFraction: -0.1}, "duplicate_fraction"},
		{"negative lines", chatgptsim.Options{Lines: -1}, "lines"},
		{"big file without lines", chatgptsim.Options{BigFiles: []chatgptsim.BigFile{{Type: "AUDIT_LOG"}}}, "big_files[0]"},
		{"big file of a type without files", chatgptsim.Options{BigFiles: []chatgptsim.BigFile{{Type: "FUTURE_LOG", Lines: 5}}}, "FUTURE_LOG"},
		{"p99 below the median", chatgptsim.Options{Latency: chatgptsim.Latency{Median: time.Second, P99: time.Millisecond}}, "latency"},
		{"fault rate above 1", chatgptsim.Options{Faults: chatgptsim.Faults{Rate: 2}}, "rate"},
		{"unknown fault", chatgptsim.Options{Faults: chatgptsim.Faults{Rate: 1, Kinds: []chatgptsim.FaultKind{"reset"}}}, `"reset"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.want)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("New accepted invalid options")
				}
			}()
			chatgptsim.New(tc.o)
		})
	}
	sim := chatgptsim.New(chatgptsim.Options{})
	if err := sim.SetFaults(chatgptsim.Faults{Rate: 1, Kinds: []chatgptsim.FaultKind{"nope"}}); err == nil {
		t.Fatal("SetFaults accepted an unknown kind")
	}
}

// TestDefaults: the zero Options give every known type a file every 10
// minutes over the day before New, with a UUID workspace and an org- id.
func TestDefaults(t *testing.T) {
	c := sourcetest.NewClock(t0)
	sim := chatgptsim.New(chatgptsim.Options{Now: c.Now})
	if !uuidRE.MatchString(sim.WorkspaceID()) || !strings.HasPrefix(sim.OrgID(), "org-") {
		t.Fatalf("workspace %q org %q", sim.WorkspaceID(), sim.OrgID())
	}
	if sim.Start() != t0.Add(-24*time.Hour) || sim.Interval() != 10*time.Minute {
		t.Fatalf("start %s interval %s", sim.Start(), sim.Interval())
	}
	for _, typ := range chatgptsim.KnownTypes {
		fs := sim.Files(typ)
		if n := len(fs); n < 143 || n > 144 {
			t.Errorf("%s: %d files in a day of 10-minute files", typ, n)
		}
		for i, f := range fs {
			if f.Lines < 10 || f.Lines > 30 {
				t.Fatalf("%s: %d lines, want 10 to 30", f.Name, f.Lines)
			}
			if i > 0 && f.EndTime.Sub(fs[i-1].EndTime) != 10*time.Minute {
				t.Fatalf("%s ends %s after the file before", f.Name, f.EndTime.Sub(fs[i-1].EndTime))
			}
		}
		if first := fs[0].EndTime; !first.After(sim.Start()) || first.After(sim.Start().Add(20*time.Minute)) {
			t.Errorf("%s: the first file ends at %s", typ, first)
		}
	}
}
