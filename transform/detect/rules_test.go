package detect

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// corpora are built once: the simulators are deterministic.
var (
	corpusOnce                  sync.Once
	openaiEvs, chatEvs, anthEvs []pipeline.Event
	decoded                     = map[string][]map[string]any{} // the corpora's events decoded, by corpus
)

func corpora(t *testing.T) {
	corpusOnce.Do(func() {
		openaiEvs = openaiCorpus(t, 25000)
		chatEvs = chatgptCorpus(t)
		anthEvs = anthropicCorpus(t, 25000)
		for name, evs := range map[string][]pipeline.Event{"openai": openaiEvs, "chatgpt": chatEvs, "anthropic": anthEvs} {
			for _, ev := range evs {
				decoded[name] = append(decoded[name], obj(t, ev))
			}
		}
	})
}

func typeIn(types ...string) func(pipeline.Event, map[string]any) bool {
	return func(ev pipeline.Event, _ map[string]any) bool { return slices.Contains(types, ev.Type) }
}

// matchRules are the shipped rules that alert on single events, each with
// the simulator corpus it reads and an independent statement of which
// events must raise an alert: every other event must not.
var matchRules = []struct {
	rule   string
	corpus string
	want   func(ev pipeline.Event, m map[string]any) bool
}{
	{"openai-api-key-created", "openai", typeIn("api_key.created", "tenant.admin_api_key.created", "organization.api_key.created")},
	{"openai-user-deleted", "openai", typeIn("user.deleted", "tenant.user.deleted", "organization.user.deleted")},
	{"openai-scim-or-ip-allowlist-disabled", "openai", typeIn("scim.disabled", "ip_allowlist.config.deactivated", "ip_allowlist.deleted")},
	{"openai-owner-role-granted", "openai", func(ev pipeline.Event, m map[string]any) bool {
		return typeIn("user.added", "service_account.created", "invite.sent")(ev, m) && at(m, ev.Type, "data", "role") == "owner"
	}},
	{"openai-owner-role-changed", "openai", func(ev pipeline.Event, m map[string]any) bool {
		return typeIn("user.updated", "service_account.updated")(ev, m) && at(m, ev.Type, "changes_requested", "role") == "owner"
	}},
	{"chatgpt-admin-role-granted", "chatgpt", func(ev pipeline.Event, m map[string]any) bool {
		role := at(m, "action_data", "role")
		return ev.Type == "AUDIT_LOG" && at(m, "action") == "USER_ROLE_UPDATED" && at(m, "action_result") == "SUCCESS" &&
			(strings.Contains(role, "admin") || strings.Contains(role, "owner"))
	}},
	{"anthropic-admin-key-created", "anthropic", typeIn("admin_api_key_created", "api_key_created", "service_key_created")},
	{"anthropic-user-deleted", "anthropic", typeIn("org_user_deleted", "scim_user_deleted")},
	{"anthropic-ip-restriction-or-sso-disabled", "anthropic", typeIn("org_ip_restriction_deleted", "org_sso_connection_deactivated")},
	{"anthropic-sso-toggled-off", "anthropic", func(ev pipeline.Event, m map[string]any) bool {
		return ev.Type == "org_sso_toggled" && at(m, "enabled") == "false"
	}},
	{"anthropic-owner-role-granted", "anthropic", func(ev pipeline.Event, m map[string]any) bool {
		return ev.Type == "claude_user_role_updated" && (at(m, "current_role") == "owner" || at(m, "current_role") == "primary_owner")
	}},
	{"anthropic-primary-owner-transferred", "anthropic", typeIn("primary_owner_transferred")},
}

// TestMatchRulesOnSimulatorEvents: every single-event rule of the pack
// raises an alert for exactly the simulator events that should raise one
// (there are some), and for no other; a rule with conditions also meets
// events of its types that must not fire.
func TestMatchRulesOnSimulatorEvents(t *testing.T) {
	corpora(t)
	for _, tc := range matchRules {
		t.Run(tc.rule, func(t *testing.T) {
			r := packRule(t, tc.rule)
			evs := map[string][]pipeline.Event{"openai": openaiEvs, "chatgpt": chatEvs, "anthropic": anthEvs}[tc.corpus]
			var want []string
			typed := 0 // events of the rule's types that must not fire
			for i, ev := range evs {
				m := decoded[tc.corpus][i]
				if tc.want(ev, m) {
					want = append(want, ev.ID)
				} else if matchAny(r.Types, ev.Type) {
					typed++
				}
			}
			if len(want) == 0 {
				t.Fatalf("the corpus holds no event the rule must fire on")
			}
			if len(r.Where) > 0 && typed == 0 {
				t.Fatalf("the corpus holds no event of the rule's types that must not fire")
			}
			alerts := run(t, newDetect(t, "", r), "acme", evs, 1000)
			var got []string
			for _, a := range alerts {
				got = append(got, a.Evidence.EventIDs[len(a.Evidence.EventIDs)-1])
				if a.Rule != tc.rule || a.Severity != r.Severity || a.Source != "acme" || !strings.HasPrefix(a.ID, "alert_") {
					t.Errorf("alert %+v", a)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("fired on %d events, want %d: got %.5q..., want %.5q...", len(got), len(want), got, want)
			}
			t.Logf("%d alerts; %d events of its types did not fire", len(got), typed)
		})
	}
}

// TestChatGPTSecurityFeatureDisabled: the simulator toggles features that
// are not access controls (memory, connectors) and must not fire; the same
// records naming SCIM or the IP allow-list must, when switched off only.
func TestChatGPTSecurityFeatureDisabled(t *testing.T) {
	corpora(t)
	r := packRule(t, "chatgpt-security-feature-disabled")
	var toggles []pipeline.Event
	for _, ev := range chatEvs {
		if ev.Type == "AUDIT_LOG" && strings.Contains(string(ev.Raw), `"WORKSPACE_TOGGLE_FEATURE"`) {
			toggles = append(toggles, ev)
		}
	}
	if len(toggles) < 4 {
		t.Fatalf("%d toggles in the corpus", len(toggles))
	}
	if a := run(t, newDetect(t, "", r), "ws", toggles, 1000); len(a) != 0 {
		t.Errorf("%d alerts for features that are no access control", len(a))
	}
	var off, on []pipeline.Event
	for i, ev := range toggles {
		feature := []string{"scim", "ip_allowlist"}[i%2]
		raw := strings.Replace(string(ev.Raw), `"feature":"`+at(obj(t, ev), "action_data", "feature")+`"`, `"feature":"`+feature+`"`, 1)
		ev.SetRaw([]byte(raw))
		if strings.Contains(raw, `"enabled":false`) {
			off = append(off, ev)
		} else {
			on = append(on, ev)
		}
	}
	if len(off) == 0 || len(on) == 0 {
		t.Fatalf("%d switched off, %d on", len(off), len(on))
	}
	if a := run(t, newDetect(t, "", r), "ws", off, 1000); len(a) != len(off) {
		t.Errorf("%d alerts for %d access controls switched off", len(a), len(off))
	}
	if a := run(t, newDetect(t, "", r), "ws", on, 1000); len(a) != 0 {
		t.Errorf("%d alerts for access controls switched on", len(a))
	}
}

// burst returns n copies of the events given, re-timed every step from
// at: the simulator's own records, in the rhythm a burst has.
func burst(evs []pipeline.Event, at time.Time, step time.Duration) []pipeline.Event {
	out := make([]pipeline.Event, len(evs))
	for i, ev := range evs {
		ev.Time = at.Add(time.Duration(i) * step)
		out[i] = ev
	}
	return out
}

// sameIP returns n events of corpus of type typ (and sub, a string its
// bytes hold) from one address.
func sameIP(t *testing.T, corpus []pipeline.Event, typ, sub string, n int) []pipeline.Event {
	t.Helper()
	by := map[string][]pipeline.Event{}
	for _, ev := range corpus {
		if ev.Type != typ || !strings.Contains(string(ev.Raw), sub) {
			continue
		}
		rd := &reading{ev: &ev}
		ip := rd.one(field{kind: fIP})
		if ip == "" {
			continue
		}
		by[ip] = append(by[ip], ev)
		if len(by[ip]) == n {
			return by[ip]
		}
	}
	t.Fatalf("no %d %s events from one address", n, typ)
	return nil
}

// TestLoginBurstRules: five failed logins from one address within ten
// minutes raise one alert naming all five; four do not, nor five spread
// over an hour; a storm of thirty raises one alert (the cool-down).
func TestLoginBurstRules(t *testing.T) {
	corpora(t)
	for _, tc := range []struct {
		rule, typ, sub string
		corpus         []pipeline.Event
	}{
		{"openai-login-failures-burst", "login.failed", "", openaiEvs},
		{"chatgpt-login-failures-burst", "AUTH_LOG", `"login_failed"`, chatEvs},
		{"anthropic-login-failures-burst", "sso_login_failed", "", anthEvs},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			r := packRule(t, tc.rule)
			five := sameIP(t, tc.corpus, tc.typ, tc.sub, 5)
			at := simStart.Add(90 * 24 * time.Hour)
			a := run(t, newDetect(t, "", r), "s", burst(five, at, time.Minute), 1000)
			if len(a) != 1 || len(a[0].Evidence.EventIDs) != 5 || a[0].Group == "" {
				t.Fatalf("five in five minutes: %+v, want one alert with five events", a)
			}
			if !strings.Contains(a[0].Summary, "5 failed") {
				t.Errorf("summary %q", a[0].Summary)
			}
			if a := run(t, newDetect(t, "", r), "s", burst(five[:4], at, time.Minute), 1000); len(a) != 0 {
				t.Errorf("four failures raised %d alerts", len(a))
			}
			if a := run(t, newDetect(t, "", r), "s", burst(five, at, 15*time.Minute), 1000); len(a) != 0 {
				t.Errorf("five failures over an hour raised %d alerts", len(a))
			}
			var storm []pipeline.Event
			for i := range 6 {
				storm = append(storm, burst(five, at.Add(time.Duration(i)*5*time.Minute), time.Minute)...)
			}
			for i := range storm {
				storm[i].ID += "-" + string(rune('a'+i/5)) // distinct events, as a storm has
			}
			if a := run(t, newDetect(t, "", r), "s", storm, 7); len(a) != 1 {
				t.Errorf("a storm of %d failures raised %d alerts, want one", len(storm), len(a))
			}
			// An address that failed once in the corpus raises nothing of
			// its own: the corpus spreads failures over a month.
			other := run(t, newDetect(t, "", r), "s", tc.corpus, 1000)
			for _, al := range other {
				if al.Evidence.Last.Sub(al.Evidence.First) >= r.Threshold.Within {
					t.Errorf("alert over %v: %+v", al.Evidence.Last.Sub(al.Evidence.First), al)
				}
			}
		})
	}
}

// TestNewCountryRules: a user's first country is learnt, the same country
// again is quiet, another one fires once, and on the corpus every alert
// names a country the user had not been seen in before.
func TestNewCountryRules(t *testing.T) {
	corpora(t)
	for _, tc := range []struct {
		rule, typ, sub string
		corpus         []pipeline.Event
	}{
		{"openai-new-country-for-user", "login.succeeded", "", openaiEvs},
		{"chatgpt-new-country-for-user", "AUTH_LOG", `"login_success"`, chatEvs},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			r := packRule(t, tc.rule)
			d := newDetect(t, "", r)
			alerts := run(t, d, "s", tc.corpus, 1000)
			if len(alerts) == 0 {
				t.Fatal("no alert on the corpus")
			}
			seen := map[string]map[string]bool{} // actor -> countries before
			fired := map[string]bool{}
			for _, a := range alerts {
				fired[a.Evidence.EventIDs[0]] = true
			}
			quiet := 0
			for _, ev := range tc.corpus {
				if ev.Type != tc.typ || !strings.Contains(string(ev.Raw), tc.sub) {
					continue
				}
				rd := &reading{ev: &ev}
				actor, country := rd.one(field{kind: fActor}), rd.one(field{kind: fCountry})
				if actor == "" || country == "" {
					continue
				}
				before := seen[actor]
				if fired[ev.ID] && (before == nil || before[country]) {
					t.Errorf("alert on %s: %s in %s, seen before: %v", ev.ID, actor, country, before)
				}
				if !fired[ev.ID] && before != nil && !before[country] {
					quiet++ // new, within a cool-down
				}
				if before == nil {
					seen[actor] = map[string]bool{}
				}
				seen[actor][country] = true
			}
			t.Logf("%d alerts, %d new countries within a cool-down", len(alerts), quiet)
		})
	}
}

// TestEveryShippedRuleIsTested keeps the pack and its tests together.
func TestEveryShippedRuleIsTested(t *testing.T) {
	tested := map[string]bool{"chatgpt-security-feature-disabled": true,
		"openai-login-failures-burst": true, "chatgpt-login-failures-burst": true, "anthropic-login-failures-burst": true,
		"openai-new-country-for-user": true, "chatgpt-new-country-for-user": true}
	for _, tc := range matchRules {
		tested[tc.rule] = true
	}
	rs, err := loadPack("default")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !tested[r.Name] {
			t.Errorf("shipped rule %q has no test", r.Name)
		}
	}
}

// TestEventsPassThroughUntouched: with the whole pack, every event leaves
// in its order with its bytes as they came, unknown types included; only
// alerts are added.
func TestEventsPassThroughUntouched(t *testing.T) {
	corpora(t)
	in := slices.Clone(anthEvs[:3000])
	unknown := in[10]
	unknown.ID, unknown.Type = "unknown-1", "frobnicator_reticulated"
	unknown.SetRaw([]byte(`{"id":"unknown-1","type":"frobnicator_reticulated","created_at":"2026-07-01T00:00:00Z","x":{"y":[1,2.50]}}`))
	in = append(in, unknown)
	c := DefaultConfig()
	d, err := New(c, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []pipeline.Event
	for i := 0; i < len(in); i += 500 {
		out = append(out, window(t, d, "parent", in[i:min(i+500, len(in))], true)...)
	}
	var rest []pipeline.Event
	alerts := 0
	for _, ev := range out {
		if ev.Type == AlertType {
			alerts++
			continue
		}
		rest = append(rest, ev)
	}
	if alerts == 0 {
		t.Error("the pack raised no alert over the corpus")
	}
	if len(rest) != len(in) {
		t.Fatalf("%d events out, %d in", len(rest), len(in))
	}
	for i := range in {
		if rest[i].ID != in[i].ID || string(rest[i].Raw) != string(in[i].Raw) || !rest[i].RawCurrent() {
			t.Fatalf("event %d: %s changed or moved (got %s)", i, in[i].ID, rest[i].ID)
		}
	}
}
