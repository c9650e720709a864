package ocsf

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/internal/processtest"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

type classDefs struct {
	BaseRequired []string `json:"base_required"`
	Severity     []int    `json:"severity_id"`
	Status       []int    `json:"status_id"`
	Classes      map[string]struct {
		Name       string   `json:"name"`
		Category   int      `json:"category"`
		Required   []string `json:"required"`
		AtLeastOne []string `json:"at_least_one"`
		Activity   []int    `json:"activity_id"`
	} `json:"classes"`
	Objects map[string]struct {
		Required   []string `json:"required"`
		AtLeastOne []string `json:"at_least_one"`
	} `json:"objects"`
}

func loadDefs(t testing.TB) *classDefs {
	b, err := os.ReadFile(filepath.Join("testdata", "classes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d classDefs
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func get(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[p]; !ok || cur == nil || cur == "" {
			return nil, false
		}
	}
	return cur, true
}

func intOf(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.Atoi(n.String())
		return i, err == nil
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

// validate checks one OCSF object against the class definitions.
func (d *classDefs) validate(o map[string]any) []error {
	var errs []error
	for _, f := range d.BaseRequired {
		if _, ok := get(o, f); !ok {
			errs = append(errs, fmt.Errorf("missing required %s", f))
		}
	}
	class, _ := intOf(o["class_uid"])
	def, ok := d.Classes[strconv.Itoa(class)]
	if !ok {
		return append(errs, fmt.Errorf("class_uid %v not a class this mapping may emit", o["class_uid"]))
	}
	for _, f := range def.Required {
		if _, ok := get(o, f); !ok {
			errs = append(errs, fmt.Errorf("class %d: missing required %s", class, f))
		}
	}
	if len(def.AtLeastOne) > 0 && !slices.ContainsFunc(def.AtLeastOne, func(f string) bool { _, ok := get(o, f); return ok }) {
		errs = append(errs, fmt.Errorf("class %d: needs at least one of %v", class, def.AtLeastOne))
	}
	act, _ := intOf(o["activity_id"])
	if act != 0 && act != 99 && !slices.Contains(def.Activity, act) {
		errs = append(errs, fmt.Errorf("class %d: activity_id %d not in the enum", class, act))
	}
	if tu, _ := intOf(o["type_uid"]); tu != class*100+act {
		errs = append(errs, fmt.Errorf("type_uid %d != class_uid*100+activity_id", tu))
	}
	if cat, _ := intOf(o["category_uid"]); cat != def.Category {
		errs = append(errs, fmt.Errorf("category_uid %d, want %d", cat, def.Category))
	}
	if s, ok := intOf(o["severity_id"]); !ok || !slices.Contains(d.Severity, s) {
		errs = append(errs, fmt.Errorf("severity_id %v not in the enum", o["severity_id"]))
	}
	if v, present := o["status_id"]; present {
		if s, ok := intOf(v); !ok || !slices.Contains(d.Status, s) {
			errs = append(errs, fmt.Errorf("status_id %v not in the enum", v))
		}
	}
	if ts, ok := intOf(o["time"]); !ok || ts < 1e12 {
		errs = append(errs, fmt.Errorf("time %v is not in milliseconds", o["time"]))
	}
	for name, od := range d.Objects {
		for _, path := range []string{name, "actor." + name} {
			v, ok := get(o, path)
			if !ok {
				continue
			}
			om, _ := v.(map[string]any)
			for _, f := range od.Required {
				if _, ok := get(om, f); !ok {
					errs = append(errs, fmt.Errorf("%s: missing required %s", path, f))
				}
			}
			if len(od.AtLeastOne) > 0 && !slices.ContainsFunc(od.AtLeastOne, func(f string) bool { _, ok := get(om, f); return ok }) {
				errs = append(errs, fmt.Errorf("%s: needs at least one of %v", path, od.AtLeastOne))
			}
		}
	}
	return errs
}

func mapCorpus(t testing.TB, c *Config) []pipeline.Event {
	evs := transformtest.Corpus(t)
	b, err := New(c).Process(context.Background(), pipeline.Batch{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	return b.Events
}

// TestClassDefinitions maps every event type of the corpus and validates
// the result against the OCSF class definitions.
func TestClassDefinitions(t *testing.T) {
	defs := loadDefs(t)
	want := map[string]int{"login.failed": 3002, "logout.succeeded": 3002, "user.added": 3001, "invite.sent": 3001,
		"role.assignment.created": 3001, "api_key.created": 3004, "project.archived": 3004, "certificates.activated": 3004,
		"ip_allowlist.config.deactivated": 3004, "rate_limit.updated": 3004, "widget.frobnicated": 3004,
		"tenant.user.added": 3001, "tenant.policy.updated": 3004, "chat.completions.create": 6003, "organization.user.deleted": 3001}
	for _, e := range mapCorpus(t, DefaultConfig()) {
		t.Run(e.ID+"/"+e.Type, func(t *testing.T) {
			if e.Schema != "ocsf" {
				t.Errorf("schema %q", e.Schema)
			}
			if err := e.Finalize(); err != nil {
				t.Fatal(err)
			}
			var o map[string]any
			dec := json.NewDecoder(strings.NewReader(string(e.Raw)))
			dec.UseNumber()
			if err := dec.Decode(&o); err != nil {
				t.Fatal(err)
			}
			for _, err := range defs.validate(o) {
				t.Error(err)
			}
			if c, ok := want[e.Type]; ok {
				if got, _ := intOf(o["class_uid"]); got != c {
					t.Errorf("class_uid %d, want %d", got, c)
				}
			}
			if u, _ := get(o, "metadata.uid"); u != e.ID {
				t.Errorf("metadata.uid %v, want %s", u, e.ID)
			}
			if _, ok := get(o, "unmapped.id"); !ok {
				t.Error("original event not under unmapped")
			}
		})
	}
}

// TestValidatorCatchesMissing proves the validation above can fail.
func TestValidatorCatchesMissing(t *testing.T) {
	defs := loadDefs(t)
	tests := []struct {
		name, drop, want string
		set              func(o map[string]any)
	}{
		{"auth without user", "user", "missing required user", nil},
		{"auth without service", "service", "at least one of", nil},
		{"no metadata version", "", "metadata.version", func(o map[string]any) { delete(o["metadata"].(map[string]any), "version") }},
		{"bad activity", "", "activity_id 7", func(o map[string]any) { o["activity_id"] = json.Number("7") }},
		{"bad severity", "", "severity_id", func(o map[string]any) { o["severity_id"] = json.Number("9") }},
		{"time in seconds", "", "milliseconds", func(o map[string]any) { o["time"] = json.Number("1748736000") }},
	}
	var login pipeline.Event
	for _, e := range mapCorpus(t, DefaultConfig()) {
		if e.Type == "login.failed" {
			login = e
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = login.Finalize()
			var o map[string]any
			dec := json.NewDecoder(strings.NewReader(string(login.Raw)))
			dec.UseNumber()
			_ = dec.Decode(&o)
			if errs := defs.validate(o); len(errs) != 0 {
				t.Fatalf("valid event refused: %v", errs)
			}
			if tt.drop != "" {
				delete(o, tt.drop)
			}
			if tt.set != nil {
				tt.set(o)
			}
			errs := defs.validate(o)
			if !slices.ContainsFunc(errs, func(e error) bool { return strings.Contains(e.Error(), tt.want) }) {
				t.Fatalf("errors %v, want one containing %q", errs, tt.want)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	for _, orig := range []string{"unmapped", "raw_data"} {
		t.Run(orig, func(t *testing.T) {
			c := DefaultConfig()
			c.Original = orig
			evs := mapCorpus(t, c)
			transformtest.Golden(t, filepath.Join("testdata", "corpus."+orig+".golden.jsonl"), transformtest.Lines(t, evs))
			checkFailedLogin(t, evs)
		})
	}
}

// checkFailedLogin holds the corpus's failed sign-in (audit_log-024) to
// what OCSF 1.3 asks, read by hand: Authentication (3002), Logon (1),
// Failure (2) with the payload's error code, Grace as the user, the
// session's address, AS number and coordinates as numbers.
func checkFailedLogin(t *testing.T, evs []pipeline.Event) {
	t.Helper()
	for _, ev := range evs {
		var m map[string]any
		if err := json.Unmarshal(ev.Raw, &m); err != nil {
			t.Fatal(err)
		}
		if md, _ := m["metadata"].(map[string]any); md["uid"] != "audit_log-024_20250601" {
			continue
		}
		user, _ := m["user"].(map[string]any)
		src, _ := m["src_endpoint"].(map[string]any)
		as, _ := src["autonomous_system"].(map[string]any)
		got := fmt.Sprintln(m["class_uid"], m["activity_id"], m["type_uid"], m["status_id"], m["status_code"], m["severity_id"],
			user["uid"], user["email_addr"], src["ip"], as["number"])
		if want := "3002 1 300201 2 invalid_password 3 user-grace grace@acme.example 198.51.100.23 7922\n"; got != want {
			t.Errorf("failed login maps to %s, want %s", got, want)
		}
		return
	}
	t.Error("audit_log-024_20250601 (login.failed) is not in the mapped corpus")
}

func TestValidate(t *testing.T) {
	err := (&Config{Original: "x"}).Validate()
	for _, k := range []string{"original:", "product_name:"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("error %v does not name %s", err, k)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// FuzzOCSF: any JSON object maps without panic to valid JSON.
func FuzzOCSF(f *testing.F) { processtest.FuzzMapping(f, New(DefaultConfig())) }

func BenchmarkOCSF(b *testing.B) { processtest.BenchmarkCorpus(b, New(DefaultConfig())) }
