package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// TestStatsDetect: stats --detect runs the default pack over the range and
// counts each rule's alerts: a rule that alerts on every activity of its
// types counts exactly those of the range, and every rule of the pack has
// a row, zero included.
func TestStatsDetect(t *testing.T) {
	sim, _, flags := anSim(t, anthropicsim.Options{Seed: 37, Activities: 20000}, nil)
	since, until, rng := anRange(40*time.Hour, time.Hour)
	in := anWithin(anRecords(t, sim), since, until, nil)
	want := map[string]int{}
	for _, r := range in {
		switch r.typ {
		case "admin_api_key_created", "api_key_created", "service_key_created":
			want["anthropic-admin-key-created"]++
		case "org_user_deleted", "scim_user_deleted":
			want["anthropic-user-deleted"]++
		case "primary_owner_transferred":
			want["anthropic-primary-owner-transferred"]++
		}
	}
	out, errs, code := runAN(t.Context(), false, slices.Concat([]string{"stats", "--detect", "--top", "0", "-o", "json"}, rng, flags)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := readStats(t, out)
	got := map[string]int{}
	total := 0
	for _, g := range res.Groups {
		got[g.Key] = g.Count
		total += g.Count
	}
	if res.By != "rule" || res.Total != total {
		t.Errorf("by %q, total %d, groups sum to %d", res.By, res.Total, total)
	}
	for rule, n := range want {
		if n == 0 || got[rule] != n {
			t.Errorf("%s: %d alerts, want %d", rule, got[rule], n)
		}
	}
	if _, ok := got["openai-login-failures-burst"]; !ok {
		t.Errorf("no row for a rule of another vendor: %v", got)
	}
	table, _, code := runAN(t.Context(), false, slices.Concat([]string{"stats", "--detect"}, rng, flags)...)
	if code != 0 || !strings.Contains(table, "RULE") || !strings.Contains(table, "alerts of the default detection pack") {
		t.Errorf("table (exit %d):\n%s", code, table)
	}
	t.Logf("%v", got)
}
