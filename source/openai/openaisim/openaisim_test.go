package openaisim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func start(t testing.TB, o Options) (*Server, string) {
	t.Helper()
	s := New(o)
	return s, serve(t, s)
}

// startWatched is start for a server that sends the end of every body it
// streams to the channel it returns (of capacity n).
func startWatched(t testing.TB, o Options, n int) (*Server, string, <-chan streamResult) {
	t.Helper()
	s := New(o)
	done := make(chan streamResult, n)
	s.streamDone = func(r streamResult) { done <- r }
	return s, serve(t, s), done
}

// serve starts s, closed when the test ends, and returns its base URL.
func serve(t testing.TB, s *Server) string {
	t.Helper()
	base, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return base
}

type page struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	FirstID *string           `json:"first_id"`
	LastID  *string           `json:"last_id"`
	HasMore *bool             `json:"has_more"`
	After   *string           `json:"after"`
}

type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

type event struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	EffectiveAt int64  `json:"effective_at"`
	Project     *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"project"`
	Actor *struct {
		Type    string `json:"type"`
		Session *struct {
			User struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"user"`
			IPAddress string `json:"ip_address"`
		} `json:"session"`
		APIKey *struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			User *struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"user"`
			ServiceAccount *struct {
				ID string `json:"id"`
			} `json:"service_account"`
		} `json:"api_key"`
	} `json:"actor"`
	raw map[string]json.RawMessage
}

func decodeEvent(t testing.TB, b []byte) event {
	t.Helper()
	var e event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, b)
	}
	if err := json.Unmarshal(b, &e.raw); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e event) resourceID() string {
	var p struct {
		ID string `json:"id"`
	}
	json.Unmarshal(e.raw[e.Type], &p) //nolint:errcheck // absent payload id is ""
	return p.ID
}

func get(t testing.TB, base, path string, q url.Values, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	return getVia(t, http.DefaultClient, base, path, q, hdr...)
}

// getVia is get through client (serveInBubble's, in a synctest bubble).
func getVia(t testing.TB, client *http.Client, base, path string, q url.Values, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", u, err)
	}
	return resp.StatusCode, resp.Header, b
}

func getPage(t testing.TB, base, path string, q url.Values) page {
	t.Helper()
	code, _, b := get(t, base, path, q)
	if code != http.StatusOK {
		t.Fatalf("GET %s?%s: status %d: %s", path, q.Encode(), code, b)
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("page is not JSON: %v: %s", err, b)
	}
	if p.Object != "list" || p.HasMore == nil || p.Data == nil {
		t.Fatalf("bad envelope: %s", b)
	}
	if len(p.Data) == 0 && (p.FirstID != nil || p.LastID != nil) {
		t.Fatalf("empty page with ids: %s", b)
	}
	return p
}

// walk pages an audit_logs query newest first to the end and returns the
// events in the order served.
func walk(t testing.TB, base string, q url.Values) []event {
	t.Helper()
	q = cloneValues(q)
	var out []event
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("paging does not end")
		}
		p := getPage(t, base, "/organization/audit_logs", q)
		for _, raw := range p.Data {
			out = append(out, decodeEvent(t, raw))
		}
		if len(p.Data) > 0 {
			if got := out[len(out)-len(p.Data)].ID; *p.FirstID != got {
				t.Fatalf("first_id %s, first event %s", *p.FirstID, got)
			}
			if got := out[len(out)-1].ID; *p.LastID != got {
				t.Fatalf("last_id %s, last event %s", *p.LastID, got)
			}
		}
		if !*p.HasMore || len(p.Data) == 0 {
			return out
		}
		q.Set("after", *p.LastID)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func ids(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func reversed(xs []string) []string {
	out := slices.Clone(xs)
	slices.Reverse(out)
	return out
}

func TestPagingCoversEveryVisibleEventOnceNewestFirst(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		limit string
	}{
		{"default limit", Options{Seed: 1, Events: 500, Span: time.Hour}, ""},
		{"limit 1", Options{Seed: 2, Events: 60, Span: time.Minute}, "1"},
		{"limit 100, dense seconds", Options{Seed: 3, Events: 3000, Span: 2 * time.Minute}, "100"},
		{"late events", Options{Seed: 4, Events: 800, Span: time.Hour, LateFraction: 0.3, LateDelay: 2 * time.Hour}, "37"},
		{"empty", Options{Seed: 5}, "10"},
		{"with tail", Options{Seed: 6, Events: 100, Span: time.Hour, Rate: 2}, "50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := sourcetest.NewClock(t0)
			tt.opts.Start, tt.opts.Now = t0.Add(-tt.opts.Span), clk.Now
			if tt.opts.Rate > 0 {
				clk.Add(30 * time.Second)
			}
			s, base := start(t, tt.opts)
			q := url.Values{}
			if tt.limit != "" {
				q.Set("limit", tt.limit)
			}
			evs := walk(t, base, q)
			want := reversed(s.VisibleIDs(clk.Now().Add(time.Hour)))
			if !slices.Equal(ids(evs), want) {
				t.Fatalf("served %d ids, want %d visible ids newest first", len(evs), len(want))
			}
			seen := map[string]bool{}
			for i, e := range evs {
				if seen[e.ID] {
					t.Fatalf("id %s served twice", e.ID)
				}
				seen[e.ID] = true
				if i > 0 && e.EffectiveAt > evs[i-1].EffectiveAt {
					t.Fatalf("not newest first at %d: %d after %d", i, e.EffectiveAt, evs[i-1].EffectiveAt)
				}
			}
			total := len(evs) + len(s.VisibleTenantIDs(clk.Now().Add(time.Hour)))
			if tt.opts.LateFraction == 0 && total != tt.opts.Events+int(30*tt.opts.Rate)+boolInt(tt.opts.Rate > 0) {
				t.Fatalf("served %d events (+ tenant ones), want %d", total, tt.opts.Events)
			}
			if tt.opts.LateFraction > 0 && (total == tt.opts.Events || total < tt.opts.Events/2) {
				t.Fatalf("served %d of %d with 30%% late events", total, tt.opts.Events)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// oracle returns the visible events (tenant.* ones included), oldest
// first, decoded independently.
func oracle(t testing.TB, s *Server) []event {
	vis := map[string]bool{}
	for _, id := range s.VisibleIDs(time.Unix(1<<40, 0)) {
		vis[id] = true
	}
	for _, id := range s.VisibleTenantIDs(time.Unix(1<<40, 0)) {
		vis[id] = true
	}
	var out []event
	for i := 0; len(out) < len(vis); i++ {
		e := decodeEvent(t, s.Event(i))
		if vis[e.ID] {
			out = append(out, e)
		}
		if i > 10_000_000 {
			t.Fatal("oracle runs away")
		}
	}
	return out
}

func TestFilters(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	s, base := start(t, Options{Seed: 7, Events: 4000, Span: 6 * time.Hour, Start: t0.Add(-6 * time.Hour), Now: clk.Now, LateFraction: 0.05, LateDelay: time.Hour})
	all := oracle(t, s)
	// Pick real values from the data so every filter has hits.
	var sessUser, sessEmail, keyID, keyUserEmail, acctID, projID, resID, resID2 string
	for _, e := range all {
		switch {
		case e.Actor != nil && e.Actor.Session != nil && sessUser == "":
			sessUser, sessEmail = e.Actor.Session.User.ID, e.Actor.Session.User.Email
		case e.Actor != nil && e.Actor.APIKey != nil && e.Actor.APIKey.User != nil && keyID == "":
			keyID, keyUserEmail = e.Actor.APIKey.ID, e.Actor.APIKey.User.Email
		case e.Actor != nil && e.Actor.APIKey != nil && e.Actor.APIKey.ServiceAccount != nil && acctID == "":
			acctID = e.Actor.APIKey.ServiceAccount.ID
		}
		if e.Project != nil && projID == "" {
			projID = e.Project.ID
		}
		if e.Type == "project.updated" && resID == "" {
			resID = e.resourceID()
		}
		if e.Type == "group.created" && resID2 == "" {
			resID2 = e.resourceID()
		}
	}
	for _, v := range []string{sessUser, keyID, acctID, projID, resID, resID2} {
		if v == "" {
			t.Fatal("corpus lacks a filter value")
		}
	}
	actorIDs := func(e event) []string {
		switch {
		case e.Actor == nil:
			return nil
		case e.Actor.Session != nil:
			return []string{e.Actor.Session.User.ID}
		case e.Actor.APIKey.User != nil:
			return []string{e.Actor.APIKey.ID, e.Actor.APIKey.User.ID}
		default:
			return []string{e.Actor.APIKey.ID, e.Actor.APIKey.ServiceAccount.ID}
		}
	}
	email := func(e event) string {
		switch {
		case e.Actor == nil:
			return ""
		case e.Actor.Session != nil:
			return e.Actor.Session.User.Email
		case e.Actor.APIKey.User != nil:
			return e.Actor.APIKey.User.Email
		}
		return ""
	}
	tests := []struct {
		name string
		q    url.Values
		keep func(e event) bool
	}{
		{"event_types one", url.Values{"event_types[]": {"login.failed"}}, func(e event) bool { return e.Type == "login.failed" }},
		{"event_types two", url.Values{"event_types[]": {"api_key.created", "project.archived"}}, func(e event) bool {
			return e.Type == "api_key.created" || e.Type == "project.archived"
		}},
		{"event_types unknown name", url.Values{"event_types[]": {"no.such.type"}}, func(e event) bool { return false }},
		{"project_ids", url.Values{"project_ids[]": {projID}}, func(e event) bool { return e.Project != nil && e.Project.ID == projID }},
		{"actor_ids session user", url.Values{"actor_ids[]": {sessUser}}, func(e event) bool { return slices.Contains(actorIDs(e), sessUser) }},
		{"actor_ids api key", url.Values{"actor_ids[]": {keyID}}, func(e event) bool { return slices.Contains(actorIDs(e), keyID) }},
		{"actor_ids service account", url.Values{"actor_ids[]": {acctID}}, func(e event) bool { return slices.Contains(actorIDs(e), acctID) }},
		{"actor_emails", url.Values{"actor_emails[]": {sessEmail, keyUserEmail}}, func(e event) bool {
			return email(e) != "" && (email(e) == sessEmail || email(e) == keyUserEmail)
		}},
		{"resource_ids", url.Values{"resource_ids[]": {resID, resID2}}, func(e event) bool {
			return e.resourceID() == resID || e.resourceID() == resID2
		}},
		{"combined", url.Values{"event_types[]": {"login.succeeded", "logout.succeeded"}, "actor_emails[]": {sessEmail}, "limit": {"7"}}, func(e event) bool {
			return (e.Type == "login.succeeded" || e.Type == "logout.succeeded") && email(e) == sessEmail
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, e := range all {
				if !strings.HasPrefix(e.Type, "tenant.") && tt.keep(e) {
					want = append(want, e.ID)
				}
			}
			slices.Reverse(want)
			got := ids(walk(t, base, tt.q))
			if !slices.Equal(got, want) {
				t.Fatalf("got %d events, want %d", len(got), len(want))
			}
			if tt.name != "event_types unknown name" && len(want) == 0 {
				t.Fatal("filter test without hits proves nothing")
			}
		})
	}
}

func TestTenantOnly(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	s, base := start(t, Options{Seed: 8, Events: 3000, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now})
	var tenant, org []string
	for _, e := range oracle(t, s) {
		if strings.HasPrefix(e.Type, "tenant.") {
			tenant = append(tenant, e.ID)
		} else {
			org = append(org, e.ID)
		}
	}
	if len(tenant) == 0 {
		t.Fatal("no tenant events generated")
	}
	tests := []struct {
		name string
		q    url.Values
		want []string
		code int
	}{
		{"default excludes tenant types", url.Values{}, reversed(org), 200},
		{"false excludes tenant types", url.Values{"tenant_only": {"false"}}, reversed(org), 200},
		{"true returns only tenant types", url.Values{"tenant_only": {"true"}}, reversed(tenant), 200},
		{"true with tenant event_types", url.Values{"tenant_only": {"true"}, "event_types[]": {"tenant.user.added", "tenant.policy.updated"}}, nil, 200},
		{"false with a tenant event_type matches nothing", url.Values{"event_types[]": {"tenant.user.added"}}, []string{}, 200},
		{"true with an organization type is refused", url.Values{"tenant_only": {"true"}, "event_types[]": {"login.succeeded"}}, nil, 400},
		{"not a bool", url.Values{"tenant_only": {"maybe"}}, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.code != 200 {
				code, _, b := get(t, base, "/organization/audit_logs", tt.q)
				if code != tt.code {
					t.Fatalf("status %d, want %d: %s", code, tt.code, b)
				}
				return
			}
			evs := walk(t, base, tt.q)
			for _, e := range evs {
				if strings.HasPrefix(e.Type, "tenant.") != (tt.q.Get("tenant_only") == "true") {
					t.Fatalf("type %s served with tenant_only=%q", e.Type, tt.q.Get("tenant_only"))
				}
			}
			if tt.want != nil && !slices.Equal(ids(evs), tt.want) {
				t.Fatalf("got %d, want %d", len(evs), len(tt.want))
			}
		})
	}
}

func errorOf(t testing.TB, b []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error body: %s", b)
	}
	return e
}

func TestLimitValidation(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	_, base := start(t, Options{Seed: 9, Events: 300, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now, OrgLogEvents: 300})
	for _, path := range []string{"/organization/audit_logs", "/organization/users", "/organization/projects", "/organization_logs"} {
		for _, tt := range []struct {
			limit string
			code  int
			n     int
		}{{"", 200, 20}, {"1", 200, 1}, {"100", 200, 100}, {"0", 400, 0}, {"-3", 400, 0}, {"101", 400, 0}, {"ten", 400, 0}} {
			t.Run(path+"/"+tt.limit, func(t *testing.T) {
				q := url.Values{}
				if tt.limit != "" {
					q.Set("limit", tt.limit)
				}
				code, _, b := get(t, base, path, q)
				if code != tt.code {
					t.Fatalf("status %d, want %d: %s", code, tt.code, b)
				}
				if code == 400 {
					if e := errorOf(t, b); e.Error.Param == nil || *e.Error.Param != "limit" || e.Error.Type != "invalid_request_error" {
						t.Fatalf("error does not name limit: %s", b)
					}
					return
				}
				var p page
				json.Unmarshal(b, &p) //nolint:errcheck // checked by length
				if strings.Contains(path, "audit_logs") || strings.Contains(path, "organization_logs") {
					if len(p.Data) != tt.n {
						t.Fatalf("%d items, want %d", len(p.Data), tt.n)
					}
				} else if len(p.Data) > tt.n || len(p.Data) == 0 {
					t.Fatalf("%d items for limit %d", len(p.Data), tt.n)
				}
			})
		}
	}
}

func TestAfterAndBefore(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	o := Options{Seed: 10, Events: 400, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now}
	s, base := start(t, o)
	all := reversed(s.VisibleIDs(t0)) // newest first
	other := New(Options{Seed: 11, Events: 400, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now})
	tests := []struct {
		name    string
		q       url.Values
		want    []string
		hasMore bool
		code    int
	}{
		{"after: the older ones", url.Values{"after": {all[10]}, "limit": {"5"}}, all[11:16], true, 200},
		{"after the oldest: empty", url.Values{"after": {all[len(all)-1]}}, nil, false, 200},
		{"before: the newer ones, newest first", url.Values{"before": {all[50]}, "limit": {"5"}}, all[45:50], true, 200},
		{"before near the top: no more", url.Values{"before": {all[3]}, "limit": {"5"}}, all[0:3], false, 200},
		{"before the newest: empty", url.Values{"before": {all[0]}}, nil, false, 200},
		{"after and before: between", url.Values{"after": {all[20]}, "before": {all[25]}}, all[21:25], false, 200},
		{"unknown id", url.Values{"after": {"audit_log-zzz_20240101"}}, nil, false, 400},
		{"id of another organization", url.Values{"after": {other.EventID(5)}}, nil, false, 400},
		{"id with the wrong date", url.Values{"after": {all[10][:len(all[10])-8] + "19990101"}}, nil, false, 400},
		{"before unknown", url.Values{"before": {"nope"}}, nil, false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, b := get(t, base, "/organization/audit_logs", tt.q)
			if code != tt.code {
				t.Fatalf("status %d, want %d: %s", code, tt.code, b)
			}
			if code != 200 {
				e := errorOf(t, b)
				if e.Error.Param == nil || (*e.Error.Param != "after" && *e.Error.Param != "before") {
					t.Fatalf("error does not name the cursor: %s", b)
				}
				return
			}
			var p page
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, raw := range p.Data {
				got = append(got, decodeEvent(t, raw).ID)
			}
			if !slices.Equal(got, tt.want) || *p.HasMore != tt.hasMore {
				t.Fatalf("got %v has_more=%v, want %v has_more=%v", got, *p.HasMore, tt.want, tt.hasMore)
			}
		})
	}
}

func TestEffectiveAtBounds(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	// 2000 events in 100 seconds: every second holds several.
	s, base := start(t, Options{Seed: 12, Events: 2000, Span: 100 * time.Second, Start: t0.Add(-100 * time.Second), Now: clk.Now})
	all := oracle(t, s)
	x := all[len(all)/2].EffectiveAt
	y := x + 7
	count := func(keep func(sec int64) bool) []string {
		var out []string
		for _, e := range all {
			if keep(e.EffectiveAt) && !strings.HasPrefix(e.Type, "tenant.") {
				out = append(out, e.ID)
			}
		}
		return reversed(out)
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	tests := []struct {
		name string
		q    url.Values
		keep func(sec int64) bool
	}{
		{"gte", url.Values{"effective_at[gte]": {n(x)}}, func(s int64) bool { return s >= x }},
		{"gt", url.Values{"effective_at[gt]": {n(x)}}, func(s int64) bool { return s > x }},
		{"lt", url.Values{"effective_at[lt]": {n(x)}}, func(s int64) bool { return s < x }},
		{"lte", url.Values{"effective_at[lte]": {n(x)}}, func(s int64) bool { return s <= x }},
		{"gte lt window", url.Values{"effective_at[gte]": {n(x)}, "effective_at[lt]": {n(y)}}, func(s int64) bool { return s >= x && s < y }},
		{"gt lte window", url.Values{"effective_at[gt]": {n(x)}, "effective_at[lte]": {n(y)}}, func(s int64) bool { return s > x && s <= y }},
		{"one second", url.Values{"effective_at[gte]": {n(x)}, "effective_at[lte]": {n(x)}}, func(s int64) bool { return s == x }},
		{"empty window", url.Values{"effective_at[gt]": {n(x)}, "effective_at[lt]": {n(x)}}, func(s int64) bool { return false }},
		{"before everything", url.Values{"effective_at[lt]": {n(all[0].EffectiveAt)}}, func(s int64) bool { return s < all[0].EffectiveAt }},
		{"window with filter and paging", url.Values{"effective_at[gte]": {n(x - 20)}, "effective_at[lt]": {n(y)}, "limit": {"3"}}, func(s int64) bool { return s >= x-20 && s < y }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := count(tt.keep)
			got := ids(walk(t, base, tt.q))
			if !slices.Equal(got, want) {
				t.Fatalf("got %d events, want %d", len(got), len(want))
			}
		})
	}
	if got := len(count(func(s int64) bool { return s == x })); got < 2 {
		t.Fatalf("second %d holds %d events; the test needs shared seconds", x, got)
	}
	code, _, b := get(t, base, "/organization/audit_logs", url.Values{"effective_at[gte]": {"yesterday"}})
	if code != 400 || !strings.Contains(string(b), "effective_at[gte]") {
		t.Fatalf("bad bound: %d %s", code, b)
	}
}

func TestLateVisibilityAndSteadyRate(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	s, base := start(t, Options{Seed: 13, Events: 1000, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now,
		LateFraction: 0.2, LateDelay: 10 * time.Minute, Rate: 5})
	first := ids(walk(t, base, url.Values{"limit": {"100"}}))
	if len(first) >= 1000 || len(first) < 700 {
		t.Fatalf("%d visible at the end of the span, want about 800 + the late ones already due", len(first))
	}
	clk.Add(10*time.Minute + time.Second)
	second := ids(walk(t, base, url.Values{"limit": {"100"}}))
	// All 1000 historical events, plus 5/s for 601 s of tail (minus late tail ones).
	seen := map[string]bool{}
	for _, id := range second {
		seen[id] = true
	}
	for _, id := range first {
		if !seen[id] {
			t.Fatalf("event %s disappeared", id)
		}
	}
	hist := 0
	for i := 0; i < 1000; i++ {
		if seen[s.EventID(i)] {
			hist++
		}
	}
	if tenant := len(s.VisibleTenantIDs(t0)); hist+tenant != 1000 {
		t.Fatalf("%d + %d tenant of 1000 historical events visible after the late delay", hist, tenant)
	}
	tail := len(second) - 1000
	if tail < 2000 || tail > 3006 {
		t.Fatalf("%d tail events after 601 s at 5/s", tail)
	}
	// Late events appear behind newer ones: some event visible now is older
	// than the newest event of the first read but was not in it.
	late := 0
	firstSet := map[string]bool{}
	for _, id := range first {
		firstSet[id] = true
	}
	for _, id := range s.VisibleIDs(t0) {
		if !firstSet[id] {
			late++
		}
	}
	if late == 0 {
		t.Fatal("no late historical event")
	}
	// The steady tail keeps growing as the clock moves.
	clk.Add(20 * time.Second)
	p := getPage(t, base, "/organization/audit_logs", url.Values{"limit": {"100"}, "effective_at[gte]": {strconv.FormatInt(clk.Now().Unix()-10, 10)}})
	if len(p.Data) < 30 || len(p.Data) > 55 {
		t.Fatalf("%d events in the last 10 s at 5/s", len(p.Data))
	}
}

func TestFaultKindsAreObservable(t *testing.T) {
	type check func(t *testing.T, code int, h http.Header, body []byte, err error, elapsed time.Duration)
	notJSON := func(t *testing.T, code int, h http.Header, body []byte, err error, _ time.Duration) {
		if err != nil || code != 200 || json.Valid(body) || h.Get("Content-Type") != "application/json" {
			t.Fatalf("want 200 application/json with invalid JSON, got %d %v %q valid=%v", code, err, h.Get("Content-Type"), json.Valid(body))
		}
	}
	status := func(want int) check {
		return func(t *testing.T, code int, h http.Header, body []byte, err error, _ time.Duration) {
			if err != nil || code != want {
				t.Fatalf("want %d, got %d %v", want, code, err)
			}
			errorOf(t, body)
			if want == 429 && h.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	tests := []struct {
		kind  FaultKind
		check check
	}{
		{Fault429, status(429)},
		{Fault500, status(500)},
		{Fault503, status(503)},
		{FaultSlow, func(t *testing.T, code int, h http.Header, body []byte, err error, d time.Duration) {
			if err != nil || code != 200 || !json.Valid(body) || d < 50*time.Millisecond {
				t.Fatalf("want a valid answer after 50ms, got %d %v after %s", code, err, d)
			}
		}},
		{FaultReset, func(t *testing.T, code int, h http.Header, body []byte, err error, _ time.Duration) {
			if err == nil {
				t.Fatalf("want a connection error, got %d", code)
			}
		}},
		{FaultTruncated, notJSON},
		{FaultGarbled, notJSON},
		{FaultEnvelope, func(t *testing.T, code int, h http.Header, body []byte, err error, _ time.Duration) {
			var p map[string]any
			if err != nil || code != 200 || json.Unmarshal(body, &p) != nil {
				t.Fatalf("want 200 with valid JSON, got %d %v", code, err)
			}
			_, isArray := p["data"].([]any)
			_, isBool := p["has_more"].(bool)
			if isArray && isBool && p["object"] == "list" {
				t.Fatalf("envelope intact: %s", body)
			}
		}},
	}
	for _, tt := range tests {
		for _, path := range []string{"/organization/audit_logs", "/organization/users", "/organization_logs"} {
			t.Run(string(tt.kind)+path, func(t *testing.T) {
				clk := sourcetest.NewClock(t0)
				s, base := start(t, Options{Seed: 14, Events: 200, OrgLogEvents: 50, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now,
					Faults: Faults{Rate: 1, Kinds: []FaultKind{tt.kind}, SlowDelay: 50 * time.Millisecond}})
				for range 3 { // several draws, to meet every variant
					client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
					begin := time.Now()
					resp, err := client.Get(base + path)
					var body []byte
					var code int
					var h http.Header
					if err == nil {
						body, err = io.ReadAll(resp.Body)
						resp.Body.Close()
						code, h = resp.StatusCode, resp.Header
					}
					tt.check(t, code, h, body, err, time.Since(begin))
				}
				if got := s.Stats().Faults[tt.kind]; got != 3 {
					t.Fatalf("stats count %d %s faults, want 3", got, tt.kind)
				}
			})
		}
	}
}

func TestRetryAfterForms(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	_, base := start(t, Options{Seed: 15, Now: clk.Now, Faults: Faults{Rate: 1, Kinds: []FaultKind{Fault429}, RetryAfter: 2500 * time.Millisecond}})
	forms := map[string]bool{}
	for range 30 {
		code, h, _ := get(t, base, "/organization/audit_logs", nil)
		if code != 429 {
			t.Fatalf("status %d", code)
		}
		ra := h.Get("Retry-After")
		switch {
		case ra == "3" && h.Get("Retry-After-Ms") == "2500":
			forms["ms"] = true
		case ra == "3":
			forms["seconds"] = true
		default:
			when, err := http.ParseTime(ra)
			if err != nil || when.Sub(clk.Now()) < 3*time.Second {
				t.Fatalf("Retry-After %q", ra)
			}
			forms["date"] = true
		}
	}
	if len(forms) != 3 {
		t.Fatalf("Retry-After forms seen: %v", forms)
	}
}

func TestFaultSequenceIsDeterministicAndSettable(t *testing.T) {
	statuses := func() []int {
		clk := sourcetest.NewClock(t0)
		_, base := start(t, Options{Seed: 16, Events: 50, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now,
			Faults: Faults{Rate: 0.5, Kinds: []FaultKind{Fault500, Fault503, Fault429}}})
		var out []int
		for range 40 {
			code, _, _ := get(t, base, "/organization/audit_logs", nil)
			out = append(out, code)
		}
		return out
	}
	a, b := statuses(), statuses()
	if !slices.Equal(a, b) {
		t.Fatalf("fault sequences differ:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, 200) || !slices.Contains(a, 500) {
		t.Fatalf("rate 0.5 gave %v", a)
	}
	clk := sourcetest.NewClock(t0)
	s, base := start(t, Options{Seed: 16, Now: clk.Now, Faults: Faults{Rate: 1, Kinds: []FaultKind{Fault500}}})
	if code, _, _ := get(t, base, "/organization/users", nil); code != 500 {
		t.Fatalf("status %d, want 500", code)
	}
	s.SetFaults(Faults{})
	if code, _, _ := get(t, base, "/organization/users", nil); code != 200 {
		t.Fatalf("status %d after SetFaults(none)", code)
	}
	// SetFaults while serving is race free.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if i == 0 {
					s.SetFaults(Faults{Rate: float64(j%2) * 0.5, Kinds: []FaultKind{Fault503}})
					continue
				}
				get(t, base, "/organization/users", nil)
			}
		}()
	}
	wg.Wait()
}

func TestDeterminism(t *testing.T) {
	render := func(seed int64) []byte {
		clk := sourcetest.NewClock(t0)
		_, base := start(t, Options{Seed: seed, Events: 1000, OrgLogEvents: 100, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now, LateFraction: 0.1, LateDelay: time.Minute})
		var all []byte
		for _, p := range []string{"/organization/audit_logs?limit=100", "/organization/users?limit=100", "/organization/projects?include_archived=true", "/organization_logs?limit=50&order=asc"} {
			code, _, b := get(t, base, p, nil)
			if code != 200 {
				t.Fatalf("%s: %d", p, code)
			}
			all = append(all, b...)
		}
		return all
	}
	a, b, c := render(42), render(42), render(43)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same bytes")
	}
}

func TestAuthorization(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	s, base := start(t, Options{Seed: 17, Events: 10, Span: time.Minute, Now: clk.Now, APIKey: "sk-admin-test-1234567890"})
	tests := []struct {
		name string
		hdr  []string
		code int
		err  string
	}{
		{"no header", nil, 401, ""},
		{"wrong key", []string{"Authorization", "Bearer sk-admin-wrong-000000"}, 401, "invalid_api_key"},
		{"not bearer", []string{"Authorization", "Basic sk-admin-test-1234567890"}, 401, "invalid_api_key"},
		{"right key", []string{"Authorization", "Bearer sk-admin-test-1234567890"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/organization/audit_logs", "/organization/users", "/organization_logs"} {
				code, h, b := get(t, base, path, nil, tt.hdr...)
				if code != tt.code {
					t.Fatalf("%s: %d, want %d", path, code, tt.code)
				}
				if h.Get("x-request-id") == "" || h.Get("openai-processing-ms") == "" {
					t.Fatalf("debug headers missing: %v", h)
				}
				if code == 401 {
					e := errorOf(t, b)
					if tt.err != "" && (e.Error.Code == nil || *e.Error.Code != tt.err) {
						t.Fatalf("code %v, want %s", e.Error.Code, tt.err)
					}
					if strings.Contains(string(b), "sk-admin-wrong-000000") {
						t.Fatal("the refused key is echoed in full")
					}
				}
			}
		})
	}
	if s.Stats().Unauthorized != 9 {
		t.Fatalf("unauthorized count %d", s.Stats().Unauthorized)
	}
}

func TestDirectoryResolvesEveryActor(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	s, base := start(t, Options{Seed: 18, Events: 3000, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now, Users: 30, Projects: 10})
	listAll := func(path string, q url.Values) []map[string]any {
		var out []map[string]any
		q = cloneValues(q)
		q.Set("limit", "7")
		for {
			p := getPage(t, base, path, q)
			for _, raw := range p.Data {
				var m map[string]any
				json.Unmarshal(raw, &m) //nolint:errcheck // raw was validated
				out = append(out, m)
			}
			if !*p.HasMore {
				return out
			}
			q.Set("after", *p.LastID)
		}
	}
	users := listAll("/organization/users", nil)
	if len(users) != 30 {
		t.Fatalf("%d users, want 30", len(users))
	}
	userByID := map[string]map[string]any{}
	for _, u := range users {
		if u["object"] != "organization.user" || u["email"] == "" || u["role"] == nil || u["added_at"] == nil {
			t.Fatalf("user %v", u)
		}
		userByID[u["id"].(string)] = u
	}
	active := listAll("/organization/projects", nil)
	projects := listAll("/organization/projects", url.Values{"include_archived": {"true"}})
	if len(projects) != 10 || len(active) > len(projects) {
		t.Fatalf("%d projects (%d active), want 10", len(projects), len(active))
	}
	keys, accounts, projIDs := map[string]map[string]any{}, map[string]bool{}, map[string]bool{}
	for _, p := range projects {
		pid := p["id"].(string)
		projIDs[pid] = true
		if p["status"] == "archived" && p["archived_at"] == nil {
			t.Fatalf("archived project without archived_at: %v", p)
		}
		for _, k := range listAll("/organization/projects/"+pid+"/api_keys", nil) {
			if !strings.HasPrefix(k["id"].(string), "key_") || k["redacted_value"] == "" {
				t.Fatalf("key %v", k)
			}
			keys[k["id"].(string)] = k
		}
		for _, a := range listAll("/organization/projects/"+pid+"/service_accounts", nil) {
			accounts[a["id"].(string)] = true
		}
	}
	if len(accounts) == 0 {
		t.Fatal("no service accounts")
	}
	for _, e := range oracle(t, s) {
		if e.Project != nil && !projIDs[e.Project.ID] {
			t.Fatalf("event %s: unknown project %s", e.ID, e.Project.ID)
		}
		if e.Actor == nil {
			continue
		}
		switch e.Actor.Type {
		case "session":
			u := userByID[e.Actor.Session.User.ID]
			if u == nil || u["email"] != e.Actor.Session.User.Email {
				t.Fatalf("event %s: session user %v not in the directory", e.ID, e.Actor.Session.User)
			}
		case "api_key":
			k := keys[e.Actor.APIKey.ID]
			if k == nil {
				t.Fatalf("event %s: key %s not in the directory", e.ID, e.Actor.APIKey.ID)
			}
			owner := k["owner"].(map[string]any)
			if owner["type"] != e.Actor.APIKey.Type {
				t.Fatalf("event %s: key type %s, owner %v", e.ID, e.Actor.APIKey.Type, owner)
			}
			if e.Actor.APIKey.ServiceAccount != nil && !accounts[e.Actor.APIKey.ServiceAccount.ID] {
				t.Fatalf("event %s: unknown service account", e.ID)
			}
			if e.Actor.APIKey.User != nil && userByID[e.Actor.APIKey.User.ID] == nil {
				t.Fatalf("event %s: unknown key owner", e.ID)
			}
		default:
			t.Fatalf("actor type %q", e.Actor.Type)
		}
	}
	for _, tt := range []struct {
		path string
		q    url.Values
		code int
	}{
		{"/organization/projects/proj_nope/api_keys", nil, 404},
		{"/organization/projects/proj_nope/service_accounts", nil, 404},
		{"/organization/users", url.Values{"after": {"user-nope"}}, 400},
		{"/organization/nothing", nil, 404},
	} {
		if code, _, b := get(t, base, tt.path, tt.q); code != tt.code {
			t.Fatalf("%s: %d, want %d: %s", tt.path, code, tt.code, b)
		}
	}
	p := getPage(t, base, "/organization/users", url.Values{"emails[]": {userByID[s.UserIDs()[3]]["email"].(string)}})
	if len(p.Data) != 1 {
		t.Fatalf("emails[] filter: %d users", len(p.Data))
	}
}

func TestEventCorpus(t *testing.T) {
	s := New(Options{Seed: 19, Events: 20000, Span: 24 * time.Hour, Now: func() time.Time { return t0 }})
	types := map[string]int{}
	seen := map[string]bool{}
	var sizes, nullActor, noProject, sessions, keyUser, keySA, withDetails int
	for i := range 20000 {
		b := s.Event(i)
		e := decodeEvent(t, b)
		if seen[e.ID] {
			t.Fatalf("duplicate id %s", e.ID)
		}
		seen[e.ID] = true
		day := time.Unix(e.EffectiveAt, 0).UTC().Format("20060102")
		if !strings.HasPrefix(e.ID, "audit_log-") || !strings.HasSuffix(e.ID, "_"+day) {
			t.Fatalf("id %s for day %s", e.ID, day)
		}
		if _, ok := e.raw[e.Type]; !ok {
			t.Fatalf("no payload under %q: %s", e.Type, b)
		}
		types[e.Type]++
		sizes += len(b)
		switch {
		case e.Actor == nil:
			nullActor++
		case e.Actor.Session != nil:
			sessions++
			if strings.Contains(string(b), `"ip_address_details":{"country"`) && strings.Contains(string(b), `"ja4"`) {
				withDetails++
			}
		case e.Actor.APIKey.Type == "user":
			keyUser++
		case e.Actor.APIKey.Type == "service_account":
			keySA++
		}
		if e.Project == nil {
			noProject++
		}
		if e.Type == "certificate.deleted" && !strings.Contains(string(b), `-----BEGIN CERTIFICATE-----\n`) {
			t.Fatalf("certificate.deleted without PEM: %s", b)
		}
		if e.Type == "widget.frobnicated" && (e.raw["x_trace"] == nil || e.raw["schema_version"] == nil) {
			t.Fatalf("undocumented type without unknown fields: %s", b)
		}
	}
	for _, name := range EventTypes() {
		if types[name] == 0 {
			t.Errorf("type %s never generated", name)
		}
	}
	org := 0
	for _, name := range EventTypes() {
		if !strings.HasPrefix(name, "tenant.") && name != "widget.frobnicated" && name != "vector_store.file_batch.reindexed" {
			org++
		}
	}
	if org != 59 {
		t.Errorf("%d organization types, want the 59 OpenAI lists", org)
	}
	if types["login.succeeded"] < types["project.created"]*10 || types["api_key.created"] < types["group.deleted"]*5 {
		t.Errorf("weights: %v", types)
	}
	if avg := sizes / 20000; avg < 450 || avg > 900 {
		t.Errorf("average event size %d bytes", avg)
	}
	for name, n := range map[string]int{"null actor": nullActor, "no project": noProject, "session": sessions, "key user": keyUser, "key sa": keySA, "session details": withDetails} {
		if n < 50 {
			t.Errorf("%s: only %d events", name, n)
		}
	}
}

func TestOrganizationLogs(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	s, base := start(t, Options{Seed: 20, OrgLogEvents: 700, Span: time.Hour, Start: t0.Add(-time.Hour), Now: clk.Now, LateFraction: 0.1, LateDelay: 2 * time.Hour})
	walkLogs := func(order string) []map[string]any {
		var out []map[string]any
		q := url.Values{"limit": {"33"}}
		if order != "" {
			q.Set("order", order)
		}
		for {
			p := getPage(t, base, "/organization_logs", q)
			for _, raw := range p.Data {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, m)
			}
			if !*p.HasMore {
				if p.After != nil {
					t.Fatal("after cursor on the last page")
				}
				return out
			}
			if p.After == nil || *p.After != *p.LastID {
				t.Fatalf("after cursor %v, last_id %v", p.After, *p.LastID)
			}
			q.Set("after", *p.After)
		}
	}
	want := s.VisibleLogIDs(t0.Add(time.Hour))
	if len(want) >= 700 || len(want) < 500 {
		t.Fatalf("%d of 700 logs visible with 10%% late", len(want))
	}
	asc, desc, def := walkLogs("asc"), walkLogs("desc"), walkLogs("")
	idsOf := func(ms []map[string]any) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m["id"].(string))
		}
		return out
	}
	if !slices.Equal(idsOf(asc), want) || !slices.Equal(idsOf(desc), reversed(want)) || !slices.Equal(idsOf(def), reversed(want)) {
		t.Fatalf("asc %d / desc %d / default %d, want %d", len(asc), len(desc), len(def), len(want))
	}
	var api, failed, orgEvents, sensitive int
	for i, m := range asc {
		if i > 0 && m["created_at"].(float64) < asc[i-1]["created_at"].(float64) {
			t.Fatal("asc not ascending")
		}
		for _, k := range []string{"id", "event", "actor", "target", "created_at", "success"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("log without %s: %v", k, m)
			}
		}
		if req, ok := m["api_request"].(map[string]any); ok {
			api++
			if m["success"] == false {
				failed++
				if req["error"] == nil {
					t.Fatalf("failed call without error: %v", m)
				}
			}
		} else if strings.HasPrefix(m["event"].(string), "organization.") {
			orgEvents++
		}
		b, _ := json.Marshal(m)
		if bytes.Contains(b, []byte("sk-proj-")) || bytes.Contains(b, []byte("@example.org")) {
			sensitive++
		}
	}
	if api == 0 || failed == 0 || orgEvents == 0 || sensitive == 0 {
		t.Fatalf("corpus: api=%d failed=%d org=%d sensitive=%d", api, failed, orgEvents, sensitive)
	}
	id := want[17]
	code, _, b := get(t, base, "/organization_logs/"+id, nil)
	if code != 200 || !bytes.Equal(bytes.TrimSpace(b), s.Log(indexOfLog(s, id))) {
		t.Fatalf("get by id: %d %s", code, b)
	}
	for _, bad := range []string{"log_0000000000000000", "log_nope", s.LogID(5000)} {
		code, _, b := get(t, base, "/organization_logs/"+bad, nil)
		if code != 404 {
			t.Fatalf("%s: %d", bad, code)
		}
		errorOf(t, b)
	}
	for _, q := range []url.Values{{"order": {"sideways"}}, {"after": {"log_nope"}}} {
		if code, _, _ := get(t, base, "/organization_logs", q); code != 400 {
			t.Fatalf("%v: %d", q, code)
		}
	}
}

func indexOfLog(s *Server, id string) int {
	for i := 0; ; i++ {
		if s.LogID(i) == id {
			return i
		}
	}
}

func TestOptions(t *testing.T) {
	kinds, err := ParseFaultKinds("429, reset,truncated")
	if err != nil || !slices.Equal(kinds, []FaultKind{Fault429, FaultReset, FaultTruncated}) {
		t.Fatalf("%v %v", kinds, err)
	}
	if kinds, err := ParseFaultKinds("all"); err != nil || kinds != nil {
		t.Fatalf("all: %v %v", kinds, err)
	}
	if _, err := ParseFaultKinds("429,boom"); err == nil {
		t.Fatal("unknown kind accepted")
	}
	bad := Options{Events: -1, LateFraction: 2, Faults: Faults{Rate: -1, Kinds: []FaultKind{"x"}}}
	err = bad.Validate()
	for _, want := range []string{"events", "late_fraction", "faults.rate", "faults.kinds"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate: %v, want mention of %s", err, want)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted invalid options")
		}
	}()
	New(bad)
}

func TestLargeSimulatorUsesLittleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var before, after runtimeMem
	before.read()
	s := New(Options{Seed: 21, Events: 5_000_000, Span: 30 * 24 * time.Hour, Now: func() time.Time { return t0 }})
	after.read()
	if grew := int64(after.heap) - int64(before.heap); grew > 2<<20 {
		t.Fatalf("a 5M-event simulator holds %d bytes", grew)
	}
	if n := len(s.VisibleIDs(t0.Add(-29 * 24 * time.Hour))); n < 100000 || n > 300000 {
		t.Fatalf("%d events in the first day", n)
	}
}

// Serving speed: events per second through real HTTP, pages of 100.
func BenchmarkServePage(b *testing.B) {
	s, base := start(b, Options{Seed: 22, Events: 1_000_000, Span: 30 * 24 * time.Hour, Now: func() time.Time { return t0 }})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var cursor atomic.Int64
	b.SetBytes(0)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// Page from a different place each time: after the event at a moving index.
			i := 100 + cursor.Add(100)%900_000
			u := base + "/organization/audit_logs?limit=100&after=" + s.EventID(int(i))
			resp, err := client.Get(u)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n < 10000 {
				b.Errorf("status %d, %d bytes", resp.StatusCode, n)
				return
			}
		}
	})
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(st.Events)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkRenderEvent(b *testing.B) {
	s := New(Options{Seed: 23, Events: 1_000_000, Span: time.Hour})
	buf := make([]byte, 0, 4096)
	var n int
	for i := 0; b.Loop(); i++ {
		buf = s.appendEvent(buf[:0], int64(i%1_000_000))
		n += len(buf)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/event")
}

type runtimeMem struct{ heap uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	m.heap = st.HeapAlloc
}
