package ecs

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/internal/processtest"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

// allowed holds ECS 8.x's allowed event.category values and, for each,
// the allowed event.type values.
var allowed = map[string][]string{
	"authentication": {"start", "end", "info"},
	"session":        {"start", "end", "info"},
	"iam":            {"admin", "change", "creation", "deletion", "group", "info", "user"},
	"configuration":  {"access", "change", "creation", "deletion", "info"},
	"web":            {"access", "error", "info"},
}

func mapCorpus(t testing.TB) []pipeline.Event {
	b, err := New(DefaultConfig()).Process(context.Background(), pipeline.Batch{Events: transformtest.Corpus(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b.Events
}

func TestFields(t *testing.T) {
	for _, e := range mapCorpus(t) {
		t.Run(e.ID+"/"+e.Type, func(t *testing.T) {
			if e.Schema != "ecs" {
				t.Fatalf("schema %q", e.Schema)
			}
			o, _ := e.Object()
			ev := o["event"].(map[string]any)
			if ev["action"] != e.Type || ev["id"] != e.ID || ev["kind"] != "event" {
				t.Errorf("event.* = %v", ev)
			}
			if oc := ev["outcome"]; oc != "success" && oc != "failure" {
				t.Errorf("event.outcome %v", oc)
			}
			for _, c := range ev["category"].([]any) {
				types, ok := allowed[c.(string)]
				if !ok {
					t.Errorf("category %v not allowed", c)
				}
				for _, ty := range ev["type"].([]any) {
					if !slices.Contains(types, ty.(string)) {
						t.Errorf("type %v not allowed with category %v", ty, c)
					}
				}
			}
			if o["@timestamp"] == "1970-01-01T00:00:00Z" {
				t.Error("no timestamp")
			}
			if o["observer"].(map[string]any)["vendor"] != "OpenAI" {
				t.Error("observer.vendor")
			}
			if _, ok := o["openai"].(map[string]any)["id"]; !ok {
				t.Error("original not kept under openai")
			}
			if strings.HasPrefix(e.Type, "login.") {
				src, _ := o["source"].(map[string]any)
				if src["ip"] != "198.51.100.23" || src["geo"].(map[string]any)["city_name"] != "San Francisco" {
					t.Errorf("source %v", src)
				}
				if o["tls"].(map[string]any)["client"].(map[string]any)["ja3"] == "" || o["user_agent"] == nil {
					t.Error("tls.client.ja3 / user_agent.original missing")
				}
				rel := o["related"].(map[string]any)
				if !slices.Contains(rel["user"].([]any), any("grace@acme.example")) {
					t.Errorf("related.user %v", rel["user"])
				}
			}
		})
	}
}

func TestGolden(t *testing.T) {
	transformtest.Golden(t, filepath.Join("testdata", "corpus.golden.jsonl"), transformtest.Lines(t, mapCorpus(t)))
}

func FuzzECS(f *testing.F) { processtest.FuzzMapping(f, New(DefaultConfig())) }

func BenchmarkECS(b *testing.B) { processtest.BenchmarkCorpus(b, New(DefaultConfig())) }
