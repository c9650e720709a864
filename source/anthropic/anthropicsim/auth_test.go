package anthropicsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

func TestHeaderChecks(t *testing.T) {
	sim, u := start(t, anthropicsim.Options{Seed: 5, Activities: 50, Span: time.Hour, RequestsPerMinute: 600, Keys: []anthropicsim.Key{
		{Secret: key},
		{Secret: "sk-ant-admin01-admin-with-scope", Scopes: []string{"read:compliance_org_data", anthropicsim.ScopeActivities}},
		{Secret: "sk-ant-api01-user-data-only", Scopes: []string{"read:compliance_user_data"}},
		{Secret: "sk-ant-api03-ordinary-claude-key", Scopes: []string{}},
	}})
	base := strings.TrimSuffix(u, "/v1/compliance/activities")
	for _, tc := range []struct {
		name   string
		url    string
		hdr    []string
		code   int
		typ    string
		msg    string
		budget bool // the answer carries the rate-limit headers (authenticated)
	}{
		{"no key", u, []string{"x-api-key", ""}, 401, "authentication_error", "The API key provided is invalid or has been revoked.", false},
		{"unknown key", u, []string{"x-api-key", "sk-ant-api01-revoked"}, 401, "authentication_error", "The API key provided is invalid or has been revoked.", false},
		{"bearer instead of x-api-key", u, []string{"x-api-key", "", "Authorization", "Bearer " + key}, 401, "authentication_error", "The API key provided is invalid or has been revoked.", false},
		{"key without the scope", u, []string{"x-api-key", "sk-ant-api01-user-data-only"}, 403, "permission_error",
			"Missing required scopes. Got: ['read:compliance_user_data'] Needed: ['read:compliance_activities']", true},
		{"ordinary Claude key", u, []string{"x-api-key", "sk-ant-api03-ordinary-claude-key"}, 403, "permission_error",
			"Missing required scopes. Got: [] Needed: ['read:compliance_activities']", true},
		{"no anthropic-version", u, []string{"anthropic-version", ""}, 400, "invalid_request_error", "anthropic-version: header is required", true},
		{"other anthropic-version", u, []string{"anthropic-version", "2020-01-01"}, 400, "invalid_request_error",
			`anthropic-version: "2020-01-01" is not a supported version; use 2023-06-01.`, true},
		{"another compliance path", base + "/v1/compliance/organizations", nil, 404, "not_found_error", "Not found: GET /v1/compliance/organizations", true},
		{"another compliance path, no key", base + "/v1/compliance/organizations", []string{"x-api-key", ""}, 401, "authentication_error",
			"The API key provided is invalid or has been revoked.", false},
		{"admin key with the scope", u, []string{"x-api-key", "sk-ant-admin01-admin-with-scope"}, 200, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, b := get(t, http.DefaultClient, tc.url, nil, tc.hdr...)
			if code != tc.code || !strings.HasPrefix(h.Get("request-id"), "req_01") || h.Get("Date") != t0.Format(http.TimeFormat) {
				t.Fatalf("status %d (request-id %q, Date %q), want %d: %s", code, h.Get("request-id"), h.Get("Date"), tc.code, b)
			}
			if got := h.Get("anthropic-ratelimit-requests-limit") != ""; got != tc.budget {
				t.Fatalf("rate-limit headers present %v, want %v", got, tc.budget)
			}
			if tc.code == 200 {
				decodePage(t, b)
				return
			}
			if e := decodeError(t, b); e.Error.Type != tc.typ || e.Error.Message != tc.msg {
				t.Fatalf("error %+v, want %s %q", e.Error, tc.typ, tc.msg)
			}
		})
	}
	st := sim.Stats()
	// Failed authentication spends no budget: 4 refused, 6 spent.
	if st.Statuses[401] != 4 || st.Statuses[403] != 2 || st.Statuses[400] != 2 || st.Statuses[404] != 1 || st.Statuses[200] != 1 ||
		st.BudgetSpent != 6 || st.Requests != 10 {
		t.Fatalf("stats %+v", st)
	}
	// POST is not a listing.
	req, _ := http.NewRequest(http.MethodPost, u, nil)
	req.Header.Set("x-api-key", key)
	req.Header.Set("anthropic-version", anthropicsim.Version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestAnyKeyWithoutKeys: without Options.Keys any key is one of the
// organization's, but one is still required.
func TestAnyKeyWithoutKeys(t *testing.T) {
	_, u := start(t, anthropicsim.Options{Seed: 6, Keys: []anthropicsim.Key{}})
	if code, _, b := get(t, http.DefaultClient, u, nil, "x-api-key", "sk-ant-api01-anything"); code != 200 {
		t.Fatalf("any key: %d %s", code, b)
	}
	if code, _, _ := get(t, http.DefaultClient, u, nil, "x-api-key", ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (anthropicsim.Options{}).Validate(); err != nil {
		t.Fatalf("the zero Options: %v", err)
	}
	err := anthropicsim.Options{
		Activities: -1, Span: -time.Second, Rate: -1, LateFraction: 2, MaxLate: -time.Second, Users: -1,
		Start:   time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
		Keys:    []anthropicsim.Key{{Secret: "a"}, {Secret: "a"}, {}},
		Latency: anthropicsim.Latency{Median: time.Second, P99: time.Millisecond},
		Faults:  anthropicsim.Faults{Rate: 1.5, Kinds: []anthropicsim.FaultKind{"404"}},
	}.Validate()
	for _, want := range []string{"activities -1", "span -1s", "rate -1", "late_fraction 2", "max_late -1s", "users -1", "start 1960",
		"keys[1]: the secret is listed twice", "keys[2]: the secret is empty", "latency: p99 1ms is below the median 1s", "faults: rate 1.5", `unknown kind "404"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v\nwant it to name %q", err, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted invalid options")
		}
	}()
	anthropicsim.New(anthropicsim.Options{Rate: -1})
}
