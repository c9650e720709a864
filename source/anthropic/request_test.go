package anthropic

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// recording serves sim and keeps every request it answered.
type recording struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recording) serve(t *testing.T, sim *anthropicsim.Server) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Clone(r.Context()))
		rec.mu.Unlock()
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRequestsAndFilters: every request carries the key as x-api-key and
// anthropic-version, asks for a created_at range newest first with
// after_id paging, and the filters of the config; what the filters keep is
// what is delivered.
func TestRequestsAndFilters(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
	sim := anthropicsim.New(anthropicsim.Options{Seed: 4, Activities: 3000, Span: 24 * time.Hour, Start: t0, Now: clk.Now,
		RequestsPerMinute: -1, Keys: []anthropicsim.Key{{Secret: testKey}}})
	org := sim.Organizations()[1]
	truth := sim.Truth()
	for _, tc := range []struct {
		name   string
		set    func(c *Config)
		params map[string][]string
		want   []string
	}{
		{"organization", func(c *Config) { c.OrganizationIDs = []string{org.ID} },
			map[string][]string{"organization_ids[]": {org.ID}}, truth.ByOrganization[org.ID]},
		{"every type but one", func(c *Config) { c.ExcludeActivityTypes = []string{"claude_chat_created", "nonexistent_type"} },
			map[string][]string{"exclude_activity_types[]": {"claude_chat_created", "nonexistent_type"}}, nil},
		{"types and actors", func(c *Config) {
			c.ActivityTypes = []string{"sso_login_succeeded", "claude_chat_created"}
			c.ActorIDs = sim.UserIDs()[:3]
		}, map[string][]string{"activity_types[]": {"sso_login_succeeded", "claude_chat_created"}, "actor_ids[]": sim.UserIDs()[:3]}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recording
			cfg := testConfig(rec.serve(t, sim))
			cfg.PageSize = 10
			tc.set(&cfg)
			var c sourcetest.Collector
			if err := sourcetest.RunOnce(t, newTestSource(t, cfg, clk.Now), &c, checkpoint.NewMemory()); err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				sourcetest.CheckExactlyOnce(t, c.IDs, tc.want)
			}
			if len(c.IDs) == 0 || len(c.IDs) == len(truth.IDs) {
				t.Fatalf("%d of %d activities delivered: the filter did nothing", len(c.IDs), len(truth.IDs))
			}
			paged := false
			for _, r := range rec.reqs {
				q := r.URL.Query()
				if r.URL.Path != "/v1/compliance/activities" || r.Header.Get("x-api-key") != testKey ||
					r.Header.Get("anthropic-version") != "2023-06-01" || r.Header.Get("Authorization") != "" {
					t.Fatalf("request %s %v", r.URL.Path, r.Header)
				}
				if q.Get("order") != "desc" || q.Get("limit") != "10" || q.Get("before_id") != "" {
					t.Fatalf("query %v", q)
				}
				gte, err1 := time.Parse(time.RFC3339, q.Get("created_at.gte"))
				lt, err2 := time.Parse(time.RFC3339, q.Get("created_at.lt"))
				if err1 != nil || err2 != nil || !gte.Before(lt) {
					t.Fatalf("created_at range %q..%q", q.Get("created_at.gte"), q.Get("created_at.lt"))
				}
				for k, v := range tc.params {
					if !slices.Equal(q[k], v) {
						t.Fatalf("%s = %v, want %v", k, q[k], v)
					}
				}
				paged = paged || strings.HasPrefix(q.Get("after_id"), "activity_")
			}
			if !paged {
				t.Fatal("no request paged with after_id")
			}
		})
	}
}
