package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/internal/eventcsv"
	aschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

const (
	anKey        = "sk-ant-api01-cli-canary-5c1e"
	anNoScopeKey = "sk-ant-api01-noscope-canary-9b02"
)

// anSim serves an activity-feed simulator whose activities cover the last
// 48 hours, none arriving after, over real HTTP on a free loopback port.
// hook, when set, sees every request first. It returns the simulator,
// its base URL and the flags that point a query at it. The organization
// has anKey, which may read the feed, and anNoScopeKey, which may not.
func anSim(t *testing.T, o anthropicsim.Options, hook func(*http.Request)) (*anthropicsim.Server, string, []string) {
	t.Helper()
	if o.Activities == 0 {
		o.Activities = 2000
	}
	o.Span = 48 * time.Hour
	o.Start = time.Now().Add(-o.Span)
	o.RequestsPerMinute = -1
	o.Keys = []anthropicsim.Key{{Secret: anKey}, {Secret: anNoScopeKey, Scopes: []string{"read:compliance_org_data"}}}
	sim := anthropicsim.New(o)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook != nil {
			hook(r)
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return sim, srv.URL, []string{"--api", "anthropic", "--base-url", srv.URL}
}

// runAN runs the CLI with the compliance key in its environment; stderr
// says it is a terminal when term is set, so that progress is drawn.
func runAN(ctx context.Context, term bool, args ...string) (stdout, stderr string, code int) {
	return runWith(ctx, "ANTHROPIC_COMPLIANCE_KEY="+anKey, term, args...)
}

// anRec is one activity of the simulator, as its bytes say.
type anRec struct {
	id, typ, org string
	at           time.Time
	actor        aschema.Actor
	status       int // compliance_api_accessed's status_code
}

// anRecords returns every activity of the simulator, oldest first: the
// API's order read backwards.
func anRecords(t *testing.T, sim *anthropicsim.Server) []anRec {
	t.Helper()
	ids := sim.Truth().IDs
	out := make([]anRec, len(ids))
	for i := range ids {
		raw := sim.Activity(i)
		f, err := aschema.ReadObject(raw)
		if err != nil || f.ID() != ids[i] {
			t.Fatalf("activity %d: %v, id %q, want %q", i, err, f.ID(), ids[i])
		}
		at, err := f.Time()
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			StatusCode int `json:"status_code"`
		}
		json.Unmarshal(raw, &st) //nolint:errcheck // read above
		out[i] = anRec{id: f.ID(), typ: f.Type(), org: f.OrganizationID(), at: at, actor: f.Actor(), status: st.StatusCode}
	}
	return out
}

// anWithin returns the activities of recs created in [since, until) that
// keep says, newest first.
func anWithin(recs []anRec, since, until time.Time, keep func(anRec) bool) []anRec {
	var out []anRec
	for _, r := range slices.Backward(recs) {
		if !r.at.Before(since) && r.at.Before(until) && (keep == nil || keep(r)) {
			out = append(out, r)
		}
	}
	return out
}

func anIDs(recs []anRec) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.id
	}
	return ids
}

// anRange is a range of whole seconds within the simulator's activities,
// written as --since and --until take it.
func anRange(from, to time.Duration) (since, until time.Time, args []string) {
	now := time.Now().Truncate(time.Second)
	since, until = now.Add(-from), now.Add(-to)
	return since, until, []string{"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339)}
}

// queries records the query of every request to the activity feed.
type queries struct {
	mu  sync.Mutex
	all []url.Values
}

func (q *queries) hook(r *http.Request) {
	if r.URL.Path == "/v1/compliance/activities" {
		q.mu.Lock()
		q.all = append(q.all, r.URL.Query())
		q.mu.Unlock()
	}
}

func (q *queries) take() []url.Values {
	q.mu.Lock()
	defer q.mu.Unlock()
	all := q.all
	q.all = nil
	return all
}

// TestListAnthropicNewestFirst: list --api anthropic shows the activities
// of [since, until) newest first, asking the API for created_at.gte and
// created_at.lt; --limit asks for one page and says more exist; an exact
// --type and a user id as --actor are the API's filters, a wildcard and an
// e-mail are applied to what it returns, with the same result.
func TestListAnthropicNewestFirst(t *testing.T) {
	var qs queries
	sim, _, flags := anSim(t, anthropicsim.Options{Seed: 31}, qs.hook)
	recs := anRecords(t, sim)
	since, until, rng := anRange(30*time.Hour, 2*time.Hour)
	want := anWithin(recs, since, until, nil)

	list := func(extra ...string) []string {
		t.Helper()
		out, errs, code := runAN(t.Context(), false, slices.Concat([]string{"list", "-o", "jsonl"}, rng, flags, extra)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, errs)
		}
		if out == "" {
			return nil
		}
		return jsonlIDs(t, out)
	}
	if got := list("--limit", "0"); !slices.Equal(got, anIDs(want)) {
		t.Fatalf("got %d activities, want %d newest first", len(got), len(want))
	}
	for _, q := range qs.take() {
		if q.Get("created_at.gte") != since.UTC().Format(time.RFC3339) || q.Get("created_at.lt") != until.UTC().Format(time.RFC3339) || q.Get("order") != "desc" {
			t.Fatalf("query %v: want created_at.gte %s, created_at.lt %s, newest first", q, since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
		}
	}

	out, errs, code := runAN(t.Context(), false, slices.Concat([]string{"list", "--limit", "25", "-o", "jsonl"}, rng, flags)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := jsonlIDs(t, out); !slices.Equal(got, anIDs(want[:25])) {
		t.Fatalf("--limit 25: got %v..., want %v...", got[:min(3, len(got))], anIDs(want[:3]))
	}
	if !strings.Contains(errs, "showing the newest 25; more logs exist") {
		t.Errorf("stderr does not say more exist: %s", errs)
	}
	if q := qs.take(); len(q) != 1 || q[0].Get("limit") != "100" {
		t.Errorf("--limit 25 sent %d requests (%v): want one page of 100", len(q), q)
	}
	// All of the range fits the limit: no hint.
	if _, errs, _ := runAN(t.Context(), false, slices.Concat([]string{"list", "--limit", "100000", "-o", "jsonl"}, rng, flags)...); strings.Contains(errs, "more logs exist") {
		t.Errorf("the hint with everything shown: %s", errs)
	}

	var user aschema.Actor
	for _, r := range want {
		if r.actor.Kind == aschema.ActorUser {
			user = r.actor
			break
		}
	}
	chats := anWithin(recs, since, until, func(r anRec) bool { return strings.HasPrefix(r.typ, "claude_chat_") })
	logins := anWithin(recs, since, until, func(r anRec) bool { return r.typ == "sso_login_succeeded" })
	mine := anWithin(recs, since, until, func(r anRec) bool { return r.actor.Kind == aschema.ActorUser && r.actor.UserID == user.UserID })
	for _, tc := range []struct {
		args  []string
		want  []anRec
		param string // the filter the API was asked for, "" for none
	}{
		{[]string{"--type", "claude_chat_*"}, chats, ""},
		{[]string{"--type", "sso_login_succeeded"}, logins, "activity_types[]=sso_login_succeeded"},
		{[]string{"--actor", user.UserID}, mine, "actor_ids[]=" + user.UserID},
		{[]string{"--actor", user.Email}, mine, ""},
	} {
		got := list(append(tc.args, "--limit", "0")...)
		if len(tc.want) == 0 || !slices.Equal(got, anIDs(tc.want)) {
			t.Errorf("%v: got %d activities, want %d", tc.args, len(got), len(tc.want))
		}
		for _, q := range qs.take() {
			sent := ""
			for _, p := range []string{"activity_types[]", "actor_ids[]"} {
				if v := q[p]; len(v) > 0 {
					sent = p + "=" + strings.Join(v, ",")
				}
			}
			if sent != tc.param {
				t.Errorf("%v: asked the API for %q, want %q", tc.args, sent, tc.param)
			}
		}
	}
}

// TestListAnthropicTableAndCSV: the table names each activity's actor as
// a person reads it (an e-mail, a key's id, system:SERVICE, anthropic)
// and its organization; the CSV has the documented columns, one row an
// activity.
func TestListAnthropicTableAndCSV(t *testing.T) {
	sim, _, flags := anSim(t, anthropicsim.Options{Seed: 32}, nil)
	recs := anRecords(t, sim)
	byID := map[string]anRec{}
	for _, r := range recs {
		byID[r.id] = r
	}
	out, errs, code := runAN(t.Context(), false, slices.Concat([]string{"list", "--since", "3d", "--limit", "0"}, flags)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	kinds := map[string]bool{}
	for _, l := range listTableRows(t, out, `^TIME\s+TYPE\s+ACTOR\s+ORGANIZATION\s+ID$`, len(recs)) {
		f := strings.Fields(l)
		r, ok := byID[f[len(f)-1]]
		if !ok {
			t.Fatalf("row %q: no such activity", l)
		}
		var actor string
		switch a := r.actor; a.Kind {
		case aschema.ActorUser:
			actor = a.Email
		case aschema.ActorAPI:
			actor = a.APIKeyID
		case aschema.ActorAdminAPIKey:
			actor = a.AdminAPIKeyID
		case aschema.ActorSystem:
			actor = "system:" + a.Service
		case aschema.ActorAnthropic:
			actor = "anthropic"
		default:
			continue
		}
		kinds[r.actor.Kind] = true
		if org := cmp.Or(r.org, "-"); !strings.Contains(l, "  "+actor+"  ") || f[len(f)-2] != org {
			t.Fatalf("row %q does not show its actor %q and organization %q", l, actor, org)
		}
	}
	if len(kinds) < 5 {
		t.Errorf("the table shows actors of kinds %v, want users, keys, admin keys, the system and Anthropic", kinds)
	}

	out, errs, code = runAN(t.Context(), false, slices.Concat([]string{"list", "--since", "3d", "--limit", "0", "--type", "compliance_api_*", "-o", "csv"}, flags)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows := csvRows(t, out, eventcsv.ActivityColumns)
	n := 0
	for _, r := range recs {
		if strings.HasPrefix(r.typ, "compliance_api_") {
			n++
		}
	}
	if len(rows)-1 != n || n == 0 {
		t.Fatalf("%d rows, %d compliance_api_* activities", len(rows)-1, n)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	for _, row := range rows[1:] {
		r := byID[row[0]]
		if row[col("type")] != r.typ || row[col("actor.type")] != r.actor.Kind || row[col("actor_id")] != r.actor.ID() ||
			(r.typ == aschema.TypeComplianceAPIAccessed) != (row[col("status_code")] != "") || !strings.HasPrefix(row[col("activity")], `{"id":"`+r.id) {
			t.Fatalf("row %v", row)
		}
	}
}

// TestGetAnthropic: get finds an activity by id in two requests, through
// its neighbours, whatever its age; the oldest too; an activity alone in
// the feed by a search of --since; an id of none is exit 1 with the API's
// words.
func TestGetAnthropic(t *testing.T) {
	var requests atomic.Int64
	sim, _, flags := anSim(t, anthropicsim.Options{Seed: 33}, func(*http.Request) { requests.Add(1) })
	n := len(sim.Truth().IDs)
	for _, i := range []int{n / 3, 0, n - 1} {
		requests.Store(0)
		out, errs, code := runAN(t.Context(), false, slices.Concat([]string{"get", sim.ActivityID(i), "--since", "1h"}, flags)...)
		if code != 0 {
			t.Fatalf("activity %d: exit %d: %s", i, code, errs)
		}
		var got, want bytes.Buffer
		if json.Compact(&got, []byte(out)) != nil || json.Compact(&want, sim.Activity(i)) != nil || got.String() != want.String() {
			t.Fatalf("activity %d: get printed\n%s\nwant\n%s", i, out, sim.Activity(i))
		}
		if !strings.Contains(out, "\n  \"type\": ") {
			t.Errorf("not indented: %s", out)
		}
		if r := requests.Load(); r > 3 {
			t.Errorf("activity %d: %d requests; its neighbours take two or three", i, r)
		}
	}

	_, errs, code := runAN(t.Context(), false, slices.Concat([]string{"get", sim.ActivityID(n + 7)}, flags)...)
	if code != exitFailure || !strings.Contains(errs, `no activity with id "`+sim.ActivityID(n+7)+`"`) || !strings.Contains(errs, "No activity found") {
		t.Fatalf("an id of none: exit %d: %s", code, errs)
	}

	alone, _, flags := anSim(t, anthropicsim.Options{Seed: 34, Activities: 1}, nil)
	out, errs, code := runAN(t.Context(), false, slices.Concat([]string{"get", "-o", "jsonl", alone.ActivityID(0), "--since", "3d"}, flags)...)
	if code != 0 || strings.TrimSpace(out) != string(alone.Activity(0)) || !strings.Contains(errs, "searching the last 3d") {
		t.Fatalf("the only activity: exit %d: %s%s", code, out, errs)
	}
}

// TestExportAnthropicInterruptedAndResumed: export --api anthropic writes
// every activity of the range newest first; interrupted after a page,
// --resume goes on at the next: no gap, no duplicate, though the API
// repeats a cursor's activity now and then.
func TestExportAnthropicInterruptedAndResumed(t *testing.T) {
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			var cancel atomic.Pointer[context.CancelFunc]
			sim, _, flags := anSim(t, anthropicsim.Options{Seed: 35, Activities: 4500,
				Faults: anthropicsim.Faults{Rate: 0.5, Kinds: []anthropicsim.FaultKind{anthropicsim.FaultRepeat, anthropicsim.Fault503}}},
				func(r *http.Request) {
					// The first request with a cursor: a page is written.
					if c := cancel.Load(); c != nil && r.URL.Query().Get("after_id") != "" {
						(*c)()
					}
				})
			want := anIDs(anWithin(anRecords(t, sim), time.Now().Add(-72*time.Hour), time.Now().Add(time.Hour), nil))
			out := filepath.Join(t.TempDir(), "export."+format)
			args := slices.Concat([]string{"export", "--since", "72h", "-o", format, "--out", out}, flags)
			interrupted, errs, exported := exportResumed(t, runAN, &cancel, args, out)
			if strings.Contains(interrupted, "after 0 events") {
				t.Fatalf("interrupted before a page was written: %s", interrupted)
			}
			if !strings.Contains(errs, " pages") || !strings.Contains(errs, "[####################] 100%") {
				t.Errorf("no progress over pages: %q", errs)
			}
			if got := exportIDs(t, exported, format, "id"); !slices.Equal(got, want) {
				t.Fatalf("exported %d activities, want %d newest first: a gap, a duplicate or another order", len(got), len(want))
			}
			if sim.Stats().Faults[anthropicsim.FaultRepeat] == 0 {
				t.Fatal("no page repeated its cursor's activity: the test proves nothing")
			}
		})
	}
}

// TestStatsAnthropic: stats counts the activities of the range by type,
// organization, actor and day, with the success rate of the calls
// compliance_api_accessed records, drawing its progress on a terminal.
func TestStatsAnthropic(t *testing.T) {
	sim, _, flags := anSim(t, anthropicsim.Options{Seed: 36}, nil)
	since, until, rng := anRange(40*time.Hour, time.Hour)
	in := anWithin(anRecords(t, sim), since, until, nil)
	count := func(key func(anRec) string) map[string]int {
		m := map[string]int{}
		for _, r := range in {
			m[cmp.Or(key(r), "(none)")]++
		}
		return m
	}
	ok, calls := 0, 0
	for _, r := range in {
		if r.typ == aschema.TypeComplianceAPIAccessed {
			calls++
			if r.status < 400 {
				ok++
			}
		}
	}
	for _, tc := range []struct {
		by   string
		want map[string]int
	}{
		{"type", count(func(r anRec) string { return r.typ })},
		{"organization", count(func(r anRec) string { return r.org })},
		{"day", count(func(r anRec) string { return r.at.UTC().Format(time.DateOnly) })},
		{"actor", count(func(r anRec) string {
			if r.actor.Kind == aschema.ActorUser {
				return r.actor.Email
			}
			return "not a user"
		})},
	} {
		out, errs, code := runAN(t.Context(), tc.by == "type", slices.Concat([]string{"stats", "--by", tc.by, "--top", "0", "-o", "json"}, rng, flags)...)
		if code != 0 {
			t.Fatalf("--by %s: exit %d: %s", tc.by, code, errs)
		}
		res := readStats(t, out)
		if res.Total != len(in) {
			t.Fatalf("--by %s: total %d, want %d", tc.by, res.Total, len(in))
		}
		for _, g := range res.Groups {
			if want, known := tc.want[g.Key]; (known || tc.by != "actor") && g.Count != want {
				t.Errorf("--by %s: %s: %d, want %d", tc.by, g.Key, g.Count, want)
			}
			if tc.by == "type" && (g.Key == aschema.TypeComplianceAPIAccessed) != (g.Success != nil) {
				t.Errorf("%s: success rate %v (only compliance_api_accessed has a status_code)", g.Key, g.Success)
			}
			if g.Key == aschema.TypeComplianceAPIAccessed && (g.Succeeded != ok || g.Failed != calls-ok) {
				t.Errorf("compliance_api_accessed: %d succeeded, %d failed; want %d, %d", g.Succeeded, g.Failed, ok, calls-ok)
			}
		}
		if tc.by == "type" && (!strings.Contains(errs, "stats: ") || !strings.Contains(errs, " pages") || !strings.Contains(errs, "back to ")) {
			t.Errorf("no progress: %q", errs)
		}
	}
	if calls == 0 || ok == calls {
		t.Fatalf("%d calls, %d of them succeeded: the success rate proves nothing", calls, ok)
	}
	if _, errs, code := runAN(t.Context(), false, slices.Concat([]string{"stats", "--by", "model"}, flags)...); code != exitUsage || !strings.Contains(errs, "carry no model") {
		t.Errorf("--by model: exit %d: %s", code, errs)
	}
	if _, errs, code := runCLI(t.Context(), "stats", "--by", "organization"); code != exitUsage || !strings.Contains(errs, "--api anthropic") {
		t.Errorf("--by organization on audit logs: exit %d: %s", code, errs)
	}
}

// TestQueryAnthropicConfig: -c reads the file's activity-feed source
// (--api anthropic picks it when another comes first), not its filters;
// what is missing is named; a refused key shows the API's message and
// what to do (the scope, for a 403), and never the key.
func TestQueryAnthropicConfig(t *testing.T) {
	sim, base, _ := anSim(t, anthropicsim.Options{Seed: 37, Faults: anthropicsim.Faults{Rate: 0.2,
		Kinds: []anthropicsim.FaultKind{anthropicsim.Fault503, anthropicsim.Fault529, anthropicsim.FaultTruncated}}}, nil)
	dir := t.TempDir()
	claude := `
  - name: claude
    type: anthropic_compliance_activities
    base_url: ` + base + `
    api_key: ${env:ACME_AN_KEY}
    activity_types: [sso_login_succeeded]
    retry_wait_min: 1ms
    retry_wait_max: 5ms
`
	since, until, rng := anRange(20*time.Hour, 0)
	want := anIDs(anWithin(anRecords(t, sim), since, until, nil))
	env := []string{"ACME_AN_KEY=" + anKey, "ACME_OPENAI_KEY=sk-admin-x"}
	first := configPicksSource(t, dir, "anthropic", claude, env, rng, func(t *testing.T, out string) {
		if got := jsonlIDs(t, out); !slices.Equal(got, want) {
			t.Fatalf("got %d activities, want %d (every type: the source's filter is not the query's)", len(got), len(want))
		}
	})
	flags := []string{"--api", "anthropic", "--base-url", base}
	for _, tc := range []struct {
		name    string
		environ []string
		args    []string
		code    int
		errs    []string
	}{
		{"no key", nil, flags, exitUsage, []string{"ANTHROPIC_COMPLIANCE_KEY", "read:compliance_activities"}},
		{"no activity-feed source", env, []string{"--api", "anthropic", "-c", writeFile(t, dir, "none.yaml", "sources:\n  - name: org\n    type: openai_audit_logs\n    api_key: x\n")},
			exitUsage, []string{"has no anthropic_compliance_activities source"}},
		{"base URL with /v1", []string{"ANTHROPIC_COMPLIANCE_KEY=" + anKey}, []string{"--api", "anthropic", "--base-url", base + "/v1"}, exitUsage, []string{"without /v1"}},
		{"refused key", []string{"ANTHROPIC_COMPLIANCE_KEY=sk-ant-api01-wrong-canary-77"}, flags, exitFailure,
			[]string{"API " + base + ": GET /v1/compliance/activities", "(401)", "API says: The API key provided is invalid", "$ANTHROPIC_COMPLIANCE_KEY"}},
		{"key without the scope", []string{"ANTHROPIC_COMPLIANCE_KEY=" + anNoScopeKey}, flags, exitFailure,
			[]string{"(403)", "the key needs the scope read:compliance_activities", "API says: "}},
		{"refused key of the file", []string{"ACME_AN_KEY=sk-ant-api01-wrong-canary-78"}, []string{"-c", first}, exitFailure,
			[]string{"(401)", "the api_key of the anthropic_compliance_activities source of " + first}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range [][]string{{"list"}, {"stats"}, {"export", "--out", "-"}, {"get", sim.ActivityID(3)}} {
				var out, errb bytes.Buffer
				m := &Main{Stdout: &out, Stderr: &errb, Environ: tc.environ}
				code := m.Run(t.Context(), append(cmd, tc.args...))
				if code != tc.code {
					t.Fatalf("%s: exit %d, want %d: %s", cmd[0], code, tc.code, errb.String())
				}
				for _, e := range tc.errs {
					if !strings.Contains(errb.String(), e) {
						t.Fatalf("%s: stderr lacks %q: %s", cmd[0], e, errb.String())
					}
				}
				if strings.Contains(out.String()+errb.String(), "canary") {
					t.Fatal("a key was printed")
				}
			}
		})
	}
}

// TestQueryHelpNamesAnthropic: each query command's -h says --api
// anthropic reads the activity feed and where its key comes from.
func TestQueryHelpNamesAnthropic(t *testing.T) {
	for _, cmd := range []string{"list", "get", "export", "stats"} {
		_, errs, code := runCLI(t.Context(), cmd, "-h")
		if h := flagHelp(errs, "api"); code != 0 || !strings.Contains(h, "anthropic (Anthropic's Compliance API activity feed, key in $ANTHROPIC_COMPLIANCE_KEY)") {
			t.Errorf("%s -h: exit %d, --api: %q", cmd, code, h)
		}
	}
}
