package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	chatgptschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// TestChatGPTRecordsRankedByTheirTable: a ChatGPT compliance record gets
// its level from schema/chatgpt's table, by type and sub-type, not from
// OpenAI's (which knows no ChatGPT type and would call every record
// info), for every record of every type the simulator writes; the user's
// rules come first, by either name of a record; the annotation reads
// back, and every byte of the record before it stays.
func TestChatGPTRecordsRankedByTheirTable(t *testing.T) {
	now := time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)
	e := New(&Config{TTL: time.Hour, Host: "relay-1", Severity: []SeverityRule{
		{Match: "AUTH_LOG.login_success", Level: "low"}, {Match: "CONVERSATION_MESSAGE", Level: "medium"}}},
		slog.New(slog.DiscardHandler), nil, func() time.Time { return now })
	sim := chatgptsim.New(chatgptsim.Options{Seed: 8, Lines: 40, Interval: time.Hour, Start: now.Add(-8 * time.Hour),
		Now: func() time.Time { return now }})
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
	in := make([][]byte, len(b.Events))
	for i := range b.Events {
		in[i] = b.Events[i].Raw
	}
	out, err := e.Process(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[chatgptschema.Level]int{}
	overridden := 0
	for i, ev := range out.Events {
		var got struct {
			Auditrelay struct {
				Severity   chatgptschema.Level `json:"severity"`
				SeverityID int                 `json:"severity_id"`
				Host       string              `json:"host"`
				Source     string              `json:"source"`
			} `json:"auditrelay"`
		}
		if err := json.Unmarshal(ev.Raw, &got); err != nil {
			t.Fatal(err)
		}
		f, err := chatgptschema.ReadObject(in[i])
		if err != nil {
			t.Fatal(err)
		}
		want := f.Severity(nil)
		switch {
		case ev.Type == "AUTH_LOG" && f.SubType() == "login_success":
			want, overridden = chatgptschema.Low, overridden+1
		case ev.Type == "CONVERSATION_MESSAGE":
			want, overridden = chatgptschema.Medium, overridden+1
		}
		a := got.Auditrelay
		if a.Severity != want || a.SeverityID != want.ID() || a.Host != "relay-1" || a.Source != "chatgpt" {
			t.Fatalf("%s (%s %s): annotated %+v, want %s", ev.ID, ev.Type, f.SubType(), a, want)
		}
		if fa, _ := chatgptschema.ReadObject(ev.Raw); fa.AnnotatedSeverity() != want {
			t.Fatalf("%s: the annotation does not read back", ev.ID)
		}
		if !bytes.HasPrefix(ev.Raw, in[i][:len(in[i])-1]) {
			t.Fatalf("%s: the record's bytes changed:\n%s\n%s", ev.ID, in[i], ev.Raw)
		}
		levels[a.Severity]++
	}
	for _, l := range []chatgptschema.Level{chatgptschema.Info, chatgptschema.Low, chatgptschema.Medium, chatgptschema.High} {
		if levels[l] == 0 {
			t.Errorf("no record ranked %s among %d: %v", l, len(out.Events), levels)
		}
	}
	if overridden < 20 {
		t.Errorf("only %d records matched the user's rules", overridden)
	}
	t.Logf("%d records: %v", len(out.Events), levels)
}

// TestChatGPTFixturesRanked holds enrich to levels read by hand off the
// table for a failed sign-in, a role change, a blocked read of the logs, a
// Codex security finding, an agent given a connector's credentials and a
// conversation.
func TestChatGPTFixturesRanked(t *testing.T) {
	e := New(&Config{TTL: time.Hour}, slog.New(slog.DiscardHandler), nil, time.Now)
	for raw, want := range map[string]string{
		`{"event_id":"1","type":"AUTH_LOG","timestamp":"2026-07-09T10:07:00Z","action_data":{"action":"login_failed"}}`:                                   "medium",
		`{"event_id":"2","type":"AUDIT_LOG","timestamp":"2026-07-09T10:07:00Z","action":"USER_ROLE_UPDATED","action_result":"SUCCESS"}`:                   "high",
		`{"event_id":"3","type":"AUDIT_LOG","timestamp":"2026-07-09T10:07:00Z","action":"LIST_WORKSPACE_LOG_FILES","action_result":"BLOCKED"}`:            "medium",
		`{"event_id":"4","type":"CODEX_SECURITY_LOG","timestamp":"2026-07-09T10:07:00Z","event_type":"SCAN_FINDING_UPDATED"}`:                             "medium",
		`{"event_id":"5","type":"CUSTOM_AGENTS_LOG","timestamp":"2026-07-09T10:07:00Z","event_type":"CONNECTOR_OAUTH_RESOLVED"}`:                          "medium",
		`{"event_id":"6","type":"CONVERSATION_MESSAGE","timestamp":"2026-07-09T10:07:00Z","message":{"author":{"type":"user"},"content":{"value":"hi"}}}`: "info",
	} {
		ev, err := chatgptschema.Parse([]byte(raw), "chatgpt", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Process(context.Background(), pipeline.Batch{Events: []pipeline.Event{ev}})
		if err != nil {
			t.Fatal(err)
		}
		if ar := auditrelay(t, &out.Events[0]); ar["severity"] != want || ar["enriched"] != false {
			t.Errorf("%s: annotated %v, want severity %s, enriched false", raw, ar, want)
		}
	}
}
