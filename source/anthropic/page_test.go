package anthropic

import (
	"strings"
	"testing"
	"time"

	schema "github.com/auditrelay/auditrelay/schema/anthropic"
)

func TestDecodePage(t *testing.T) {
	a := `{"id":"activity_01A","created_at":"2026-04-10T08:09:10Z","organization_id":"org_01W","organization_uuid":"abc",` +
		`"actor":{"type":"user_actor","email_address":"user@example.com","user_id":"user_01T","ip_address":"192.0.2.34"},` +
		`"type":"claude_chat_created","claude_chat_id":"claude_chat_01"}`
	b := `{"id":"activity_01B","created_at":"2026-04-10T08:09:09Z","organization_id":null,` +
		`"actor":{"type":"brand_new_actor","whatever":1},"type":"brand_new_type"}`
	body := "{\"data\":[ " + a + " ,\n" + b + "],\"has_more\":true,\"first_id\":\"activity_01A\",\"last_id\":\"activity_01B\"}"
	observed := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	p, err := DecodePage([]byte(body), "acme", observed)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasMore || p.Next != "activity_01B" || len(p.Events) != 2 {
		t.Fatalf("page %+v", p)
	}
	e := p.Events[0]
	if string(e.Raw) != a || e.ID != "activity_01A" || e.Type != "claude_chat_created" || e.Schema != schema.Schema ||
		e.ActorID != "user_01T" || e.ActorEmail != "user@example.com" || e.ProjectID != "org_01W" || e.Source != "acme" ||
		!e.Time.Equal(time.Date(2026, 4, 10, 8, 9, 10, 0, time.UTC)) || !e.ObservedAt.Equal(observed) {
		t.Fatalf("event %+v", e)
	}
	if e := p.Events[1]; string(e.Raw) != b || e.Type != "brand_new_type" || e.ActorID != "" || e.ProjectID != "" {
		t.Fatalf("an unknown type and actor kind must pass through: %+v", e)
	}
	empty, err := DecodePage([]byte(`{"data":[],"first_id":null,"last_id":null,"has_more":false}`), "acme", observed)
	if err != nil || len(empty.Events) != 0 || empty.HasMore {
		t.Fatalf("empty page %+v, %v", empty, err)
	}
}

func TestDecodePageRefusesWhatIsNoPage(t *testing.T) {
	a := `{"id":"activity_01A","created_at":"2026-04-10T08:09:10Z","type":"x"}`
	for _, tc := range []struct{ body, want string }{
		{`[]`, "not a JSON object"},
		{`{"data":[` + a + `],"has_more":true,"last_id":"activity_01Z"}`, "last_id"},
		{`{"data":[` + a + `]}`, "has_more is missing"},
		{`{"has_more":false}`, "data is missing"},
		{`{"data":[1],"has_more":false}`, "data[0] is not a JSON object"},
		{`{"data":[{"created_at":"2026-04-10T08:09:10Z"}],"has_more":false}`, "no id"},
		{`{"data":[{"id":"a","created_at":"yesterday"}],"has_more":false}`, "RFC 3339"},
		{`{"data":[` + a + `],"has_more":false}x`, "not valid JSON"},
		{`{"data":[` + a, "not valid JSON"},
	} {
		if _, err := DecodePage([]byte(tc.body), "acme", time.Time{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.body, err, tc.want)
		}
	}
}
