package redact

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	anthropicschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestAnthropicActivities: with the default config, nothing of what an
// Anthropic activity carries about people survives, nor a key written into
// a compliance_api_accessed's url or request_body (the simulator's Truth
// lists what it wrote), while ids and types stay for routing. The built-in
// patterns do not know webhook URLs, which a caller may send there too:
// a custom pattern removes them (transform/README.md shows it), and then
// no secret the simulator wrote survives.
func TestAnthropicActivities(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * time.Hour
	sim := anthropicsim.New(anthropicsim.Options{Seed: 6, Activities: 3000, Span: span, Start: start,
		Now: func() time.Time { return start.Add(span) }})
	truth := sim.Truth()
	var keys, hooks []string
	for _, s := range truth.Secrets {
		if strings.HasPrefix(s, "https://hooks.slack.com/") {
			hooks = append(hooks, s)
		} else {
			keys = append(keys, s)
		}
	}
	if len(keys) < 10 || len(hooks) < 10 {
		t.Fatalf("the simulator wrote only %d keys and %d webhook URLs", len(keys), len(hooks))
	}
	var b pipeline.Batch
	for i := range sim.Count() {
		ev, err := anthropicschema.Parse(sim.Activity(i), "claude", start)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, ev)
	}
	withHooks := DefaultConfig()
	withHooks.CustomPatterns = []CustomPattern{{Name: "webhook", Regex: `https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+`}}
	for _, tc := range []struct {
		name    string
		cfg     *Config
		secrets []string
	}{{"default", DefaultConfig(), keys}, {"webhook pattern", withHooks, truth.Secrets}} {
		t.Run(tc.name, func(t *testing.T) {
			checkActivitiesRedacted(t, tc.cfg, b, tc.secrets)
		})
	}
}

// checkActivitiesRedacted redacts a copy of b with cfg and checks that no
// secret, e-mail address or IP address survives.
func checkActivitiesRedacted(t *testing.T, cfg *Config, b pipeline.Batch, secrets []string) {
	b.Events = slices.Clone(b.Events)
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Process(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for i := range out.Events {
		if err := out.Events[i].Finalize(); err != nil {
			t.Fatal(err)
		}
		f, err := anthropicschema.ReadObject(out.Events[i].Raw)
		if err != nil {
			t.Fatalf("%s is no longer an activity: %v", out.Events[i].ID, err)
		}
		if f.ID() != out.Events[i].ID || f.Type() != out.Events[i].Type {
			t.Fatalf("%s: id or type redacted", out.Events[i].ID)
		}
		all.Write(out.Events[i].Raw)
		all.WriteByte('\n')
	}
	text := all.String()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a secret a caller sent survives: %.40s...", s)
		}
	}
	for name, re := range map[string]*regexp.Regexp{
		"an e-mail address": regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z.]+`),
		"an IPv4 address":   regexp.MustCompile(`"ip_address":"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+"`),
	} {
		if m := re.FindString(text); m != "" {
			t.Errorf("%s survives: %s", name, m)
		}
	}
	if !strings.Contains(text, "[REDACTED:email") || !strings.Contains(text, "[REDACTED:ip") {
		t.Error("no marker of a redacted e-mail or IP address")
	}
}
