package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

const queryKey = "sk-admin-query-test"

// querySim serves a simulator with audit and request logs over the last
// 48h; hook, when set, sees every request before the simulator.
func querySim(t *testing.T, faults openaisim.Faults, hook func(*http.Request)) (*openaisim.Server, string) {
	t.Helper()
	sim := openaisim.New(openaisim.Options{Seed: 11, Events: 1500, OrgLogEvents: 1500, Span: 48 * time.Hour,
		Start: time.Now().Add(-48 * time.Hour), APIKey: queryKey, Faults: faults})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook != nil {
			hook(r)
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return sim, srv.URL + "/v1"
}

func runCLI(ctx context.Context, args ...string) (stdout, stderr string, code int) {
	return runWith(ctx, "OPENAI_ADMIN_KEY="+queryKey, false, args...)
}

// runWith runs the CLI with env (a vendor's key) as its environment;
// stderr says it is a terminal when term is set, so that progress is
// drawn.
func runWith(ctx context.Context, env string, term bool, args ...string) (stdout, stderr string, code int) {
	var out bytes.Buffer
	var errb interface {
		Write([]byte) (int, error)
		String() string
	} = &bytes.Buffer{}
	if term {
		errb = &termBuffer{}
	}
	m := &Main{Stdout: &out, Stderr: errb, Environ: []string{env}}
	code = m.Run(ctx, args)
	return out.String(), errb.String(), code
}

// cliRunner runs the CLI with a vendor's key in its environment; stderr
// says it is a terminal when term is set, so that progress is drawn.
type cliRunner func(ctx context.Context, term bool, args ...string) (stdout, stderr string, code int)

// jsonlIDs reads the id of each JSON line.
func jsonlIDs(t *testing.T, s string) []string {
	t.Helper()
	return jsonlField(t, s, "id")
}

// jsonlField reads the string field of each JSON line of s, which every
// line must have: the id of an event, as its vendor names it.
func jsonlField(t *testing.T, s, field string) []string {
	t.Helper()
	var ids []string
	for line := range strings.Lines(s) {
		var obj map[string]json.RawMessage
		var id string
		err := json.Unmarshal([]byte(line), &obj)
		if err == nil {
			err = json.Unmarshal(obj[field], &id)
		}
		if err != nil || id == "" {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// csvRows reads the CSV that list wrote, which columns must
// head, and returns its rows, the header first.
func csvRows(t *testing.T, out string, columns []string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], columns) {
		t.Fatalf("header %v, want %v", rows[:min(1, len(rows))], columns)
	}
	return rows
}

// listTableRows reads the table list wrote, which header (a regular
// expression) must head, and returns its rows: one an event, n of them.
func listTableRows(t *testing.T, out, header string, n int) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexpMatch(header, lines[0]) || len(lines) != n+1 {
		t.Fatalf("%d lines for %d events, header %q", len(lines), n, lines[0])
	}
	return lines[1:]
}

func regexpMatch(re, s string) bool {
	return regexp.MustCompile(re).MatchString(s)
}

// configPicksSource checks that list -c reads source, a sources item of
// the type --api api reads, from a file in dir that holds it alone, and,
// with --api, from one where an OpenAI audit-log source comes first.
// env holds the keys both files name, the OpenAI source's in
// $ACME_OPENAI_KEY; args bound the range; check sees what list printed.
// It returns the path of the file that holds source alone.
func configPicksSource(t *testing.T, dir, api, source string, env, args []string, check func(t *testing.T, out string)) (alone string) {
	t.Helper()
	second := writeFile(t, dir, "second.yaml", "sources:\n  - name: org\n    type: openai_audit_logs\n    api_key: ${env:ACME_OPENAI_KEY}\n"+source)
	alone = writeFile(t, dir, "first.yaml", "sources:"+source)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"--api " + api + ", its source second", []string{"-c", second, "--api", api}},
		{"its source first", []string{"-c", alone}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errb, Environ: env}
			if code := m.Run(t.Context(), slices.Concat([]string{"list", "--limit", "0", "-o", "jsonl"}, args, tc.args)); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			check(t, out.String())
		})
	}
	return alone
}

// newestFirst returns the ids visible in the last window, newest first.
func newestFirst(ids []string, n int) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

func TestListBothAPIs(t *testing.T) {
	sim, base := querySim(t, openaisim.Faults{Rate: 0.2, Kinds: []openaisim.FaultKind{openaisim.Fault429, openaisim.FaultGarbled}, RetryAfter: time.Millisecond}, nil)
	allAudit := sim.VisibleIDs(time.Now().Add(time.Hour))
	allLogs := sim.VisibleLogIDs(time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"audit 250 newest across pages, 429 storm", []string{"list", "--base-url", base, "--since", "72h", "--limit", "250", "-o", "jsonl"}, newestFirst(allAudit, 250)},
		{"requests all, 429 storm", []string{"list", "--api", "requests", "--base-url", base, "--since", "72h", "--limit", "0", "-o", "jsonl"}, newestFirst(allLogs, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(context.Background(), tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			got := jsonlIDs(t, out)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %d ids, want %d (first got %v want %v)", len(got), len(tc.want), got[:min(3, len(got))], tc.want[:min(3, len(tc.want))])
			}
		})
	}
}

func TestListFiltersAndFormats(t *testing.T) {
	_, base := querySim(t, openaisim.Faults{}, nil)
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"wildcard type, requests", []string{"--api", "requests", "--type", "organization.*", "-o", "jsonl", "--limit", "0"}, func(t *testing.T, out string) {
			n := 0
			for line := range strings.Lines(out) {
				var ev struct{ Event string }
				json.Unmarshal([]byte(line), &ev)
				if !strings.HasPrefix(ev.Event, "organization.") {
					t.Fatalf("event %s does not match organization.*", ev.Event)
				}
				n++
			}
			if n == 0 {
				t.Fatal("no events")
			}
		}},
		{"since bounds the time", []string{"--api", "requests", "--since", "1h", "-o", "jsonl", "--limit", "0"}, func(t *testing.T, out string) {
			for line := range strings.Lines(out) {
				var ev struct {
					CreatedAt int64 `json:"created_at"`
				}
				json.Unmarshal([]byte(line), &ev)
				if time.Since(time.Unix(ev.CreatedAt, 0)) > time.Hour+time.Second {
					t.Fatalf("event from %v is older than 1h", time.Unix(ev.CreatedAt, 0))
				}
			}
		}},
		{"json is an array", []string{"--limit", "5", "-o", "json"}, func(t *testing.T, out string) {
			var arr []map[string]any
			if err := json.Unmarshal([]byte(out), &arr); err != nil || len(arr) != 5 {
				t.Fatalf("%d elements, %v", len(arr), err)
			}
		}},
		{"csv reads back", []string{"--api", "requests", "--limit", "40", "-o", "csv"}, func(t *testing.T, out string) {
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(recs) != 41 || recs[0][0] != "id" {
				t.Fatalf("%d records, %v", len(recs), err)
			}
		}},
		{"table", []string{"--limit", "3"}, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "audit_log-") {
				t.Fatalf("table:\n%s", out)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(context.Background(), append([]string{"list", "--base-url", base}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			tc.check(t, out)
		})
	}
}

func TestGet(t *testing.T) {
	sim, base := querySim(t, openaisim.Faults{}, nil)
	var auditDay string
	auditIDs := sim.VisibleIDs(time.Now())
	auditDay = auditIDs[len(auditIDs)/2]
	logIDs := sim.VisibleLogIDs(time.Now())
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantOut string
		wantErr string
	}{
		{"request log by id", []string{"--api", "requests", logIDs[7]}, 0, `"id": "` + logIDs[7] + `"`, ""},
		{"request log not found", []string{"--api", "requests", "log_0000000000000000"}, 1, "", "no organization log with id"},
		{"audit log found by its date", []string{auditDay}, 0, `"id": "` + auditDay + `"`, "no get-by-id"},
		{"audit log not found", []string{"audit_log-ffffffffffffffff_20200101"}, 1, "", "no audit log with id"},
		{"audit id without date", []string{"audit_log-nodate", "--since", "2h"}, 1, "", "carries no _yyyymmdd date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(context.Background(), append([]string{"get", "--base-url", base}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.wantOut) || !strings.Contains(errs, tc.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout: %.300s\nstderr: %s", code, tc.code, out, errs)
			}
		})
	}
}

func TestStats(t *testing.T) {
	sim, base := querySim(t, openaisim.Faults{}, nil)
	n := len(sim.VisibleLogIDs(time.Now().Add(time.Hour)))
	for _, by := range []string{"type", "actor", "model", "day", "project"} {
		t.Run(by, func(t *testing.T) {
			out, errs, code := runCLI(context.Background(), "stats", "--api", "requests", "--base-url", base, "--since", "72h", "--by", by, "--top", "0", "-o", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			res := readStats(t, out)
			sum := 0
			for _, g := range res.Groups {
				sum += g.Count
				if by == "type" && strings.HasSuffix(g.Key, ".create") && (g.Success == nil || *g.Success < 0.8 || *g.Success >= 1) {
					t.Fatalf("%s success rate %v, want the simulator's ~93%%", g.Key, g.Success)
				}
			}
			if res.Total != n || sum != n {
				t.Fatalf("total %d, sum %d, want %d", res.Total, sum, n)
			}
		})
	}
	_, errs, code := runCLI(context.Background(), "stats", "--base-url", base, "--by", "model")
	if code != exitUsage || !strings.Contains(errs, "needs the request-log API") {
		t.Fatalf("audit --by model: exit %d %s", code, errs)
	}
}

// statsResult is what stats -o json writes, as far as the tests read it.
type statsResult struct {
	By     string
	Total  int
	Groups []statRow
}

// readStats reads what stats -o json wrote.
func readStats(t *testing.T, out string) statsResult {
	t.Helper()
	var res statsResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestQueryHelpShowsDefaults: each command's -h gives the -o it really
// writes by default and the formats it takes, and refuses others.
func TestQueryHelpShowsDefaults(t *testing.T) {
	for _, tc := range []struct {
		cmd, def, formats, since string
	}{
		{"list", "table", "table, json, jsonl or csv", "24h"},
		{"get", "json", "json (indented) or jsonl", "30d"},
		{"export", "csv", "csv or jsonl", "30d"},
		{"stats", "table", "table, json or csv", "24h"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			_, help, code := runCLI(context.Background(), tc.cmd, "-h")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, help)
			}
			if o := flagHelp(help, "o"); !strings.Contains(o, tc.formats) || !strings.Contains(o, `(default "`+tc.def+`")`) {
				t.Fatalf("-o help %q, want %q and default %q", o, tc.formats, tc.def)
			}
			if s := flagHelp(help, "since"); !strings.Contains(s, "3d") || !strings.Contains(s, `(default "`+tc.since+`")`) {
				t.Fatalf("--since help %q", s)
			}
			_, errs, code := runCLI(context.Background(), tc.cmd, "-o", "yaml", "x")
			if code != exitUsage || !strings.Contains(errs, "-o must be "+strings.ReplaceAll(tc.formats, " (indented)", "")+`, got "yaml"`) {
				t.Fatalf("-o yaml: exit %d, %s", code, errs)
			}
		})
	}
}

// flagHelp returns the entry of flag name in a -h text.
func flagHelp(help, name string) string {
	i := strings.Index(help, "\n  -"+name+" ")
	if i < 0 {
		return ""
	}
	entry := help[i+1:]
	if j := strings.Index(entry, "\n  -"); j >= 0 {
		entry = entry[:j]
	}
	return entry
}

func TestListSaysWhenMoreExist(t *testing.T) {
	sim, base := querySim(t, openaisim.Faults{}, nil)
	nAudit := len(sim.VisibleIDs(time.Now().Add(time.Hour)))
	nLogs := len(sim.VisibleLogIDs(time.Now().Add(time.Hour)))
	const hint = "more logs exist: raise --limit"
	for _, tc := range []struct {
		name  string
		args  []string
		lines int
		more  bool
	}{
		{"within a page", []string{"--limit", "5"}, 5, true},
		{"at the end of a page", []string{"--limit", "100"}, 100, true},
		{"one short of all", []string{"--limit", strconv.Itoa(nAudit - 1)}, nAudit - 1, true},
		{"exactly all", []string{"--limit", strconv.Itoa(nAudit)}, nAudit, false},
		{"no limit", []string{"--limit", "0"}, nAudit, false},
		{"requests, exactly all", []string{"--api", "requests", "--limit", strconv.Itoa(nLogs)}, nLogs, false},
		{"requests, a narrower range", []string{"--api", "requests", "--since", "1h", "--limit", "3"}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(context.Background(), append([]string{"list", "--base-url", base, "--since", "72h", "-o", "jsonl"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if n := len(jsonlIDs(t, out)); n != tc.lines {
				t.Fatalf("%d events on stdout, want %d", n, tc.lines)
			}
			if strings.Contains(errs, hint) != tc.more {
				t.Fatalf("stderr %q: hint shown %v, want %v", errs, !tc.more, tc.more)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"24h", now.Add(-24 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"3d", now.Add(-3 * day)},
		{"2w", now.Add(-14 * day)},
		{"1w2d", now.Add(-9 * day)},
		{"1d12h", now.Add(-36 * time.Hour)},
		{"2d30m15s", now.Add(-2*day - 30*time.Minute - 15*time.Second)},
		{"1.5d", now.Add(-36 * time.Hour)},
		{"0.5w", now.Add(-84 * time.Hour)},
		{"2026-05-01T08:30:00Z", time.Date(2026, 5, 1, 8, 30, 0, 0, time.UTC)},
		{"2026-05-01T08:30:00+02:00", time.Date(2026, 5, 1, 6, 30, 0, 0, time.UTC)},
		{"2026-05-01", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"", time.Time{}},
		{"3", time.Time{}},
		{"d", time.Time{}},
		{"3x", time.Time{}},
		{"3days", time.Time{}},
		{"-3d", time.Time{}},
		{"1w-2d", time.Time{}},
		{"3d 2h", time.Time{}},
		{"..d", time.Time{}},
		{"99999999w", time.Time{}},
		{"yesterday", time.Time{}},
	} {
		got, err := parseWhen("--since", tc.in, now)
		if tc.want.IsZero() {
			if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("--since %q: ", tc.in)) || !strings.Contains(err.Error(), "3d, 2w, 1w2d") {
				t.Errorf("%q: got %v, %v; want an error naming the flag and the forms", tc.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestSinceFlags: every command that has --since or --until reads them
// alike, and names the flag it refuses.
func TestSinceFlags(t *testing.T) {
	_, base := querySim(t, openaisim.Faults{}, nil)
	for _, args := range [][]string{
		{"list", "--since", "3d", "--until", "1d"},
		{"stats", "--since", "1w", "--until", "2026-01-01"},
		{"export", "--since", "1w2d", "--out", "-"},
		{"get", "audit_log-nodate", "--since", "2d"},
	} {
		_, errs, code := runCLI(context.Background(), append(args, "--base-url", base)...)
		want := 0
		switch args[0] {
		case "stats": // until 2026-01-01 is before since
			want = exitUsage
		case "get": // no such id
			want = exitFailure
		}
		if code != want || strings.Contains(errs, "neither") || strings.Contains(errs, "want a duration") {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
	for _, args := range [][]string{
		{"list", "--since", "3x"},
		{"stats", "--until", "tomorrow"},
		{"export", "--since", "3 days", "--out", "-"},
		{"get", "audit_log-x", "--since", "1y"},
	} {
		_, errs, code := runCLI(context.Background(), append(args, "--base-url", base)...)
		flagName := args[len(args)-2]
		if args[0] == "export" || args[0] == "get" {
			flagName = "--since"
		}
		if code != exitUsage || !strings.Contains(errs, flagName+` "`) || !strings.Contains(errs, "90m, 24h, 3d, 2w, 1w2d") {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
}

// TestQueryConfigReadsOnlySources: -c needs the source's key, not the
// sinks' secrets; a missing source key is named.
func TestQueryConfigReadsOnlySources(t *testing.T) {
	sim, base := querySim(t, openaisim.Faults{}, nil)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "auditrelay.yaml", `
sources:
  - name: acme
    type: openai_audit_logs
    base_url: `+base+`
    api_key: ${env:ACME_KEY}
sinks:
  - name: splunk
    type: splunk_hec
    endpoint: https://splunk.example.com:8088
    token: ${env:UNSET_VAR}
`)
	for _, tc := range []struct {
		name    string
		environ []string
		code    int
		errs    []string
	}{
		{"sink secret unset", []string{"ACME_KEY=" + queryKey}, 0, nil},
		{"source key unset", nil, exitUsage, []string{"sources[0].api_key", "ACME_KEY is not set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errb, Environ: tc.environ}
			code := m.Run(context.Background(), []string{"list", "-c", cfg, "--since", "72h", "--limit", "3", "-o", "jsonl"})
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errb.String())
			}
			for _, w := range tc.errs {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q: %s", w, errb.String())
				}
			}
			if code == 0 && !slices.Equal(jsonlIDs(t, out.String()), newestFirst(sim.VisibleIDs(time.Now().Add(time.Hour)), 3)) {
				t.Fatalf("stdout:\n%s", out.String())
			}
		})
	}
}

// TestQueryHTTPErrors: a refused request names its URL (no query) and
// status, and never the key.
func TestQueryHTTPErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error":{"message":"nope","type":"invalid_request_error"}}`)
	}))
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "http://", "http://user:pa55word@", 1) + "/v1"
	for _, tc := range []struct {
		args []string
		path string
	}{
		{[]string{"list"}, "/organization/audit_logs:"},
		{[]string{"list", "--api", "requests"}, "/organization_logs:"},
		{[]string{"stats"}, "/organization/audit_logs:"},
		{[]string{"export", "--out", "-"}, "/organization/audit_logs:"},
		{[]string{"get", "audit_log-x_20260101"}, "/organization/audit_logs:"},
		{[]string{"get", "--api", "requests", "log_1"}, "/organization_logs/log_1:"},
	} {
		_, errs, code := runCLI(context.Background(), append(tc.args, "--base-url", base)...)
		if code != exitFailure || !strings.Contains(errs, "API "+srv.URL+"/v1: GET "+tc.path) || !strings.Contains(errs, "(403)") ||
			!strings.Contains(errs, "nope") || strings.Contains(errs, "pa55word") || strings.Contains(errs, "limit=") || strings.Contains(errs, queryKey) {
			t.Errorf("%v: exit %d, %s", tc.args, code, errs)
		}
	}
}
