package filter

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

func ids(evs []pipeline.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func TestProcess(t *testing.T) {
	corpus := transformtest.Corpus(t)
	count := func(pred func(e pipeline.Event) bool) int {
		n := 0
		for _, e := range corpus {
			if pred(e) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name string
		cfg  Config
		want int
		each func(e pipeline.Event) bool // every kept event satisfies it
	}{
		{"include login wildcard", Config{Include: Match{Types: []string{"login.*"}}}, 2,
			func(e pipeline.Event) bool { return strings.HasPrefix(e.Type, "login.") }},
		{"exclude tenant spans dots", Config{Exclude: Match{Types: []string{"tenant.*"}}},
			count(func(e pipeline.Event) bool { return !strings.HasPrefix(e.Type, "tenant.") }),
			func(e pipeline.Event) bool { return !strings.HasPrefix(e.Type, "tenant.") }},
		{"include email case-insensitive", Config{Include: Match{ActorEmails: []string{"GRACE@*"}}},
			count(func(e pipeline.Event) bool { return e.ActorEmail == "grace@acme.example" }),
			func(e pipeline.Event) bool { return e.ActorEmail == "grace@acme.example" }},
		{"include lists AND", Config{Include: Match{Types: []string{"api_key.*"}, ProjectIDs: []string{"proj_support"}}},
			count(func(e pipeline.Event) bool {
				return strings.HasPrefix(e.Type, "api_key.") && e.ProjectID == "proj_support"
			}),
			func(e pipeline.Event) bool {
				return strings.HasPrefix(e.Type, "api_key.") && e.ProjectID == "proj_support"
			}},
		{"exclude lists OR", Config{Exclude: Match{Types: []string{"login.*"}, ActorIDs: []string{"user-grace"}}},
			count(func(e pipeline.Event) bool { return !strings.HasPrefix(e.Type, "login.") && e.ActorID != "user-grace" }),
			func(e pipeline.Event) bool { return !strings.HasPrefix(e.Type, "login.") && e.ActorID != "user-grace" }},
		{"include and exclude", Config{Include: Match{Types: []string{"user.*"}}, Exclude: Match{Types: []string{"user.updated"}}}, 2,
			func(e pipeline.Event) bool { return e.Type == "user.added" || e.Type == "user.deleted" }},
		{"source", Config{Include: Match{Sources: []string{"other"}}}, 0, nil},
		{"request log event", Config{Include: Match{Types: []string{"organization.user.*"}}}, 1,
			func(e pipeline.Event) bool { return e.Type == "organization.user.deleted" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			in := pipeline.Batch{Source: "acme", Events: transformtest.Clone(corpus)}
			out, err := New(&tt.cfg).Process(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Events) != tt.want {
				t.Fatalf("kept %d events %v, want %d", len(out.Events), ids(out.Events), tt.want)
			}
			if out.Source != "acme" {
				t.Errorf("batch source lost: %+v", out)
			}
			for _, e := range out.Events {
				if tt.each != nil && !tt.each(e) {
					t.Errorf("kept %s (%s, actor %s)", e.ID, e.Type, e.ActorID)
				}
			}
		})
	}
}

func TestEmptyBatchKeepsMarks(t *testing.T) {
	f := New(&Config{Include: Match{Types: []string{"x"}}})
	out, err := f.Process(context.Background(), pipeline.Batch{Source: "s"})
	if err != nil || len(out.Events) != 0 || out.Source != "s" {
		t.Fatalf("got %+v, %v", out, err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"nothing configured", Config{}, "include:"},
		{"empty pattern", Config{Exclude: Match{Types: []string{"a", ""}}}, "exclude.types[1]"},
		{"ok", Config{Exclude: Match{Sources: []string{"a"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want it to name %q", err, tt.wantErr)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"login.*", "login.failed", true},
		{"login.*", "logout.failed", false},
		{"tenant.*", "tenant.user.added", true},
		{"*.deleted", "api_key.deleted", true},
		{"*.deleted", "api_key.deleted.x", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
		{"*a*a*a*a*b", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.pat+"~"+tt.s, func(t *testing.T) {
			if got := Glob(tt.pat, tt.s); got != tt.want {
				t.Fatalf("Glob(%q, %q) = %v", tt.pat, tt.s, got)
			}
		})
	}
}

// FuzzGlob checks Glob against a regular expression built from the pattern.
func FuzzGlob(f *testing.F) {
	f.Add("login.*", "login.failed")
	f.Add("*a?b*", "xxaybzz")
	f.Fuzz(func(t *testing.T, pat, s string) {
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for _, r := range []byte(pat) {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string([]byte{r})))
			}
		}
		re.WriteString(`\z`)
		rx, err := regexp.Compile(re.String())
		if err != nil {
			t.Skip()
		}
		// '?' matches one byte in Glob, one rune in regexp: compare on ASCII.
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				t.Skip()
			}
		}
		if got, want := Glob(pat, s), rx.MatchString(s); got != want {
			t.Fatalf("Glob(%q, %q) = %v, regexp says %v", pat, s, got, want)
		}
	})
}

func BenchmarkProcess(b *testing.B) {
	corpus := transformtest.Corpus(b)
	f := New(&Config{Include: Match{Types: []string{"login.*", "api_key.*", "user.*"}}, Exclude: Match{ActorEmails: []string{"*@contractor.example"}}})
	evs := make([]pipeline.Event, len(corpus))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		copy(evs, corpus)
		if _, err := f.Process(context.Background(), pipeline.Batch{Events: evs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus)), "ns/event")
}
