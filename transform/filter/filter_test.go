package filter

import (
	"context"
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
		{"malformed pattern", Config{Include: Match{ProjectIDs: []string{"proj_[ab"}}}, "include.project_ids[0]"},
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
