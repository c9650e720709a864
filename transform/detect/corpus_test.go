package detect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// simStart is where every simulated corpus begins.
var simStart = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

// openaiCorpus is n audit events of the OpenAI simulator, oldest first.
func openaiCorpus(t testing.TB, n int) []pipeline.Event {
	t.Helper()
	s := openaisim.New(openaisim.Options{Seed: 7, Events: n, Span: 30 * 24 * time.Hour, Start: simStart})
	out := make([]pipeline.Event, 0, n)
	for i := range n {
		ev, err := openai.ParseAuditLog(s.Event(i), "acme", simStart)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// chatgptCorpus is every record of the ChatGPT simulator's files of the
// types the pack reads (and of one it does not, app links) over two days,
// each file's lines in order, files type by type.
func chatgptCorpus(t testing.TB) []pipeline.Event {
	t.Helper()
	now := simStart.Add(48 * time.Hour)
	s := chatgptsim.New(chatgptsim.Options{Seed: 7, Start: simStart, Now: func() time.Time { return now }, Lines: 40,
		Types: []string{"AUDIT_LOG", "AUTH_LOG", "APP_AUTH_LOG"}})
	var out []pipeline.Event
	for _, f := range s.AllFiles() {
		var buf bytes.Buffer
		if ok, err := s.WriteFile(&buf, f.ID); !ok || err != nil {
			t.Fatalf("file %s: %v", f.ID, err)
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<22)
		for sc.Scan() {
			ev, err := chatgpt.Parse(bytes.Clone(sc.Bytes()), "workspace", now)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// anthropicCorpus is n activities of the Anthropic simulator, oldest
// first.
func anthropicCorpus(t testing.TB, n int) []pipeline.Event {
	t.Helper()
	span := 30 * 24 * time.Hour
	now := simStart.Add(span + time.Hour)
	s := anthropicsim.New(anthropicsim.Options{Seed: 7, Activities: n, Span: span, Start: simStart, Now: func() time.Time { return now }})
	out := make([]pipeline.Event, 0, n)
	for i := range s.Count() {
		ev, err := anthropic.Parse(s.Activity(i), "parent", now)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// packRule returns the rule name of the default pack.
func packRule(t testing.TB, name string) Rule {
	t.Helper()
	rs, err := loadPack("default")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rule %q in the default pack", name)
	return Rule{}
}

// newDetect returns a transform running rules, its state in dir ("":
// memory).
func newDetect(t testing.TB, dir string, rules ...Rule) *Detect {
	t.Helper()
	c := DefaultConfig()
	c.Packs, c.Rules = nil, rules
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := New(c, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// window runs one window of evs through d, batches of 100, commits it
// when commit is set, and returns every event handed on.
func window(t testing.TB, d *Detect, source string, evs []pipeline.Event, commit bool) []pipeline.Event {
	t.Helper()
	var in []pipeline.Batch
	for i := 0; i < len(evs); i += 100 {
		in = append(in, pipeline.Batch{Source: source, Events: append([]pipeline.Event(nil), evs[i:min(i+100, len(evs))]...)})
	}
	out, err := d.ProcessWindow(context.Background(), source, in)
	if err != nil {
		t.Fatal(err)
	}
	if commit {
		if err := d.CommitWindow(context.Background(), source); err != nil {
			t.Fatal(err)
		}
	}
	var all []pipeline.Event
	for _, b := range out {
		all = append(all, b.Events...)
	}
	return all
}

// run runs evs through d in committed windows of size events and returns
// the alerts, each with the index in evs of the event it follows.
func run(t testing.TB, d *Detect, source string, evs []pipeline.Event, size int) []Alert {
	t.Helper()
	var alerts []Alert
	for i := 0; i < len(evs); i += size {
		alerts = append(alerts, alertsOf(t, window(t, d, source, evs[i:min(i+size, len(evs))], true))...)
	}
	return alerts
}

// alertsOf decodes the alerts among evs, checking each follows its last
// evidence event.
func alertsOf(t testing.TB, evs []pipeline.Event) []Alert {
	t.Helper()
	var out []Alert
	last := ""
	for _, ev := range evs {
		if ev.Type != AlertType {
			last = ev.ID
			continue
		}
		var a Alert
		if err := json.Unmarshal(ev.Raw, &a); err != nil {
			t.Fatal(err)
		}
		if ids := a.Evidence.EventIDs; len(ids) == 0 || ids[len(ids)-1] != last {
			t.Errorf("alert %s follows %s, its evidence is %v", a.ID, last, ids)
		}
		if ev.ID != a.ID || ev.Schema != AlertSchema {
			t.Errorf("alert event id %q schema %q, alert %q", ev.ID, ev.Schema, a.ID)
		}
		out = append(out, a)
	}
	return out
}

// obj decodes ev.
func obj(t testing.TB, ev pipeline.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at returns the member at path of m, as text ("" when absent).
func at(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
