package anthropic_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/internal/schematest"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

const org = "org_01Wv6QeBcDfGhJkLmNpQrSt8"

var reader = schematest.Reader[anthropic.Fields]{Schema: anthropic.Schema, Parse: anthropic.Parse, Read: anthropic.ReadObject,
	ID: "id", Time: "created_at"}

// validCases are the activities of testdata/valid and what the package
// reads from each.
var validCases = []struct {
	file           string
	id, typ        string
	time           string // RFC 3339, as Parse should read it (UTC)
	org            string
	actor          anthropic.Actor
	actorID, email string
	failed         bool
}{
	{file: "claude_chat_created.json", id: "activity_01XyDMpzjS89pFZXqSFUBDr6", typ: "claude_chat_created", time: "2026-04-10T08:09:10Z", org: org,
		actor: anthropic.Actor{Kind: "user_actor", UserID: "user_01TuVwXyZaBcDeFgHiJkLmNo", Email: "user@example.com", IP: "192.0.2.34",
			UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)"},
		actorID: "user_01TuVwXyZaBcDeFgHiJkLmNo", email: "user@example.com"},
	// Sign-ins have no organization.
	{file: "sso_login_succeeded.json", id: "activity_01SsoLoginSucceeded000001", typ: "sso_login_succeeded", time: "2026-04-10T08:00:00Z",
		actor:   anthropic.Actor{Kind: "user_actor", UserID: "user_01Kenji", Email: "kenji.watanabe@example.com", IP: "2001:db8::7", UserAgent: "Claude/1.0.3"},
		actorID: "user_01Kenji", email: "kenji.watanabe@example.com"},
	{file: "compliance_api_accessed.json", id: "activity_01ComplianceApiAccessed01", typ: "compliance_api_accessed", time: "2026-05-22T11:00:00Z",
		actor:   anthropic.Actor{Kind: "api_actor", APIKeyID: "apikey_01Collector", IP: "203.0.113.50", UserAgent: "python-requests/2.32.0"},
		actorID: "apikey_01Collector"},
	{file: "compliance_api_denied.json", id: "activity_01ComplianceApiDenied0001", typ: "compliance_api_accessed", time: "2026-05-22T11:00:01Z",
		actor:   anthropic.Actor{Kind: "admin_api_key_actor", AdminAPIKeyID: "admin_key_01Ops", IP: "198.51.100.200", UserAgent: "curl/8.8.0"},
		actorID: "admin_key_01Ops", failed: true},
	// The user the activity is about (user_id, user_email at the top) is
	// not its actor.
	{file: "claude_user_role_updated.json", id: "activity_01RoleUpdated0000000001", typ: "claude_user_role_updated", time: "2026-05-26T09:00:00Z", org: org,
		actor: anthropic.Actor{Kind: "admin_api_key_actor", AdminAPIKeyID: "admin_key_01Ops"}, actorID: "admin_key_01Ops"},
	{file: "scim_user_created.json", id: "activity_01ScimUserCreated00000001", typ: "scim_user_created", time: "2026-05-26T09:00:00Z", org: org,
		actor:   anthropic.Actor{Kind: "scim_directory_sync_actor", DirectoryID: "directory_01Okta", WorkOSEventID: "event_01WorkOS", IdPConnectionType: "OktaSCIMV2"},
		actorID: "directory_01Okta"},
	{file: "rbac_role_assigned.json", id: "activity_01RbacRoleAssigned0000001", typ: "rbac_role_assigned", time: "2026-05-26T09:00:00Z", org: org,
		actor:   anthropic.Actor{Kind: "user_actor", UserID: "user_01Admin", Email: "admin@example.org", IP: "198.51.100.42", UserAgent: "Mozilla/5.0"},
		actorID: "user_01Admin", email: "admin@example.org"},
	{file: "admin_api_key_updated.json", id: "activity_01AdminKeyUpdated00000001", typ: "admin_api_key_updated", time: "2026-05-26T09:00:00Z", org: org,
		actor:   anthropic.Actor{Kind: "user_actor", UserID: "user_01Admin", Email: "admin@example.org", IP: "198.51.100.42", UserAgent: "Mozilla/5.0"},
		actorID: "user_01Admin", email: "admin@example.org"},
	{file: "abuse_decision_received.json", id: "activity_01AbuseDecision0000000001", typ: "abuse_decision_received", time: "2026-05-26T09:00:00Z", org: org,
		actor: anthropic.Actor{Kind: "anthropic_actor"}},
	// The address an unauthenticated visitor gave counts as the e-mail; it
	// has no id.
	{file: "unauthenticated_user.json", id: "activity_01ChatAccessFailed00000001", typ: "claude_chat_access_failed", time: "2026-05-26T09:00:00Z", org: org,
		actor: anthropic.Actor{Kind: "unauthenticated_user_actor", Email: "anonymous.visitor@example.com", IP: "192.0.2.55", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"},
		email: "anonymous.visitor@example.com"},
	{file: "unauthenticated_no_email.json", id: "activity_01PhoneCodeSent000000001", typ: "phone_code_sent", time: "2026-05-26T09:00:00Z",
		actor: anthropic.Actor{Kind: "unauthenticated_user_actor"}},
	{file: "system_actor.json", id: "activity_01SystemActor000000000001", typ: "org_data_export_completed", time: "2026-05-26T09:00:00Z", org: org,
		actor: anthropic.Actor{Kind: "system_actor", Service: "data_retention"}, actorID: "data_retention"},
	{file: "service_account_actor.json", id: "activity_01ServiceAccount000000001", typ: "platform_file_uploaded", time: "2026-05-26T09:00:00Z", org: org,
		actor:   anthropic.Actor{Kind: "service_account_actor", ServiceAccountID: "svc_acct_01Batch", IP: "192.0.2.100", UserAgent: "anthropic-python/0.40.0"},
		actorID: "svc_acct_01Batch"},
	{file: "federated_identity_actor.json", id: "activity_01FederatedIdentity000001", typ: "platform_workspace_created", time: "2026-05-26T09:00:00Z", org: org,
		actor: anthropic.Actor{Kind: "federated_identity_actor", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:acme/support-bot:ref:refs/heads/main"},
		actorID: "repo:acme/support-bot:ref:refs/heads/main"},
	{file: "federated_actor.json", id: "activity_01FederatedActor000000001", typ: "platform_file_deleted", time: "2026-05-26T09:00:00Z", org: org,
		actor:   anthropic.Actor{Kind: "federated_actor", Provider: "aws", Subject: "arn:aws:sts::123456789012:assumed-role/claude-batch/job-7"},
		actorID: "arn:aws:sts::123456789012:assumed-role/claude-batch/job-7"},
	{file: "attested_device_actor.json", id: "activity_01AttestedDevice000000001", typ: "compliance_api_accessed", time: "2026-05-26T09:00:00Z",
		actor: anthropic.Actor{Kind: "attested_device_actor", ExternalClientID: "mdm-1b4e28ba-2fa1-4d2b-883f-0016d3cca427",
			KidHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		actorID: "mdm-1b4e28ba-2fa1-4d2b-883f-0016d3cca427"},
	// An unknown actor kind passes through with its kind alone, whatever
	// members it shares with known kinds.
	{file: "unknown_actor.json", id: "activity_01UnknownActor00000000001", typ: "claude_chat_created", time: "2026-05-26T09:00:00Z", org: org,
		actor: anthropic.Actor{Kind: "delegated_agent_actor"}},
	// An unknown type passes through; created_at in another zone is read
	// as the same instant, in UTC.
	{file: "unknown_type.json", id: "activity_01UnknownType000000000001", typ: "org_retention_policy_updated", time: "2026-05-26T07:00:00.123456Z", org: org,
		actor: anthropic.Actor{Kind: "user_actor", UserID: "user_01Admin", Email: "admin@example.org"}, actorID: "user_01Admin", email: "admin@example.org"},
	{file: "no_actor_no_type.json", id: "activity_01Bare", time: "2026-05-26T09:00:00Z"},
	// A key given twice counts with its last value, a whole object included.
	{file: "duplicate_keys.json", id: "activity_01Second", typ: "sso_login_failed", time: "2026-05-26T09:00:00Z",
		actor: anthropic.Actor{Kind: "api_actor", APIKeyID: "apikey_01Second"}, actorID: "apikey_01Second"},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			f := reader.Valid(t, tc.file, schematest.Want{ID: tc.id, Type: tc.typ, Time: tc.time, ActorID: tc.actorID, Email: tc.email, Project: tc.org})
			if got := f.Actor(); got != tc.actor {
				t.Errorf("Actor =\n%+v, want\n%+v", got, tc.actor)
			}
			if f.Failed() != tc.failed {
				t.Errorf("Failed = %v", f.Failed())
			}
			if tc.org != "" && f.OrganizationUUID() != "abcdef01-2345-4678-9abc-def012345678" {
				t.Errorf("OrganizationUUID = %q", f.OrganizationUUID())
			}
		})
	}
}

// invalidCases are the records of testdata/invalid and the error each
// gives.
var invalidCases = []schematest.Invalid{
	{File: "array.json", Want: "compliance activity: not a JSON object"},
	{File: "string.json", Want: "compliance activity: not a JSON object"},
	{File: "null.json", Want: "compliance activity: not a JSON object"},
	{File: "unterminated.json", Want: "compliance activity: not valid JSON"},
	{File: "two_objects.json", Want: "compliance activity: not valid JSON: more after the object"},
	{File: "no_id.json", Want: "compliance activity: no id"},
	{File: "numeric_id.json", Want: "compliance activity: no id"},
	{File: "no_created_at.json", Want: "compliance activity activity_01A: no created_at"},
	{File: "created_at_date_only.json", Want: `compliance activity activity_01A: created_at "2026-05-26" is not an RFC 3339 time`},
	{File: "created_at_number.json", Want: "compliance activity activity_01A: created_at 1779786000 is not an RFC 3339 time"},
	{File: "created_at_null.json", Want: "compliance activity activity_01A: created_at null is not an RFC 3339 time"},
}

func TestParseInvalid(t *testing.T) { reader.CheckInvalid(t, invalidCases) }

// TestEveryFixtureIsRead keeps testdata and the tables in step: a fixture
// no table names tests nothing.
func TestEveryFixtureIsRead(t *testing.T) {
	var valid []string
	for _, tc := range validCases {
		valid = append(valid, tc.file)
	}
	schematest.EveryFixtureNamed(t, valid, invalidCases)
}

// TestActorKinds: every kind the package knows is one the simulator
// writes, and the simulator writes no other but its one unknown kind.
func TestActorKinds(t *testing.T) {
	sim := anthropicsim.ActorTypes()
	for _, k := range anthropic.ActorKinds {
		if !slices.Contains(sim, k) {
			t.Errorf("the simulator never writes %s", k)
		}
	}
	if len(sim) != len(anthropic.ActorKinds)+1 {
		t.Errorf("the simulator writes %v, the package knows %v", sim, anthropic.ActorKinds)
	}
}

// TestReadNext reads a page's data with one decoder, as a source does.
func TestReadNext(t *testing.T) {
	page := []byte(`{"data":[` + string(bytes.TrimSpace(schematest.Fixture(t, "valid", "claude_chat_created.json"))) + `,7,` +
		string(bytes.TrimSpace(schematest.Fixture(t, "valid", "scim_user_created.json"))) + `],"has_more":false}`)
	d := jsontext.NewDecoder(bytes.NewReader(page))
	for _, want := range []jsontext.Kind{'{', '"', '['} { // {"data":[
		if tok, err := d.ReadToken(); err != nil || tok.Kind() != want {
			t.Fatalf("token %v, %v; want a %v", tok, err, want)
		}
	}
	var got []string
	for d.PeekKind() != ']' {
		f, err := anthropic.ReadNext(d, page)
		switch {
		case err == anthropic.ErrNotObject:
			got = append(got, "(not an object)")
		case err != nil:
			t.Fatal(err)
		default:
			got = append(got, f.ID()+" "+f.Actor().ID())
		}
	}
	want := []string{"activity_01XyDMpzjS89pFZXqSFUBDr6 user_01TuVwXyZaBcDeFgHiJkLmNo", "(not an object)", "activity_01ScimUserCreated00000001 directory_01Okta"}
	if !slices.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// FuzzReadObject holds the reader to encoding/json: it never panics, it
// accepts exactly the inputs encoding/json finds to be one JSON object, and
// on those (with valid UTF-8) it reads the same id, type, created_at,
// organization and actor (a key given twice counting with its last value).
func FuzzReadObject(f *testing.F) {
	// Activities of every type and actor kind as the simulator writes them.
	sim := anthropicsim.New(anthropicsim.Options{Seed: 6, Activities: 3000, Span: time.Hour,
		Now: func() time.Time { return time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC) }})
	seen := map[string]bool{}
	for i := range 3000 {
		raw := sim.Activity(i)
		var m map[string]any
		json.Unmarshal(raw, &m) //nolint:errcheck // the simulator writes valid JSON
		if k := schematest.Str(m, "type") + "/" + schematest.Str(m, "actor", "type"); !seen[k] {
			seen[k] = true
			f.Add(raw)
		}
	}
	schematest.AddFixtures(f)
	for _, s := range []string{
		`{}`, ` {"id":"a"} `, `{"i\u0064":"a","created_at":"2026-01-01T00:00:00Z"}`, `{"id":"a\"b","type":"t\u00e9"}`,
		`{"actor":null}`, `{"actor":{"type":"federated_actor","provider":{"type":"gcp"},"provider":"x"}}`,
		`{"actor":{"type":"user_actor","user_id":"u"},"actor":{"type":"user_actor"}}`, `{"id":"\ud800"}`,
		`{"created_at":"2026-01-01T00:00:00+25:00","id":"a"}`, `{"status_code":"500"}`, `{"status_code":1e400}`,
		`{"a":[}`, `{"a":1}x`, `{"a":1}{}`, "{\"id\":\"\xff\"}", `nul`, ``, `  `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		reader.Fuzz(t, raw, func(fields anthropic.Fields, m map[string]any) {
			a := fields.Actor()
			if fields.ID() != schematest.Str(m, "id") || fields.Type() != schematest.Str(m, "type") || fields.OrganizationID() != schematest.Str(m, "organization_id") ||
				a.Kind != schematest.Str(m, "actor", "type") {
				t.Fatalf("%q: read id %q type %q organization %q actor %q; encoding/json %q %q %q %q", raw, fields.ID(), fields.Type(),
					fields.OrganizationID(), a.Kind, schematest.Str(m, "id"), schematest.Str(m, "type"), schematest.Str(m, "organization_id"), schematest.Str(m, "actor", "type"))
			}
			if a.Kind == anthropic.ActorUser && (a.UserID != schematest.Str(m, "actor", "user_id") || a.Email != schematest.Str(m, "actor", "email_address")) ||
				a.Kind == anthropic.ActorFederated && a.Provider != schematest.Str(m, "actor", "provider", "type") {
				t.Fatalf("%q: actor %+v differs from encoding/json's reading", raw, a)
			}
		})
	})
}
