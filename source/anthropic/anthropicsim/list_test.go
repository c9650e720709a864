package anthropicsim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// history is a simulator whose activities all exist and are visible: n
// over span, ending two minutes before t0, late ones included.
func history(t testing.TB, seed int64, n int, span time.Duration) (*anthropicsim.Server, string) {
	t.Helper()
	return start(t, anthropicsim.Options{Seed: seed, Activities: n, Span: span, Start: t0.Add(-span - 2*time.Minute),
		LateFraction: 0.1, Organizations: 4})
}

func reversed(xs []string) []string {
	out := slices.Clone(xs)
	slices.Reverse(out)
	return out
}

// TestPagingCoversEveryActivityOnce walks the whole feed in both orders,
// with both cursors, at several page sizes, and finds every visible
// activity exactly once, in the API's order when the cursor runs with it.
func TestPagingCoversEveryActivityOnce(t *testing.T) {
	sim, u := history(t, 1, 700, time.Hour)
	all := sim.Truth().IDs // oldest first
	if len(all) != 700 {
		t.Fatalf("%d visible activities, want all 700", len(all))
	}
	for _, tc := range []struct {
		order, cursor string
		limit         int
	}{
		{"", "after_id", 0}, // desc and limit 100 by default
		{"desc", "after_id", 7},
		{"asc", "after_id", 7},
		{"desc", "after_id", 1},
		{"asc", "after_id", 5000},
		{"desc", "before_id", 9},
		{"asc", "before_id", 9},
	} {
		t.Run(tc.order+"/"+tc.cursor+"/"+itoa(tc.limit), func(t *testing.T) {
			q := url.Values{}
			if tc.order != "" {
				q.Set("order", tc.order)
			}
			if tc.limit > 0 {
				q.Set("limit", itoa(tc.limit))
			}
			asc := tc.order == "asc"
			if tc.cursor == "after_id" {
				want := all
				if !asc {
					want = reversed(all)
				}
				if got := walk(t, http.DefaultClient, u, q, "after_id", ""); !slices.Equal(got, want) {
					t.Fatalf("walked %d ids, want the %d visible in order (first difference at %d)", len(got), len(want), firstDiff(got, want))
				}
				return
			}
			// before_id runs against the order: start at the far end and
			// come back; each page is still served in the order asked for.
			from, rest := all[0], all[1:]
			if asc {
				from, rest = all[len(all)-1], all[:len(all)-1]
			}
			got := walk(t, http.DefaultClient, u, q, "before_id", from)
			sorted := slices.Clone(got)
			slices.Sort(sorted) // ids sort in created_at order
			if !slices.Equal(sorted, rest) {
				t.Fatalf("walked %d ids with before_id, want the other %d once each", len(got), len(rest))
			}
		})
	}
	// The first page of each order starts at its end of the feed.
	_, desc := list(t, http.DefaultClient, u, url.Values{"limit": {"3"}})
	_, asc := list(t, http.DefaultClient, u, url.Values{"limit": {"3"}, "order": {"asc"}})
	if desc[0].ID != all[len(all)-1] || asc[0].ID != all[0] || desc[0].CreatedAt < desc[2].CreatedAt {
		t.Fatalf("desc starts at %s, asc at %s", desc[0].ID, asc[0].ID)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// decoded is an activity of the simulator, read with encoding/json.
type decoded struct {
	id  string
	at  time.Time
	m   map[string]any
	typ string
}

// visible reads every visible activity, oldest first.
func visible(t testing.TB, sim *anthropicsim.Server) []decoded {
	t.Helper()
	ids := map[string]bool{}
	for _, id := range sim.Truth().IDs {
		ids[id] = true
	}
	var out []decoded
	for i := range sim.Count() {
		if !ids[sim.ActivityID(i)] {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sim.Activity(i), &m); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339, m["created_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, decoded{id: m["id"].(string), at: at, m: m, typ: m["type"].(string)})
	}
	return out
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = o[k]
	}
	s, _ := v.(string)
	return s
}

func TestFilters(t *testing.T) {
	sim, u := history(t, 2, 1500, 10*time.Minute)
	acts := visible(t, sim)
	orgs, users := sim.Organizations(), sim.UserIDs()
	// A second that holds several activities, to test the bounds' edges.
	var edge time.Time
	for i := 1; i < len(acts); i++ {
		if acts[i].at.Equal(acts[i-1].at) && i > len(acts)/2 {
			edge = acts[i].at
			break
		}
	}
	if edge.IsZero() {
		t.Fatal("no second holds two activities")
	}
	ts := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	for _, tc := range []struct {
		name string
		q    url.Values
		want func(a decoded) bool
	}{
		{"activity_types", url.Values{"activity_types[]": {"claude_chat_created", "sso_login_succeeded"}},
			func(a decoded) bool { return a.typ == "claude_chat_created" || a.typ == "sso_login_succeeded" }},
		{"activity_types unknown", url.Values{"activity_types[]": {"no_such_activity"}}, func(decoded) bool { return false }},
		{"exclude_activity_types", url.Values{"exclude_activity_types[]": {"claude_chat_created", "compliance_api_accessed", "no_such_activity"}},
			func(a decoded) bool { return a.typ != "claude_chat_created" && a.typ != "compliance_api_accessed" }},
		{"actor_ids and user_ids merged", url.Values{"actor_ids[]": {users[0]}, "user_ids[]": {users[3]}},
			func(a decoded) bool {
				return str(a.m, "actor", "type") == "user_actor" && (str(a.m, "actor", "user_id") == users[0] || str(a.m, "actor", "user_id") == users[3])
			}},
		{"user_ids alone", url.Values{"user_ids[]": {users[1]}},
			func(a decoded) bool {
				return str(a.m, "actor", "type") == "user_actor" && str(a.m, "actor", "user_id") == users[1]
			}},
		{"organization_ids by id and by uuid", url.Values{"organization_ids[]": {orgs[0].ID, orgs[2].UUID}},
			func(a decoded) bool { o := str(a.m, "organization_id"); return o == orgs[0].ID || o == orgs[2].ID }},
		{"created_at.gte", url.Values{"created_at.gte": {ts(edge)}}, func(a decoded) bool { return !a.at.Before(edge) }},
		{"created_at.gt", url.Values{"created_at.gt": {ts(edge)}}, func(a decoded) bool { return a.at.After(edge) }},
		{"created_at.lte", url.Values{"created_at.lte": {ts(edge)}}, func(a decoded) bool { return !a.at.After(edge) }},
		{"created_at.lt", url.Values{"created_at.lt": {ts(edge)}}, func(a decoded) bool { return a.at.Before(edge) }},
		{"created_at.gte between seconds", url.Values{"created_at.gte": {ts(edge.Add(-500 * time.Millisecond))}}, func(a decoded) bool { return !a.at.Before(edge) }},
		{"created_at.lt between seconds, in another zone", url.Values{"created_at.lt": {edge.Add(500 * time.Millisecond).In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano)}},
			func(a decoded) bool { return !a.at.After(edge) }},
		{"everything at once", url.Values{"activity_types[]": {"claude_chat_created", "claude_chat_viewed"}, "organization_ids[]": {orgs[1].ID},
			"created_at.gte": {ts(acts[100].at)}, "created_at.lt": {ts(acts[1200].at)}},
			func(a decoded) bool {
				return (a.typ == "claude_chat_created" || a.typ == "claude_chat_viewed") && str(a.m, "organization_id") == orgs[1].ID &&
					!a.at.Before(acts[100].at) && a.at.Before(acts[1200].at)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, a := range slices.Backward(acts) {
				if tc.want(a) {
					want = append(want, a.id)
				}
			}
			q := clone(tc.q)
			q.Set("limit", "50")
			got := walk(t, http.DefaultClient, u, q, "after_id", "")
			if !slices.Equal(got, want) {
				t.Fatalf("%d activities, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
			}
			if len(want) == 0 && tc.name != "activity_types unknown" {
				t.Fatal("the filter matches nothing: the test proves nothing")
			}
		})
	}
	// Activities without an organization never match organization_ids[].
	for _, a := range acts {
		if a.m["organization_id"] == nil && (a.typ != "compliance_api_accessed" && !strings.Contains(a.typ, "login") && a.typ != "user_logged_out" &&
			!strings.HasPrefix(a.typ, "phone_code") && a.typ != "sso_second_factor_magic_link") {
			t.Fatalf("%s has no organization", a.typ)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	sim, u := history(t, 3, 300, time.Hour)
	ids := sim.Truth().IDs
	last := ids[10][len(ids[10])-1]
	flip := map[bool]string{true: "b", false: "a"}[last == 'a']
	tampered := ids[10][:len(ids[10])-1] + flip // the check no longer holds
	future := sim.ActivityID(sim.Count() + 5)   // well formed, but not yet created
	for _, tc := range []struct {
		name string
		q    url.Values
		msg  string // the whole message, or its start when it ends in "..."
	}{
		{"both type lists", url.Values{"activity_types[]": {"claude_chat_created"}, "exclude_activity_types[]": {"sso_login_succeeded"}},
			"Cannot specify both `activity_types[]` and `exclude_activity_types[]`."},
		{"date without time", url.Values{"created_at.gte": {"2024-01-01"}},
			"The `created_at.gte` parameter contains an invalid timestamp format. Expected an RFC 3339 timestamp such as 2024-01-01T00:00:00Z. Got \"2024-01-01\"."},
		{"gt without zone", url.Values{"created_at.gt": {"2026-07-09T10:00:00"}}, "The `created_at.gt` parameter contains an invalid timestamp format..."},
		{"lte a Unix time", url.Values{"created_at.lte": {"1783591200"}}, "The `created_at.lte` parameter contains an invalid timestamp format..."},
		{"lt empty", url.Values{"created_at.lt": {""}}, "The `created_at.lt` parameter contains an invalid timestamp format..."},
		{"both cursors", url.Values{"after_id": {ids[1]}, "before_id": {ids[2]}}, "Cannot specify both `after_id` and `before_id`."},
		{"unknown after_id", url.Values{"after_id": {"activity_invalid123"}}, "Invalid `after_id`. No activity found for `after_id` \"activity_invalid123\""},
		{"tampered before_id", url.Values{"before_id": {tampered}}, "Invalid `before_id`. No activity found for `before_id` \"" + tampered + "\""},
		{"after_id not created yet", url.Values{"after_id": {future}}, "Invalid `after_id`. No activity found for `after_id` \"" + future + "\""},
		{"limit 0", url.Values{"limit": {"0"}}, "The `limit` parameter must be an integer between 1 and 5000. Got \"0\"."},
		{"limit 5001", url.Values{"limit": {"5001"}}, "The `limit` parameter must be an integer between 1 and 5000. Got \"5001\"."},
		{"limit not a number", url.Values{"limit": {"ten"}}, "The `limit` parameter must be..."},
		{"order", url.Values{"order": {"newest"}}, "The `order` parameter must be `asc` or `desc`. Got \"newest\"."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, b := get(t, http.DefaultClient, u, tc.q)
			if code != http.StatusBadRequest || h.Get("Content-Type") != "application/json" || !strings.HasPrefix(h.Get("request-id"), "req_01") {
				t.Fatalf("status %d, content type %q, request-id %q: %s", code, h.Get("Content-Type"), h.Get("request-id"), b)
			}
			e := decodeError(t, b)
			msg, prefix := strings.CutSuffix(tc.msg, "...")
			if e.Error.Type != "invalid_request_error" || prefix && !strings.HasPrefix(e.Error.Message, msg) || !prefix && e.Error.Message != msg {
				t.Fatalf("error %+v, want invalid_request_error %q", e.Error, tc.msg)
			}
		})
	}
	// The edges that are allowed.
	if p, acts := list(t, http.DefaultClient, u, nil); len(acts) != 100 || !*p.HasMore {
		t.Errorf("default page: %d activities", len(acts))
	}
	if p, acts := list(t, http.DefaultClient, u, url.Values{"limit": {"5000"}}); len(acts) != 300 || *p.HasMore {
		t.Errorf("limit 5000: %d activities, has_more %v", len(acts), *p.HasMore)
	}
	if _, acts := list(t, http.DefaultClient, u, url.Values{"limit": {"1"}, "order": {"desc"}}); len(acts) != 1 {
		t.Errorf("limit 1: %d activities", len(acts))
	}
	// Past the newest: an empty page with null ids (decodePage checks).
	if p, acts := list(t, http.DefaultClient, u, url.Values{"created_at.gt": {t0.Format(time.RFC3339)}}); len(acts) != 0 || *p.HasMore {
		t.Errorf("after now: %d activities", len(acts))
	}
	if p, acts := list(t, http.DefaultClient, u, url.Values{"before_id": {ids[len(ids)-1]}}); len(acts) != 0 || *p.HasMore {
		t.Errorf("before the newest: %d activities", len(acts))
	}
	if n := sim.Stats().Statuses[400]; n != 13 {
		t.Errorf("%d answers counted 400, want 13", n)
	}
}

// TestIDsSortInTheAPIOrder: ids sort like created_at, ties broken by id,
// which is what lets a cursor be a position.
func TestIDsSortInTheAPIOrder(t *testing.T) {
	sim, _ := history(t, 4, 2000, time.Minute)
	prev := ""
	for i := range 2000 {
		id := sim.ActivityID(i)
		if len(id) != len("activity_01XyDMpzjS89pFZXqSFUBDr6") || !strings.HasPrefix(id, "activity_01") || id <= prev {
			t.Fatalf("id %d %q after %q", i, id, prev)
		}
		prev = id
	}
}
