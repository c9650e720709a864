package anthropicsim_test

import (
	"encoding/json"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

var typeName = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)+$`)

// TestCatalog reads tens of thousands of activities the way a collector
// would and checks what they are made of: the types (over sixty known,
// and some no list names), every actor kind of the notes and one they do
// not name, e-mail and IP addresses, no organization exactly where the
// notes say, and secrets in compliance_api_accessed where Truth says.
func TestCatalog(t *testing.T) {
	known, unknown := anthropicsim.KnownTypes(), anthropicsim.UnknownTypes()
	if len(known) < 60 || len(unknown) == 0 {
		t.Fatalf("%d known types and %d unknown, want at least 60 and some", len(known), len(unknown))
	}
	seen := map[string]bool{}
	for _, n := range slices.Concat(known, unknown) {
		if !typeName.MatchString(n) || seen[n] {
			t.Errorf("type %q is not a snake_case name, or is listed twice", n)
		}
		seen[n] = true
	}
	for _, n := range []string{"claude_chat_created", "abuse_decision_received", "sso_login_succeeded", "compliance_api_accessed",
		"claude_user_role_updated", "scim_user_created", "rbac_role_assigned", "admin_api_key_updated"} {
		if !slices.Contains(known, n) {
			t.Errorf("the notes' sample type %s is missing", n)
		}
	}

	const n = 30000
	sim := anthropicsim.New(anthropicsim.Options{Seed: 18, Activities: n, Span: 24 * time.Hour, Now: sourcetest.NewClock(t0).Now})
	types, actors := map[string]int{}, map[string]int{}
	var urls, bodies strings.Builder
	orgless := map[string]bool{}
	for i := range n {
		raw := sim.Activity(i)
		var a map[string]any
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("activity %d: %v\n%s", i, err, raw)
		}
		typ, id := str(a, "type"), str(a, "id")
		if id != sim.ActivityID(i) || typ == "" {
			t.Fatalf("activity %d: id %q type %q", i, id, typ)
		}
		if _, err := time.Parse(time.RFC3339, str(a, "created_at")); err != nil || !strings.HasSuffix(str(a, "created_at"), "Z") {
			t.Fatalf("activity %d: created_at %q", i, str(a, "created_at"))
		}
		types[typ]++
		kind := str(a, "actor", "type")
		actors[kind]++
		if (a["organization_id"] == nil) != (a["organization_uuid"] == nil) {
			t.Fatalf("activity %d: organization_id and organization_uuid disagree on null", i)
		}
		if a["organization_id"] == nil {
			orgless[typ] = true
		}
		actor := a["actor"].(map[string]any)
		switch kind {
		case "user_actor":
			if !strings.Contains(str(actor, "email_address"), "@") || net.ParseIP(str(actor, "ip_address")) == nil ||
				!strings.HasPrefix(str(actor, "user_id"), "user_01") || str(actor, "user_agent") == "" {
				t.Fatalf("user actor %v", actor)
			}
		case "anthropic_actor":
			if v, ok := actor["email_address"]; !ok || v != nil {
				t.Fatalf("anthropic actor %v, want email_address null", actor)
			}
		case "unauthenticated_user_actor":
			if _, ok := actor["unauthenticated_email_address"]; !ok {
				t.Fatalf("unauthenticated actor %v", actor)
			}
		}
		if typ == "compliance_api_accessed" {
			if a["request_body"] != nil {
				bodies.WriteString(a["request_body"].(string) + "\n")
			}
			if !strings.HasPrefix(str(a, "url"), "https://api.anthropic.com/v1/compliance/") || str(a, "request_method") == "" {
				t.Fatalf("compliance_api_accessed %s", raw)
			}
			urls.WriteString(str(a, "url") + "\n")
		}
	}
	for _, k := range known {
		if types[k] == 0 {
			t.Errorf("no %s in %d activities", k, n)
		}
	}
	for _, k := range unknown {
		if types[k] == 0 {
			t.Errorf("the unknown type %s never shows", k)
		}
	}
	for _, k := range anthropicsim.ActorTypes() {
		if actors[k] == 0 {
			t.Errorf("no %s in %d activities", k, n)
		}
	}
	if len(actors) != len(anthropicsim.ActorTypes()) {
		t.Errorf("actor kinds %v", actors)
	}
	// The notes: null for sign-in, sign-out and Compliance API calls.
	for typ := range orgless {
		if !strings.Contains(typ, "login") && typ != "user_logged_out" && typ != "compliance_api_accessed" &&
			!strings.HasPrefix(typ, "phone_code") && typ != "sso_second_factor_magic_link" {
			t.Errorf("%s has no organization", typ)
		}
	}
	if !orgless["compliance_api_accessed"] || !orgless["sso_login_succeeded"] || !orgless["user_logged_out"] {
		t.Errorf("types without organization: %v", orgless)
	}
	// Every secret Truth names is in what callers sent, and there are
	// some in URLs and some in bodies.
	tr := sim.Truth()
	inURL, inBody := 0, 0
	for _, s := range tr.Secrets {
		u, b := strings.Contains(urls.String(), s), strings.Contains(bodies.String(), s)
		if !u && !b {
			t.Fatalf("secret %q is in no url or request_body", s)
		}
		if u {
			inURL++
		}
		if b {
			inBody++
		}
	}
	if inURL == 0 || inBody == 0 {
		t.Fatalf("%d secrets in URLs, %d in bodies", inURL, inBody)
	}
	if len(tr.IDs) != n || tr.Types["claude_chat_created"] != types["claude_chat_created"] || tr.Actors["user_actor"] != actors["user_actor"] {
		t.Fatalf("Truth counts %d ids, %d chats, %d users", len(tr.IDs), tr.Types["claude_chat_created"], tr.Actors["user_actor"])
	}
	total := 0
	for org, ids := range tr.ByOrganization {
		total += len(ids)
		if org != "" && !slices.ContainsFunc(sim.Organizations(), func(o anthropicsim.Organization) bool { return o.ID == org }) {
			t.Errorf("activities of an organization %s that is not a child", org)
		}
	}
	if total != n || len(tr.ByOrganization) != len(sim.Organizations())+1 {
		t.Errorf("ByOrganization holds %d ids in %d organizations", total, len(tr.ByOrganization))
	}
}
