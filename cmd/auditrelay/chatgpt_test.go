package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/internal/eventcsv"
	cgschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

const cgKey = "sk-compliance-cli-canary-31a9"

// cgSim serves a compliance-log simulator whose export began 6 hours ago:
// a file per type every 20 minutes, about 4 records each. hook, when set,
// sees every request to the API and to the download host first. It
// returns the simulator, its base URL and the flags that point a query at
// it.
func cgSim(t *testing.T, o chatgptsim.Options, hook func(*http.Request)) (*chatgptsim.Server, string, []string) {
	t.Helper()
	o.APIKey = cgKey
	if o.Start.IsZero() {
		o.Start = time.Now().Add(-6 * time.Hour)
	}
	if o.Interval == 0 {
		o.Interval = 20 * time.Minute
	}
	if o.Lines == 0 {
		o.Lines = 4
	}
	sim := chatgptsim.New(o)
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hook != nil {
				hook(r)
			}
			h.ServeHTTP(w, r)
		})
	}
	api := httptest.NewServer(wrap(sim.Handler()))
	dl := httptest.NewServer(wrap(sim.DownloadHandler()))
	t.Cleanup(api.Close)
	t.Cleanup(dl.Close)
	sim.SetDownloadBase(dl.URL)
	base := api.URL + "/v1/compliance"
	return sim, base, []string{"--api", "chatgpt", "--base-url", base, "--workspace", sim.WorkspaceID()}
}

// runCG runs the CLI with the compliance key in its environment; stderr
// says it is a terminal when term is set, so that progress is drawn.
func runCG(ctx context.Context, term bool, args ...string) (stdout, stderr string, code int) {
	return runWith(ctx, "CHATGPT_COMPLIANCE_KEY="+cgKey, term, args...)
}

// cgRec is one record of the simulator's files, as the files hold it.
type cgRec struct {
	id, typ, actor string
	at             time.Time
}

// cgRecords returns the records of every visible file, in the order the
// source reads them: by the files' end_time, the types in the
// simulator's order for the same end_time, each file's lines in order.
func cgRecords(t *testing.T, sim *chatgptsim.Server) []cgRec {
	t.Helper()
	files := sim.AllFiles()
	slices.SortStableFunc(files, func(x, y chatgptsim.FileInfo) int { return x.EndTime.Compare(y.EndTime) })
	var out []cgRec
	for _, f := range files {
		var buf bytes.Buffer
		if ok, err := sim.WriteFile(&buf, f.ID); !ok || err != nil {
			t.Fatalf("file %s: %v %v", f.ID, ok, err)
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			fl, err := cgschema.ReadObject(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			at, err := fl.Time()
			if err != nil {
				t.Fatal(err)
			}
			// Who did it, as the table names them: a user's e-mail, an API
			// key's redacted id, an agent's name.
			var actor string
			switch a := fl.Actor(); a.Kind {
			case cgschema.ActorUser:
				actor = a.Email
			case cgschema.ActorAPIKey:
				actor = a.KeyID
			case cgschema.ActorAgent:
				actor = a.AgentName
			}
			out = append(out, cgRec{id: fl.ID(), typ: fl.Type(), at: at, actor: actor})
		}
	}
	return out
}

// within returns the records in [since, until), newest first.
func within(recs []cgRec, since, until time.Time) []cgRec {
	var out []cgRec
	for _, r := range recs {
		if !r.at.Before(since) && r.at.Before(until) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(x, y cgRec) int { return y.at.Compare(x.at) })
	return out
}

func recIDs(recs []cgRec) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.id
	}
	return ids
}

// eventIDs reads the event_id of each JSON line.
func eventIDs(t *testing.T, s string) []string {
	t.Helper()
	return jsonlField(t, s, "event_id")
}

// noContent fails when out holds the text of a conversation message.
func noContent(t *testing.T, sim *chatgptsim.Server, out string) {
	t.Helper()
	for _, m := range sim.Truth().Messages {
		if len(m) > 12 && strings.Contains(out, m) {
			t.Fatalf("the output holds what a person wrote, without --keep-content: %q", m)
		}
	}
}

// TestListChatGPTNewestFirst: list --api chatgpt shows the records of
// [since, until) newest first across types, downloads only the newest
// files for a --limit, says when more exist, and shows no conversation
// text unless --keep-content.
func TestListChatGPTNewestFirst(t *testing.T) {
	var downloads atomic.Int64
	sim, _, flags := cgSim(t, chatgptsim.Options{Seed: 21, SharedEnd: 0.3}, func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/exports/") {
			downloads.Add(1)
		}
	})
	recs := cgRecords(t, sim)
	now := time.Now()
	want := within(recs, now.Add(-3*time.Hour), now)

	out, errs, code := runCG(t.Context(), false, append([]string{"list", "--since", "3h", "--limit", "0", "-o", "jsonl"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := eventIDs(t, out); !slices.Equal(got, recIDs(want)) {
		t.Fatalf("got %d records %v..., want %d %v...", len(got), got[:min(3, len(got))], len(want), recIDs(want)[:3])
	}
	noContent(t, sim, out)
	if !strings.Contains(out, `"sha256":`) {
		t.Fatal("no content digest in the records: the test proves nothing")
	}

	downloads.Store(0)
	out, errs, code = runCG(t.Context(), false, append([]string{"list", "--since", "3h", "--limit", "25", "-o", "jsonl"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := eventIDs(t, out); !slices.Equal(got, recIDs(want[:25])) {
		t.Fatalf("--limit 25: got %v..., want %v...", got[:min(3, len(got))], recIDs(want)[:3])
	}
	if !strings.Contains(errs, "showing the newest 25; more logs exist") {
		t.Errorf("stderr does not say more exist: %s", errs)
	}
	if n := downloads.Load(); n > 16 {
		t.Errorf("%d files downloaded for the newest 25 records (about 32 a file period): the list reads more than it shows", n)
	}

	out, errs, code = runCG(t.Context(), false, append([]string{"list", "--since", "6h", "--limit", "0", "--type", "CONVERSATION_MESSAGE", "--keep-content", "-o", "jsonl"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if m := sim.Truth().Messages[0]; !strings.Contains(out, strings.ReplaceAll(m[:min(len(m), 30)], "\n", `\n`)) {
		t.Errorf("--keep-content: the first message is not in the output")
	}
}

// TestListChatGPTTableAndCSV: the table names each record's actor as a
// person reads it (a user's e-mail, an API key's redacted id, an agent's
// name) and the action within its type; --type takes wildcards; the CSV
// has the documented columns and one row a record.
func TestListChatGPTTableAndCSV(t *testing.T) {
	sim, _, flags := cgSim(t, chatgptsim.Options{Seed: 22}, nil)
	recs := cgRecords(t, sim)
	actors := map[string]string{}
	for _, r := range recs {
		actors[r.id] = r.actor
	}
	out, errs, code := runCG(t.Context(), false, append([]string{"list", "--since", "7h", "--limit", "0"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	kinds := map[string]bool{}
	for _, l := range listTableRows(t, out, `^TIME\s+TYPE\s+ACTION\s+ACTOR\s+ID$`, len(recs)) {
		f := strings.Fields(l)
		id, actor := f[len(f)-1], actors[f[len(f)-1]]
		if actor == "" || !strings.Contains(l, "  "+actor+"  ") {
			t.Fatalf("row %q does not show its actor %q", l, actor)
		}
		switch {
		case strings.Contains(actor, "@"):
			kinds["user"] = true
		case strings.HasPrefix(actor, "sk-"):
			kinds["key"] = true
		default:
			kinds["agent"] = true
		}
		_ = id
	}
	if len(kinds) != 3 {
		t.Errorf("the table shows actors of kinds %v, want users, API keys and agents", kinds)
	}
	noContent(t, sim, out)

	out, errs, code = runCG(t.Context(), false, append([]string{"list", "--since", "7h", "--limit", "0", "--type", "CODEX_*", "-o", "csv"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows := csvRows(t, out, eventcsv.ComplianceLogColumns)
	codex := 0
	for _, r := range recs {
		if strings.HasPrefix(r.typ, "CODEX_") {
			codex++
		}
	}
	if len(rows)-1 != codex {
		t.Fatalf("%d rows, %d CODEX_* records", len(rows)-1, codex)
	}
	for _, row := range rows[1:] {
		if !strings.HasPrefix(row[1], "CODEX_") || row[2] == "" || row[9] != sim.WorkspaceID() {
			t.Fatalf("row %v", row[:10])
		}
	}
}

// TestGetChatGPT: get finds a record by event_id in the files, shows how
// far it searched on a terminal, hides conversation text; an id that is
// not there is exit 1 and says what was searched.
func TestGetChatGPT(t *testing.T) {
	sim, _, flags := cgSim(t, chatgptsim.Options{Seed: 23}, nil)
	recs := cgRecords(t, sim)
	var target cgRec
	for _, r := range recs[len(recs)/3:] {
		if r.typ == "CONVERSATION_MESSAGE" {
			target = r
			break
		}
	}
	out, errs, code := runCG(t.Context(), true, append([]string{"get", target.id, "--since", "7h"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		EventID string `json:"event_id"`
		Message struct {
			Content struct {
				Value struct {
					SHA256 string `json:"sha256"`
				} `json:"value"`
			} `json:"content"`
		} `json:"message"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.EventID != target.id || got.Message.Content.Value.SHA256 == "" {
		t.Fatalf("get printed %v: %s", err, out)
	}
	if !strings.Contains(out, "\n  \"type\": \"CONVERSATION_MESSAGE\"") {
		t.Errorf("not indented: %s", out)
	}
	noContent(t, sim, out)
	if !strings.Contains(errs, "no get-by-id") || !strings.Contains(errs, "\r\033[Kget: ") || !strings.Contains(errs, " files, ") || !strings.Contains(errs, "back to ") {
		t.Errorf("stderr shows no progress over files: %q", errs)
	}

	_, errs, code = runCG(t.Context(), false, append([]string{"get", "--type", "AUDIT_LOG", target.id, "--since", "7h"}, flags...)...)
	if code != exitFailure || !strings.Contains(errs, `no compliance-log record with event_id "`+target.id+`"`) {
		t.Fatalf("an id of another type: exit %d: %s", code, errs)
	}
	if _, errs, code := runCLI(t.Context(), "get", "--type", "AUDIT_LOG", "x"); code != exitUsage || !strings.Contains(errs, "--api chatgpt") {
		t.Fatalf("--type without --api chatgpt: exit %d: %s", code, errs)
	}
}

// TestExportChatGPTInterruptedAndResumed: export --api chatgpt writes
// every record of the range in file order; interrupted after a few files,
// --resume goes on at the next file: no gap, no duplicate.
func TestExportChatGPTInterruptedAndResumed(t *testing.T) {
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			var downloads atomic.Int64
			var cancel atomic.Pointer[context.CancelFunc]
			sim, _, flags := cgSim(t, chatgptsim.Options{Seed: 24, SharedEnd: 0.3}, func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/exports/") && downloads.Add(1) == 10 {
					if c := cancel.Load(); c != nil {
						(*c)()
					}
				}
			})
			want := recIDs(cgRecords(t, sim))
			out := filepath.Join(t.TempDir(), "export."+format)
			args := append([]string{"export", "--since", "72h", "-o", format, "--out", out}, flags...)
			_, errs, exported := exportResumed(t, runCG, &cancel, args, out)
			if !strings.Contains(errs, " files") || !strings.Contains(errs, "up to ") || !strings.Contains(errs, "[####################] 100%") {
				t.Errorf("the progress does not read files oldest first: %q", errs)
			}
			if got := exportIDs(t, exported, format, "event_id"); !slices.Equal(got, want) {
				t.Fatalf("exported %d records, want %d in file order: a gap, a duplicate or another order", len(got), len(want))
			}
			noContent(t, sim, exported)
		})
	}
}

// TestStatsChatGPT: stats counts the records of the range by type, actor
// and action, with the success rate of action_result, drawing its
// progress over files on a terminal.
func TestStatsChatGPT(t *testing.T) {
	sim, _, flags := cgSim(t, chatgptsim.Options{Seed: 25}, nil)
	recs := cgRecords(t, sim)
	now := time.Now()
	in := within(recs, now.Add(-4*time.Hour), now)
	byType := map[string]int{}
	for _, r := range in {
		byType[r.typ]++
	}
	out, errs, code := runCG(t.Context(), true, append([]string{"stats", "--since", "4h", "--by", "type", "-o", "json"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := readStats(t, out)
	if res.Total != len(in) || len(res.Groups) != len(byType) {
		t.Fatalf("total %d in %d groups, want %d in %d", res.Total, len(res.Groups), len(in), len(byType))
	}
	for _, g := range res.Groups {
		if g.Count != byType[g.Key] {
			t.Errorf("%s: %d, want %d", g.Key, g.Count, byType[g.Key])
		}
		if (g.Key == "AUDIT_LOG") != (g.Success != nil) {
			t.Errorf("%s: success rate %v (only AUDIT_LOG has action_result)", g.Key, g.Success)
		}
	}
	if !strings.Contains(errs, "stats: ") || !strings.Contains(errs, " files") || !strings.Contains(errs, "up to ") {
		t.Errorf("no progress over files: %q", errs)
	}

	out, errs, code = runCG(t.Context(), false, append([]string{"stats", "--since", "4h", "--by", "actor", "--top", "0", "-o", "csv"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, r := range in {
		if !strings.Contains(out, "\n"+r.actor+",") {
			t.Fatalf("no group for actor %q:\n%s", r.actor, out)
		}
	}
	out, errs, code = runCG(t.Context(), false, append([]string{"stats", "--since", "4h", "--by", "action"}, flags...)...)
	if code != 0 || !strings.Contains(out, "CONVERSATION_MESSAGE user") || !strings.Contains(out, "AUDIT_LOG ") {
		t.Fatalf("--by action: exit %d: %s%s", code, out, errs)
	}
	if _, errs, code := runCLI(t.Context(), "stats", "--by", "action"); code != exitUsage || !strings.Contains(errs, "--api chatgpt") {
		t.Fatalf("--by action on audit logs: exit %d: %s", code, errs)
	}
}

// TestQueryChatGPTConfig: -c reads the file's compliance-log source
// (--api chatgpt picks it when another comes first); its keep_content does
// not reach the terminal; what is missing is named; a refused key is an
// error that names the API and never shows the key.
func TestQueryChatGPTConfig(t *testing.T) {
	sim, base, _ := cgSim(t, chatgptsim.Options{Seed: 26, Faults: chatgptsim.Faults{Rate: 0.2,
		Kinds: []chatgptsim.FaultKind{chatgptsim.Fault500, chatgptsim.FaultDigest, chatgptsim.FaultTruncate}}}, nil)
	dir := t.TempDir()
	chat := `
  - name: chat
    type: chatgpt_compliance_logs
    base_url: ` + base + `
    workspace_id: ` + sim.WorkspaceID() + `
    api_key: ${env:ACME_CG_KEY}
    keep_content: true
    retry_wait_min: 1ms
    retry_wait_max: 5ms
`
	want := recIDs(within(cgRecords(t, sim), time.Now().Add(-7*time.Hour), time.Now()))
	env := []string{"ACME_CG_KEY=" + cgKey, "ACME_OPENAI_KEY=sk-admin-x"}
	configPicksSource(t, dir, "chatgpt", chat, env, []string{"--since", "7h"}, func(t *testing.T, out string) {
		if got := eventIDs(t, out); !slices.Equal(got, want) {
			t.Fatalf("got %d records, want %d", len(got), len(want))
		}
		noContent(t, sim, out)
	})
	for _, tc := range []struct {
		name    string
		environ []string
		args    []string
		code    int
		errs    string
	}{
		{"no key", nil, []string{"--api", "chatgpt", "--base-url", base, "--workspace", sim.WorkspaceID()}, exitUsage, "CHATGPT_COMPLIANCE_KEY"},
		{"no workspace", []string{"CHATGPT_COMPLIANCE_KEY=" + cgKey}, []string{"--api", "chatgpt", "--base-url", base}, exitUsage, "--workspace"},
		{"no compliance source", env, []string{"--api", "chatgpt", "-c", writeFile(t, dir, "none.yaml", "sources:\n  - name: org\n    type: openai_audit_logs\n    api_key: x\n")}, exitUsage, "has no chatgpt_compliance_logs source"},
		{"refused key", []string{"CHATGPT_COMPLIANCE_KEY=sk-wrong-canary-77"}, []string{"--api", "chatgpt", "--base-url", base, "--workspace", sim.WorkspaceID()}, exitFailure, "API " + base + ": listing the files of CONVERSATION_MESSAGE"},
		{"organization", []string{"CHATGPT_COMPLIANCE_KEY=" + cgKey}, []string{"--api", "chatgpt", "--base-url", base, "--workspace", sim.OrgID(), "--limit", "1"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errb, Environ: tc.environ}
			code := m.Run(t.Context(), append([]string{"list"}, tc.args...))
			if code != tc.code || !strings.Contains(errb.String(), tc.errs) {
				t.Fatalf("exit %d, want %d; stderr lacks %q: %s", code, tc.code, tc.errs, errb.String())
			}
			if strings.Contains(out.String()+errb.String(), "canary") {
				t.Fatal("a key was printed")
			}
		})
	}
}

// TestQueryHelpSaysContentIsHashed: each query command's -h says what
// --keep-content shows and that, without it, content is hashed.
func TestQueryHelpSaysContentIsHashed(t *testing.T) {
	for _, cmd := range []string{"list", "get", "export", "stats"} {
		_, errs, code := runCLI(t.Context(), cmd, "-h")
		h := flagHelp(strings.Replace(errs, "\n  -keep-content\n", "\n  -keep-content \n", 1), "keep-content")
		if code != 0 || !strings.Contains(h, "conversation messages") || !strings.Contains(h, "SHA-256 and length") || !strings.Contains(errs, "chatgpt") {
			t.Errorf("%s -h: exit %d, --keep-content: %q", cmd, code, h)
		}
	}
}
