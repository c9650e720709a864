package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
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
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Environ: []string{"OPENAI_ADMIN_KEY=" + queryKey}}
	code = m.Run(ctx, args)
	return out.String(), errb.String(), code
}

func jsonlIDs(t *testing.T, s string) []string {
	t.Helper()
	var ids []string
	for line := range strings.Lines(s) {
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(line), &obj); err != nil || obj.ID == "" {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, obj.ID)
	}
	return ids
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
			var res struct {
				Total  int
				Groups []statRow
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
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
