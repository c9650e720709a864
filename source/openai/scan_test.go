package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// FuzzScanAuditIndex checks that the fast scanner reads exactly what
// encoding/json reads from any valid JSON object, and never panics.
func FuzzScanAuditIndex(f *testing.F) {
	sim := openaisim.New(openaisim.Options{Seed: 3, Events: 200})
	for i := range 200 {
		f.Add(sim.Event(i))
	}
	for _, s := range []string{
		`{"id":"a","type":"t","effective_at":1}`,
		`{"id":"a\u0062","type":"t\"q","effective_at":1.5e3,"actor":null,"project":null}`,
		`{"id":"a","id":"b","type":"t","effective_at":1,"actor":{"type":"api_key","api_key":{"id":"k","service_account":{"id":"sa"}}}}`,
		`{"actor":{"session":{"user":{"id":"u","email":"e@x"}}},"project":{"id":"p","name":"n"},"x":[1,{"y":"}"}]}`,
		`{"id":1}`, `{"id":"a","effective_at":"1"}`, `[]`, `{}`, `{"a":tru}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast auditIndex
		fastErr := scanAuditIndex(raw, &fast)
		if !json.Valid(raw) {
			return // the page decoder refuses such input before the scanner sees it
		}
		if hasCaseVariantKey(raw) {
			// encoding/json matches keys case-insensitively ("Project"
			// fills project); the API's keys are lower case and the
			// scanner reads them exactly, treating variants as unknown.
			return
		}
		var ref auditIndex
		refErr := json.Unmarshal(raw, &ref)
		if fastErr == nil && refErr == nil && !reflect.DeepEqual(fast, ref) {
			t.Fatalf("scanner and encoding/json disagree on %s:\nfast %+v\nref  %+v", raw, fast, ref)
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(refErr, &typeErr) {
			// A routing field of an unexpected kind: the scanner skips it
			// (lenient on purpose); ParseAuditLog still needs id, type and
			// effective_at.
			return
		}
		if fastErr == nil && refErr != nil {
			t.Fatalf("scanner accepted what encoding/json refuses (%v): %s", refErr, raw)
		}
		// fastErr != nil falls back to encoding/json in ParseAuditLog.
		ev, err := ParseAuditLog(raw, "s", observedZero)
		if refErr == nil && ref.ID != "" && ref.Type != "" && ref.EffectiveAt != nil && *ref.EffectiveAt >= 0 && *ref.EffectiveAt < 1<<33 {
			if err != nil || ev.ID != ref.ID {
				t.Fatalf("ParseAuditLog(%s) = %v, %v", raw, ev.ID, err)
			}
		}
	})
}

var indexKeys = []string{"id", "type", "effective_at", "project", "actor", "session", "user", "email", "api_key", "service_account"}

func hasCaseVariantKey(raw []byte) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				for _, want := range indexKeys {
					if k != want && strings.EqualFold(k, want) {
						return true
					}
				}
				if walk(c) {
					return true
				}
			}
		case []any:
			for _, c := range x {
				if walk(c) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

func TestScannerReadsEveryShape(t *testing.T) {
	for _, tc := range []struct {
		raw                        string
		actor, email, project, typ string
	}{
		{`{"id":"a","type":"login.failed","effective_at":5,"actor":{"type":"session","session":{"user":{"id":"u1","email":"a@b"},"ip_address":"1.2.3.4"}}}`, "u1", "a@b", "", "login.failed"},
		{`{"id":"a","type":"api_key.created","effective_at":5,"project":{"id":"p1"},"actor":{"type":"api_key","api_key":{"id":"key_1","type":"service_account","service_account":{"id":"sa1"}}}}`, "sa1", "", "p1", "api_key.created"},
		{`{"id":"a","type":"x","effective_at":5,"actor":{"type":"api_key","api_key":{"id":"key_1"}}}`, "key_1", "", "", "x"},
		{`{"id":"a","type":"widget.frobnicated","effective_at":5,"actor":null,"widget.frobnicated":{"deep":[{"k":"v"}]}}`, "", "", "", "widget.frobnicated"},
		{`{"type":"t\u00e9","id":"esc\"aped","effective_at":5}`, "", "", "", "té"},
	} {
		ev, err := ParseAuditLog([]byte(tc.raw), "s", observedZero)
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if ev.ActorID != tc.actor || ev.ActorEmail != tc.email || ev.ProjectID != tc.project || ev.Type != tc.typ {
			t.Errorf("%s: got actor %q email %q project %q type %q", tc.raw, ev.ActorID, ev.ActorEmail, ev.ProjectID, ev.Type)
		}
		if string(ev.Raw) != tc.raw {
			t.Errorf("raw bytes changed")
		}
	}
}

var observedZero = time.Time{}
