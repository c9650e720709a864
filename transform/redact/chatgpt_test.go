package redact

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	chatgptschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// TestChatGPTRecords: a ChatGPT source with keep_content: true passes
// what people wrote as they wrote it; the default config's patterns then
// leave none of the secrets the simulator planted in conversation
// messages, app calls, agent messages, connector calls and memories (its
// Truth lists them: OpenAI, AWS and GitHub keys, personal e-mail
// addresses, card numbers plain, spaced and dashed), nor an e-mail or IP
// address of the envelope (actors, delegators, request_metadata). What
// routes a record stays: its id, type, sub-type, workspace and actor kind,
// and every conversation text without a secret stays whole.
func TestChatGPTRecords(t *testing.T) {
	now := time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)
	types := append([]string{"FUTURE_LOG"}, chatgptsim.KnownTypes...)
	sim := chatgptsim.New(chatgptsim.Options{Seed: 13, Types: types, Lines: 40, Interval: time.Hour,
		Start: now.Add(-6 * time.Hour), Now: func() time.Time { return now }})
	truth := sim.Truth()
	kinds := map[string]int{}
	for _, s := range truth.Secrets {
		switch {
		case strings.HasPrefix(s, "sk-proj-"):
			kinds["openai key"]++
		case strings.HasPrefix(s, "AKIA"):
			kinds["aws key"]++
		case strings.HasPrefix(s, "ghp_"):
			kinds["github token"]++
		case strings.Contains(s, "@"):
			kinds["e-mail"]++
		case strings.Contains(s, " "):
			kinds["card, spaced"]++
		case strings.Contains(s, "-"):
			kinds["card, dashed"]++
		default:
			kinds["card"]++
		}
	}
	for _, k := range []string{"openai key", "aws key", "github token", "e-mail", "card", "card, spaced", "card, dashed"} {
		if kinds[k] < 3 {
			t.Fatalf("the simulator planted too few of %s: %v", k, kinds)
		}
	}
	var b pipeline.Batch
	for _, fi := range sim.AllFiles() {
		var buf bytes.Buffer
		if _, err := sim.WriteFile(&buf, fi.ID); err != nil {
			t.Fatal(err)
		}
		for line := range bytes.Lines(buf.Bytes()) {
			ev, err := chatgptschema.Parse(bytes.TrimSuffix(line, []byte("\n")), "chatgpt", now)
			if err != nil {
				t.Fatal(err)
			}
			b.Events = append(b.Events, ev)
		}
	}
	var before strings.Builder
	for _, ev := range b.Events {
		before.Write(ev.Raw)
	}
	planted := 0
	for _, s := range truth.Secrets {
		if strings.Contains(before.String(), s) {
			planted++
		}
	}
	if planted != len(truth.Secrets) {
		t.Fatalf("only %d of the %d secrets are in the records", planted, len(truth.Secrets))
	}
	in := make([]chatgptschema.Fields, len(b.Events))
	for i, ev := range b.Events {
		in[i], _ = chatgptschema.ReadObject(ev.Raw)
	}

	r, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Process(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for i := range out.Events {
		ev := &out.Events[i]
		if err := ev.Finalize(); err != nil {
			t.Fatal(err)
		}
		f, err := chatgptschema.ReadObject(ev.Raw)
		if err != nil {
			t.Fatalf("%s is no longer a record: %v", ev.ID, err)
		}
		if f.ID() != ev.ID || f.Type() != ev.Type || f.SubType() != in[i].SubType() || f.WorkspaceID() != in[i].WorkspaceID() ||
			f.Actor().Kind != in[i].Actor().Kind || f.Actor().ID() != in[i].Actor().ID() {
			t.Fatalf("%s: what routes it was redacted:\n%s", ev.ID, ev.Raw)
		}
		if strings.Contains(ev.ActorEmail, "@") {
			t.Fatalf("%s: the ActorEmail index field %q survives", ev.ID, ev.ActorEmail)
		}
		all.Write(ev.Raw)
		all.WriteByte('\n')
	}
	text := all.String()
	left := 0
	for _, s := range truth.Secrets {
		if strings.Contains(text, s) {
			if left++; left <= 5 {
				t.Errorf("a planted secret survives: %.60s", s)
			}
		}
	}
	for name, re := range map[string]*regexp.Regexp{
		"an e-mail address": regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z.]+`),
		"a client IP":       regexp.MustCompile(`"client_ip":"[0-9a-f.:]+"`),
	} {
		if m := re.FindString(text); m != "" {
			t.Errorf("%s survives: %s", name, m)
		}
	}
	for _, marker := range []string{"[REDACTED:email", "[REDACTED:ip", "[REDACTED:openai_key", "[REDACTED:api_key", "[REDACTED:card"} {
		if !strings.Contains(text, marker) {
			t.Errorf("no %s marker", marker)
		}
	}
	// The patterns take the secrets and no more: a message without one
	// arrives whole.
	whole, clean := 0, 0
	for _, m := range truth.Messages {
		hasSecret := false
		for _, s := range truth.Secrets {
			if strings.Contains(m, s) {
				hasSecret = true
				break
			}
		}
		if hasSecret || strings.Contains(m, "@") {
			continue
		}
		clean++
		if strings.Contains(before.String(), quoteJSON(m)) && strings.Contains(text, quoteJSON(m)) {
			whole++
		}
	}
	if clean == 0 || whole != clean {
		t.Errorf("%d of %d messages without a secret arrive whole", whole, clean)
	}
	t.Logf("%d records, %d planted secrets %v, %d clean messages kept", len(out.Events), len(truth.Secrets), kinds, whole)
}

// quoteJSON is s as the simulator writes it in a JSON string (without the
// quotes): the escapes it uses for the texts' newlines, tabs, quotes and
// backslashes.
func quoteJSON(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s)
}
