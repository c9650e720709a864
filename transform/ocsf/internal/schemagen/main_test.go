package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// miniRelease is a miniature schema release with what the resolution must
// handle: a class extending an abstract category class extending the base
// event, a profile included by the base event that the class takes out of
// the profile ("profile": null), an enum the class adds to the
// dictionary's, an object extending _entity with its constraints, a
// deprecated attribute, a type based on another.
var miniRelease = map[string]string{
	"version.json":    `{"version": "9.9.9"}`,
	"LICENSE":         "the license",
	"categories.json": `{"attributes": {"iam": {"uid": 3, "caption": "Identity"}}}`,
	"dictionary.json": `{"attributes": {
		"activity_id": {"type": "integer_t", "sibling": "activity_name", "enum": {"0": {"caption": "Unknown"}, "99": {"caption": "Other"}}},
		"activity_name": {"type": "string_t"}, "category_uid": {"type": "integer_t"}, "class_uid": {"type": "integer_t"},
		"type_uid": {"type": "long_t"}, "time": {"type": "timestamp_t"}, "user": {"type": "user"}, "cloud": {"type": "cloud"},
		"name": {"type": "string_t"}, "uid": {"type": "string_t"}, "provider": {"type": "string_t"},
		"old": {"type": "string_t", "@deprecated": {"message": "gone", "since": "9.0.0"}},
		"tags": {"type": "string_t", "is_array": true}},
	  "types": {"attributes": {"string_t": {}, "integer_t": {}, "long_t": {}, "timestamp_t": {"type": "long_t"},
		"port_t": {"type": "integer_t", "range": [0, 65535]}}}}`,
	"profiles/cloud.json": `{"name": "cloud", "attributes": {"cloud": {"requirement": "required"}}}`,
	"events/base_event.json": `{"name": "base_event", "caption": "Base Event", "category": "other", "attributes": {
		"$include": ["profiles/cloud.json"],
		"activity_id": {"requirement": "required"}, "category_uid": {"requirement": "required", "enum": {"0": {"caption": "Uncategorized"}}},
		"class_uid": {"requirement": "required"}, "type_uid": {"requirement": "required"}, "time": {"requirement": "required"}},
		"profiles": ["cloud"]}`,
	"events/iam/iam.json": `{"name": "iam", "caption": "IAM", "category": "iam", "extends": "base_event", "attributes": {"tags": {"requirement": "optional"}}}`,
	"events/iam/thing.json": `{"uid": 7, "name": "thing", "caption": "Thing", "extends": "iam", "attributes": {
		"activity_id": {"enum": {"1": {"caption": "Do"}}}, "user": {"requirement": "required"},
		"cloud": {"requirement": "recommended", "profile": null}},
		"constraints": {"at_least_one": ["user", "cloud"]}}`,
	"objects/object.json":  `{"name": "object", "attributes": {}}`,
	"objects/_entity.json": `{"name": "_entity", "extends": "object", "attributes": {"name": {"requirement": "recommended"}, "uid": {"requirement": "recommended"}}, "constraints": {"at_least_one": ["uid", "name"]}}`,
	"objects/user.json":    `{"name": "user", "caption": "User", "extends": "_entity", "attributes": {"old": {"requirement": "optional"}}}`,
	"objects/cloud.json":   `{"name": "cloud", "caption": "Cloud", "extends": "object", "attributes": {"provider": {"requirement": "required"}}}`,
	"objects/unused.json":  `{"name": "unused", "extends": "object", "attributes": {}}`,
}

func TestRun(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	for name, text := range miniRelease {
		p := filepath.Join(in, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(in, out, []string{"0", "3007"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s Schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for _, f := range []string{"LICENSE", "version.json"} {
		if got, _ := os.ReadFile(filepath.Join(out, f)); string(got) != miniRelease[f] {
			t.Errorf("%s: %q, want the release's", f, got)
		}
	}
	thing, base := s.Classes["3007"], s.Classes["0"]
	if thing == nil || base == nil {
		t.Fatalf("classes %v, want 0 and 3007", s.Classes)
	}
	a := thing.Attributes
	got := fmt.Sprintln(s.Version, thing.UID, thing.CategoryUID, thing.Category, thing.Caption, thing.Profiles, thing.Constraints,
		a["activity_id"].Enum, a["activity_id"].Sibling, a["type_uid"].Enum, a["class_uid"].Enum, a["category_uid"].Enum,
		a["user"].Requirement, a["user"].Type, a["cloud"].Requirement, a["cloud"].Profile, a["time"].Type, a["tags"].Array,
		base.Attributes["cloud"].Profile, base.Attributes["cloud"].Requirement, base.Attributes["category_uid"].Enum)
	want := "9.9.9 3007 3 Identity Thing [cloud] map[at_least_one:[cloud user]] " +
		"map[0:Unknown 1:Do 99:Other] activity_name map[300700:Thing: Unknown 300701:Thing: Do 300799:Thing: Other] map[3007:Thing] map[3:Identity] " +
		"required user recommended  timestamp_t true cloud required map[0:Uncategorized]\n"
	if got != want {
		t.Errorf("resolved class:\n got %s want %s", got, want)
	}
	user, cloud := s.Objects["user"], s.Objects["cloud"]
	if user == nil || cloud == nil || s.Objects["unused"] != nil {
		t.Fatalf("objects %v, want user and cloud (what the classes reach) only", slices.Sorted(func(yield func(string) bool) {
			for k := range s.Objects {
				if !yield(k) {
					return
				}
			}
		}))
	}
	got = fmt.Sprintln(user.Constraints, user.Attributes["name"].Requirement, user.Attributes["old"].Deprecated,
		cloud.Attributes["provider"].Requirement, s.Types["timestamp_t"].Base, s.Types["port_t"].Range)
	if want := "map[at_least_one:[name uid]] recommended true required long_t [0 65535]\n"; got != want {
		t.Errorf("objects and types:\n got %s want %s", got, want)
	}
	if err := run(in, t.TempDir(), []string{"1234"}); err == nil {
		t.Error("a class_uid the release does not have: no error")
	}
}
